"""TextAnalogModel: new-product forecasts from the launches of the products with the most similar texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts.logging import raise_log
from darts.utils.serialization import add_safe_globals

from darts_llm.cache import EmbeddingCache, default_cache
from darts_llm.dataprocessing.projection import cache_from_state, cache_to_state, check_cache
from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.encoders.huggingface import HuggingFaceEncoder
from darts_llm.models.encoder_spec import resolve_encoder
from darts_llm.models.launch_model import LaunchForecastingModel
from darts_llm.models.launch_scale import signed_log

__all__ = ["TextAnalogModel"]


class TextAnalogModel(LaunchForecastingModel):
    def __init__(
        self,
        text_cols: str | Sequence[str] | None = None,
        text_encoder: str | TextEncoder | None = None,
        n_analogs: int = 30,
        scale: str = "ridge",
        level_ages: int = 8,
        max_age: int = 52,
        launches_after=None,
        temperature: float | None = None,
        cache: EmbeddingCache | None = None,
        batch_size: int = 64,
        recency_half_life: float | None = None,
        recent_launch_correction: bool = True,
    ):
        """A forecaster for new products that retrieves earlier launches by text and aligns them on age.

        For every product it finds the ``n_analogs`` earlier launches whose descriptions are the most similar
        (cosine similarity of the text encoder's embeddings), aligns their sales on the steps since their first
        sale, and forecasts the product's curve as the analogs' *shape* times its own *scale*: the scale comes from
        a ridge regression on the analogs' level, the recent sales of the shop and of the product's text
        neighbours (what sells now), and the numeric static covariates (e.g. the price), and is updated by the
        product's first observed steps as they arrive (see
        :mod:`darts_llm.models.launch_model`). It forecasts products with any history, including none
        (:meth:`predict_new_products` for a catalogue of upcoming products), gives samples for quantiles, works in
        ``historical_forecasts(retrain=False)`` without look-ahead in the analog curves (the scale and its
        correction are fitted on the whole training series: refit at each origin for a backtest), saves and loads
        like any
        Darts model, and exposes its analog curve as future covariates for other models
        (:meth:`launch_covariates`).

        Parameters
        ----------
        text_cols
            The string static covariate column(s) holding the text (``None``: every string column).
        text_encoder
            Encoder spec for :func:`darts_llm.get_encoder` (``None``: all-MiniLM-L6-v2), or a
            :class:`~darts_llm.TextEncoder`. A demand-tuned encoder folder makes the analogs demand-aligned.
        n_analogs
            Number of most similar earlier launches that make the shape (and, with ``scale="analogs"``, the scale).
        scale
            ``"ridge"`` (default): the level prior is a ridge regression on the analogs' level, the demand context
            (the shop's and the ``n_analogs`` text neighbours' mean ``log1p`` sales in the ``level_ages // 2``
            steps before the launch) and the numeric static covariates, the penalty chosen by leave-one-out
            cross-validation;
            ``"analogs"``: the analogs' mean level.
        level_ages
            Number of first steps after a launch whose mean ``log1p`` sales is a product's level; launches with
            fewer known steps before a forecast are not used as analogs there.
        max_age
            Ages stored per launch; forecasts beyond keep the shape of the last stored age.
        launches_after
            Products whose first sale is at or before this time are not launches (they may have been on sale before
            the data begin). ``None``: the earliest time of the training series.
        temperature
            ``None`` weighs the analogs equally; a positive number weighs them by ``exp(similarity / temperature)``.
        cache
            :class:`~darts_llm.EmbeddingCache` for the text embeddings (``None``: the process-wide default).
        batch_size
            Texts per encoder forward pass.
        recency_half_life
            ``None`` (default): every earlier launch weighs alike. A number of steps: a launch weighs
            ``0.5 ** (steps from its first sale to the end of the training series / recency_half_life)`` in the
            analogs' average (shape and level), the ridge regression and its error variance, so that the scale
            follows launches that grow or shrink over time.
        recent_launch_correction
            ``True`` (default): the level prior is corrected by how far it misses the launches of the last ``level_ages``
            steps of the training series (each forecast as a new product at its launch, against its first observed
            steps; the mean miss shrunk towards 0 by its standard error over launch times), so that forecasts
            follow launches that sell more, or less, than the earlier ones. ``False``: no correction.

        Examples
        --------
        >>> model = TextAnalogModel(text_cols="description").fit(sales)  # doctest: +SKIP
        >>> forecasts = model.predict_new_products(catalogue, n=8, launch_col="launch")  # doctest: +SKIP
        """
        super().__init__(
            n_analogs=n_analogs,
            scale=scale,
            level_ages=level_ages,
            max_age=max_age,
            launches_after=launches_after,
            temperature=temperature,
            recency_half_life=recency_half_life,
            recent_launch_correction=recent_launch_correction,
        )
        if text_cols is not None:
            text_cols = [text_cols] if isinstance(text_cols, str) else list(text_cols)
            if not text_cols or not all(isinstance(c, str) for c in text_cols):
                raise_log(ValueError(f"`text_cols` must be a column name, a list of them, or None; got {text_cols!r}."))
        check_cache(cache)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise_log(ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}."))
        self.text_cols = text_cols
        self.text_encoder = text_encoder
        self.cache = cache
        self.batch_size = batch_size
        self._encoder: TextEncoder | None = None
        self._text_cols: list[str] = []
        self._numeric_cols: list[str] = []
        self._embeddings: np.ndarray | None = None
        self._encoder_id: str | None = None

    # ------------------------------------------------------------------------------------------ text
    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use)."""
        if self._encoder is None:
            self._encoder = resolve_encoder(self.text_encoder)
        return self._encoder

    def _embed(self, static: pd.DataFrame) -> np.ndarray:
        """One L2-normalised embedding per row (the text columns' vectors side by side, averaged in cosine)."""
        cache = self.cache if self.cache is not None else default_cache()
        parts = []
        for col in self._text_cols:
            texts = clean_texts(static[col].tolist(), name=col)
            vectors = cache.encode(self.encoder, texts, batch_size=self.batch_size).astype(np.float64)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            parts.append(vectors / np.where(norms > 0, norms, 1.0))
        return np.concatenate(parts, axis=1) / np.sqrt(len(parts))

    def _fit_similarity(self, static: pd.DataFrame) -> None:
        strings = [c for c in static.columns if _is_text_column(static[c])]
        if self.text_cols is None:
            if not strings:
                raise_log(
                    ValueError(
                        f"TextAnalogModel found no string static covariate in the series (columns "
                        f"{list(static.columns)}); attach the product text, e.g. a `description` column, or set "
                        f"`text_cols`."
                    )
                )
            self._text_cols = strings
        else:
            missing = [c for c in self.text_cols if c not in static.columns]
            if missing:
                raise_log(
                    ValueError(
                        f"`text_cols` names {missing}, which the series' static covariates lack (they have "
                        f"{list(static.columns)})."
                    )
                )
            self._text_cols = list(self.text_cols)
        self._numeric_cols = [
            c for c in static.columns if c not in self._text_cols and pd.api.types.is_numeric_dtype(static[c])
        ]
        self._embeddings = self._embed(static)
        self._encoder_id = self.encoder.encoder_id

    def _used_columns(self) -> list[str]:
        return [*self._text_cols, *self._numeric_cols]

    def _similarity(self, static: pd.DataFrame) -> np.ndarray:
        if self.encoder.encoder_id != self._encoder_id:
            raise_log(
                ValueError(
                    f"The text encoder now resolves to {self.encoder.encoder_id!r}, but this TextAnalogModel was "
                    f"fitted with {self._encoder_id!r} (its stored embeddings come from that one). Give "
                    f"`text_encoder` the encoder it was fitted with, or fit the model again."
                )
            )
        return self._embed(static) @ self._embeddings.T

    def _training_similarity(self, rows: np.ndarray) -> np.ndarray:
        return self._embeddings[rows] @ self._embeddings.T  # the fit's own embeddings: nothing encoded again

    def _scale_inputs(self, static: pd.DataFrame) -> list[np.ndarray]:
        # The text reaches the scale through the analogs' level and the text neighbours' recent sales; the raw
        # embedding as ridge input was worse at every history length on the validation origins
        # (benchmarks/cold_start.py --validation): with a few hundred launches, 384 dimensions overfit.
        blocks = []
        if self._numeric_cols:
            numbers = static[self._numeric_cols].astype(float).to_numpy()
            if np.isnan(numbers).any():
                bad = [c for c, col in zip(self._numeric_cols, np.isnan(numbers).any(0)) if col]
                raise_log(ValueError(f"The numeric static covariates {bad} have missing values; fill them first."))
            blocks.append(signed_log(numbers))
        return blocks

    def __getstate__(self) -> dict:
        # weights are never pickled: the encoder is saved as its spec, the cache as its directory (or the default)
        state = dict(self.__dict__)
        state["_encoder"] = None
        state["_model_params"] = params = dict(state.get("_model_params", {}))
        for where in (state, params):
            if isinstance(where.get("text_encoder"), HuggingFaceEncoder):
                where["text_encoder"] = where["text_encoder"].spec
            where["cache"] = cache_to_state(where.get("cache"))
        return state

    def __setstate__(self, state: dict) -> None:
        for where in (state, state.get("_model_params", {})):
            where["cache"] = cache_from_state(where.get("cache"))
        super().__setstate__(state)


def _is_text_column(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) and any(isinstance(v, str) for v in column)


add_safe_globals([TextAnalogModel])
