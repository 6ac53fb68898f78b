"""Static text covariates (one text per series or component) -> numeric static covariates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.dataprocessing.transformers.fittable_data_transformer import FittableDataTransformer
from darts.logging import raise_log

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing.projection import (
    TextProjection,
    cache_from_state,
    cache_to_state,
    check_cache,
    check_projection,
)
from darts_llm.encoders.base import TextEncoder, clean_texts, is_missing
from darts_llm.errors import TextInputError


def _column_kind(column: pd.Series) -> str | None:
    """``"text"`` if the column holds a string, ``"number"`` if it holds a non-missing non-string, else ``None``
    (every value missing: a series whose text is missing has a float column of NaN)."""
    values = [v for v in column.tolist() if not is_missing(v)]
    if any(isinstance(v, str) for v in values):
        return "text"
    return "number" if values else None


class StaticTextEmbedder(FittableDataTransformer):
    def __init__(
        self,
        text_cols: str | Sequence[str] | None = None,
        n_components: int | None = 8,
        projection: str | None = "pca",
        encoder: str | TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        batch_size: int = 64,
        name: str = "StaticTextEmbedder",
        n_jobs: int = 1,
        verbose: bool = False,
    ):
        """Replace string static covariates (product titles, descriptions) by numeric text embeddings.

        Each text column ``col`` becomes ``k`` float static covariate columns ``{col}_emb_0 ... {col}_emb_{k-1}``
        at the same position; every other static covariate column is left untouched. The embedding is the
        encoder's vector, or its projection on a PCA fitted on the distinct texts of the series passed to
        :meth:`fit` (one PCA per text column). Follow Darts' convention: ``fit`` on the training series, then
        ``transform`` training and test/new series alike; new texts are encoded with the same encoder and
        projected with the fitted PCA.

        Parameters
        ----------
        text_cols
            The static covariate column(s) holding text. ``None``: every static covariate column that holds a
            string in any of the fitted series (list them explicitly when you also have categorical columns you want to
            keep, e.g. for :class:`~darts.dataprocessing.transformers.StaticCovariatesTransformer`).
        n_components
            Number of output columns per text column with ``projection="pca"``. If the training series hold fewer
            distinct texts than that, the trailing columns are 0 (a warning says so).
        projection
            ``"pca"`` (default) or ``None`` for the raw embedding (``encoder.dim`` columns; ``n_components`` is
            ignored).
        encoder
            Encoder spec for :func:`darts_llm.get_encoder`: ``None`` (all-MiniLM-L6-v2), an alias, a Hugging Face
            id, a local model directory, or a :class:`~darts_llm.TextEncoder` instance.
        cache
            :class:`~darts_llm.EmbeddingCache` for the embeddings; ``None`` uses :func:`darts_llm.default_cache`.
        batch_size
            Texts per encoder forward pass.
        name, n_jobs, verbose
            As in Darts' data transformers.

        Notes
        -----
        - Missing text (``None``, NaN, ``pd.NA``, ``pd.NaT``) is embedded as the empty string, which has a defined
          embedding. Any other non-string value raises :class:`~darts_llm.errors.TextInputError` naming the column
          and the series.
        - With ``text_cols=None``, a column is text if it holds a string in *any* fitted series (a series whose
          description is missing has a float column there); a column with text in one series and a number in
          another raises :class:`~darts_llm.errors.TextInputError` naming both series.
        - Pickling stores the fitted PCA, the projected vectors of the texts seen at fit time and the encoder spec,
          never encoder weights (a :class:`~darts_llm.HuggingFaceEncoder` pickles without them). An unpickled
          transformer maps the texts it saw at fit time without loading the encoder, and loads it for new texts.
        - With a custom :class:`~darts_llm.TextEncoder` instance, that instance is pickled as it is.

        Examples
        --------
        >>> from darts_llm.dataprocessing import StaticTextEmbedder
        >>> embedder = StaticTextEmbedder(text_cols="description", n_components=8)
        >>> train = embedder.fit_transform(train_series)       # PCA fitted on the training descriptions
        >>> test = embedder.transform(new_product_series)      # same encoder, same PCA
        >>> train[0].static_covariates.columns[:3].tolist()
        ['description_emb_0', 'description_emb_1', 'description_emb_2']
        """
        if isinstance(text_cols, str):
            text_cols = [text_cols]
        elif text_cols is not None:
            text_cols = list(text_cols)
            if not text_cols or not all(isinstance(c, str) for c in text_cols):
                raise_log(
                    ValueError(f"`text_cols` must be a column name, a non-empty list of names or None, got {text_cols!r}.")
                )
        check_projection(projection, n_components)
        check_cache(cache)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise_log(ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}."))
        # fixed params (captured by Darts' BaseDataTransformer from the attributes set before super().__init__)
        self.text_cols = text_cols
        self.n_components = n_components
        self.projection = projection
        self.encoder = encoder
        self.cache = cache
        self.batch_size = batch_size
        super().__init__(name=name, n_jobs=n_jobs, verbose=verbose, mask_components=False, global_fit=True)

    # ------------------------------------------------------------------------------------------- validation
    @staticmethod
    def _static_covs(series: TimeSeries, idx: int, what: str) -> pd.DataFrame:
        if not isinstance(series, TimeSeries):
            raise_log(ValueError(f"`series` must be a TimeSeries or a sequence of TimeSeries; item {idx} is a "
                                 f"{type(series).__name__}."))
        covs = series.static_covariates
        if covs is None:
            raise_log(
                ValueError(
                    f"series[{idx}] has no static covariates, so there is no text to {what}; build the series with "
                    f"static covariates (e.g. `TimeSeries.from_group_dataframe(..., static_cols=['description'])`)."
                )
            )
        return covs

    @staticmethod
    def _texts(series: Sequence[TimeSeries], cols: Sequence[str], what: str) -> dict[str, list[str]]:
        """Validated texts of each column over all series (rows in series order)."""
        out: dict[str, list[str]] = {col: [] for col in cols}
        for idx, ts in enumerate(series):
            covs = StaticTextEmbedder._static_covs(ts, idx, what)
            for col in cols:
                if col not in covs.columns:
                    raise_log(
                        ValueError(
                            f"series[{idx}] has no static covariate column {col!r} (it has {list(covs.columns)}); "
                            f"every series passed to {what} needs the text columns {list(cols)}."
                        )
                    )
                try:
                    out[col] += clean_texts(covs[col].tolist(), name=f"series[{idx}].static_covariates[{col!r}]")
                except TextInputError as err:
                    raise TextInputError(
                        f"Static covariate column {col!r} must hold text: {err}"
                    ) from None
        return out

    @staticmethod
    def _infer_text_cols(series: Sequence[TimeSeries]) -> list[str]:
        """Static covariate columns holding text in any series (not only the first one)."""
        columns: list[str] = []
        first: dict[tuple[str, str], int] = {}  # (column, kind) -> first series where the column has that kind
        for idx, ts in enumerate(series):
            covs = StaticTextEmbedder._static_covs(ts, idx, "fit")
            for col in covs.columns:
                if col not in columns:
                    columns.append(col)
                kind = _column_kind(covs[col])
                if kind is not None:
                    first.setdefault((col, kind), idx)
        mixed = [c for c in columns if (c, "text") in first and (c, "number") in first]
        if mixed:
            col = mixed[0]
            raise_log(
                TextInputError(
                    f"Static covariate column {col!r} holds text in series[{first[(col, 'text')]}] but a number in "
                    f"series[{first[(col, 'number')]}]; make it text everywhere (missing text may be None/NaN) or "
                    f"pass `text_cols=[...]` without it."
                )
            )
        cols = [c for c in columns if (c, "text") in first]
        if not cols:
            raise_log(
                ValueError(
                    f"No text column found among the static covariates {columns} (none holds a string in any "
                    f"series); pass `text_cols=[...]` naming the column(s) that hold text."
                )
            )
        return cols

    # ------------------------------------------------------------------------------------------------ fit
    @staticmethod
    def ts_fit(series: Sequence[TimeSeries], params: Mapping[str, Any], *args, **kwargs) -> dict[str, Any]:
        """Encode the distinct texts of each text column and fit one projection per column."""
        fixed = params["fixed"]
        series = [series] if isinstance(series, TimeSeries) else list(series)
        if not series:
            raise_log(ValueError("`series` is empty; pass at least one TimeSeries to fit."))
        cols = fixed["text_cols"] or StaticTextEmbedder._infer_text_cols(series)
        texts = StaticTextEmbedder._texts(series, cols, "fit")
        from darts_llm.registry import get_encoder

        encoder = get_encoder(fixed["encoder"])  # one instance shared by the columns
        projections = {}
        for col in cols:
            projections[col] = TextProjection(
                encoder=encoder,
                n_components=fixed["n_components"],
                projection=fixed["projection"],
                cache=fixed["cache"],
                batch_size=fixed["batch_size"],
                name=f"static covariate column {col!r}",
            ).fit(texts[col])
        return {"text_cols": list(cols), "projections": projections}

    # ------------------------------------------------------------------------------------------- transform
    @staticmethod
    def ts_transform(series: TimeSeries, params: Mapping[str, Any], *args, **kwargs) -> TimeSeries:
        """Replace each fitted text column of ``series`` by its embedding columns."""
        fitted = params["fitted"]
        covs = series.static_covariates
        cols = fitted["text_cols"]
        data: dict[str, Any] = {}
        for col in covs.columns:
            if col in cols:
                vectors = fitted["projections"][col].transform(covs[col].tolist())
                for i in range(vectors.shape[1]):
                    name = f"{col}_emb_{i}"
                    if name in covs.columns:
                        raise_log(
                            ValueError(
                                f"Output column {name!r} already exists among the static covariates; rename that "
                                f"column before embedding {col!r}."
                            )
                        )
                    data[name] = vectors[:, i]
            else:
                data[col] = covs[col].to_numpy()
        new_covs = pd.DataFrame(data, index=covs.index)
        new_covs.columns.name = covs.columns.name
        return series.with_static_covariates(new_covs)

    def transform(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        *args,
        component_mask: np.ndarray | None = None,
        series_idx: int | Sequence[int] | None = None,
        **kwargs,
    ) -> TimeSeries | list[TimeSeries]:
        """Embed the text static covariates of (a sequence of) series with the fitted projection(s).

        Texts seen at fit time come from the fitted table; new texts are encoded in one batch per column (through
        the cache) before the series are processed.

        Parameters
        ----------
        series
            (Sequence of) series with the fitted text columns among their static covariates.

        Returns
        -------
        TimeSeries | list[TimeSeries]
            The series with each text column replaced by ``{col}_emb_{i}`` float columns.
        """
        if not self._fit_called:
            raise_log(ValueError(f"{self.name}: call `fit` (or `fit_transform`) before `transform`."))
        seq = [series] if isinstance(series, TimeSeries) else list(series)
        fitted = self._fitted_params[0]
        texts = self._texts(seq, fitted["text_cols"], "transform")
        for col, projection in fitted["projections"].items():
            new = projection.unseen(texts[col])
            if new:
                projection.embed(new)  # batch-encode new texts into the cache; per-series transforms then hit it
        return super().transform(series, *args, component_mask=component_mask, series_idx=series_idx, **kwargs)

    # ------------------------------------------------------------------------------------------- accessors
    @property
    def text_cols_(self) -> list[str]:
        """The embedded text columns (known after fit)."""
        if not self._fit_called:
            raise_log(ValueError(f"{self.name} is not fitted; call `fit` first."))
        return list(self._fitted_params[0]["text_cols"])

    @property
    def projections_(self) -> dict[str, TextProjection]:
        """The fitted :class:`TextProjection` of each text column."""
        if not self._fit_called:
            raise_log(ValueError(f"{self.name} is not fitted; call `fit` first."))
        return dict(self._fitted_params[0]["projections"])

    # -------------------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["cache"] = cache_to_state(self.cache)
        state["_fixed_params"] = {**self._fixed_params, "cache": state["cache"]}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        cache = cache_from_state(state.get("cache"))
        state["cache"] = cache
        state["_fixed_params"] = {**state["_fixed_params"], "cache": cache}
        self.__dict__.update(state)
