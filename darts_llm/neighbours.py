"""Nearest known series by text, and the demand of those neighbours as covariates.

Two products with similar descriptions tend to sell alike *at the same time*: when Christmas decorations start
to sell in September, a Christmas decoration launched in October will sell like them, not like the average
launch. :class:`TextNeighbours` finds, for any text, the most similar series of a fitted panel and summarises
what those neighbours sold at each time step. The summary is causal (the value at step ``t`` uses neighbour
observations up to ``t`` only), so it is a valid *past* covariate for any Darts model, including for products
with no history of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries

from darts_llm.cache import EmbeddingCache, default_cache
from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.errors import TextInputError

#: Component names of :meth:`TextNeighbours.demand_covariates`.
DEMAND_COMPONENTS = ("nbr_level", "nbr_growth", "nbr_similarity")


def series_texts(series: Sequence[TimeSeries], text_col: str) -> list[str]:
    """The ``text_col`` static covariate of each series (missing -> empty string)."""
    values = []
    for i, ts in enumerate(series):
        static = ts.static_covariates
        if static is None or text_col not in static.columns:
            have = [] if static is None else list(static.columns)
            raise TextInputError(
                f"series[{i}] has no static covariate {text_col!r} (it has {have}); set `text_col` to the "
                f"column that holds the text."
            )
        values.append(static[text_col].iloc[0])
    return clean_texts(values, name=text_col)


class TextNeighbours:
    """Index of a panel of series by the embedding of one text static covariate.

    Parameters
    ----------
    encoder
        Encoder spec for :func:`darts_llm.get_encoder` (``None``: all-MiniLM-L6-v2) or a ``TextEncoder``.
    text_col
        Static covariate column with the text (e.g. the product description).
    cache
        :class:`~darts_llm.EmbeddingCache`; ``None`` uses :func:`darts_llm.default_cache`.

    Examples
    --------
    >>> nbrs = TextNeighbours().fit(train_series)  # doctest: +SKIP
    >>> idx, sim = nbrs.query(["RED CHRISTMAS TREE CANDLE"], k=5)  # doctest: +SKIP
    >>> past_covs = nbrs.demand_covariates(train_series, k=20, exclude_self=True)  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder: str | TextEncoder | None = None,
        text_col: str = "description",
        cache: EmbeddingCache | None = None,
    ):
        self.encoder = encoder
        self.text_col = text_col
        self.cache = cache
        self._fitted = False

    # ------------------------------------------------------------------------------------------ embeddings
    def _embed(self, texts: list[str]) -> np.ndarray:
        from darts_llm.registry import get_encoder

        encoder = get_encoder(self.encoder)
        vectors = (self.cache or default_cache()).encode(encoder, texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def fit(self, series: TimeSeries | Sequence[TimeSeries]) -> TextNeighbours:
        """Embed the texts of ``series`` and keep their values on a common time axis.

        Parameters
        ----------
        series
            Univariate target series with the text in static covariate ``text_col`` and a common frequency.
        """
        series = [series] if isinstance(series, TimeSeries) else list(series)
        if not series:
            raise ValueError("`series` is empty; pass the panel of known series to fit the neighbours on.")
        self.texts_ = series_texts(series, self.text_col)
        self.vectors_ = self._embed(self.texts_)
        self.freq_ = series[0].freq
        index = series[0].time_index
        for ts in series[1:]:
            index = index.union(ts.time_index)
        self.time_index_ = index
        values = np.full((len(series), len(index)), np.nan, dtype=np.float32)
        for i, ts in enumerate(series):
            pos = index.get_indexer(ts.time_index)
            values[i, pos] = ts.univariate_values()
        self.values_ = values
        self.names_ = [
            ts.metadata.get("stock_code", str(i)) if getattr(ts, "metadata", None) else str(i)
            for i, ts in enumerate(series)
        ]
        self._fitted = True
        return self

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise ValueError("This TextNeighbours is not fitted; call `fit(series)` first.")

    # ---------------------------------------------------------------------------------------------- query
    def query(
        self, texts: Sequence[str], k: int = 10, exclude: Sequence[int | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosine similarities of the ``k`` fitted series nearest to each text.

        Parameters
        ----------
        texts
            Query texts.
        k
            Number of neighbours (at most the number of fitted series, minus one when excluding).
        exclude
            Per query, a fitted index never to return (the query's own series), or ``None``.

        Returns
        -------
        tuple[np.ndarray, np.ndarray]
            ``(indices, similarities)``, both of shape ``(len(texts), k)``, most similar first.
        """
        self._check_fitted()
        n_fit = len(self.texts_)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` must be a positive integer, got {k!r}.")
        k = min(k, n_fit - (1 if exclude is not None else 0))
        sims = self._embed(clean_texts(texts)) @ self.vectors_.T
        if exclude is not None:
            for row, col in enumerate(exclude):
                if col is not None:
                    sims[row, col] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1)
        top = np.take_along_axis(top, order, 1)
        return top, np.take_along_axis(sims, top, 1)

    # ------------------------------------------------------------------------------------------ covariates
    def demand_covariates(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        k: int = 20,
        window: int = 4,
        exclude_self: bool = False,
    ) -> TimeSeries | list[TimeSeries]:
        """Past covariates describing what each series' text neighbours sold, step by step.

        For each series, on the fitted time axis up to its own end, three components:

        - ``nbr_level``: similarity-weighted mean over the ``k`` nearest neighbours of ``log1p`` of their values,
          averaged over the last ``window`` steps (neighbours without data at a step are left out of it);
        - ``nbr_growth``: ``nbr_level`` minus its value ``window`` steps earlier;
        - ``nbr_similarity``: the weighted mean similarity of the neighbours (how typical the text is).

        Each value uses neighbour observations at or before its own step only: no look-ahead. The covariates
        start at the fitted axis' start, so they also cover the time before a new product's first sale.

        Parameters
        ----------
        series
            Series with the text static covariate (fitted or new ones).
        k
            Number of neighbours.
        window
            Steps of the rolling mean and of the growth.
        exclude_self
            Set when ``series`` are (some of) the fitted series: a series is then never its own neighbour
            (matched by position when ``series`` is the fitted panel, otherwise by identical text and values).

        Returns
        -------
        TimeSeries or list[TimeSeries]
            float32 covariates, one per input series.
        """
        self._check_fitted()
        single = isinstance(series, TimeSeries)
        series = [series] if single else list(series)
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"`window` must be a positive integer, got {window!r}.")
        texts = series_texts(series, self.text_col)
        exclude = [self._own_index(ts, text, i, len(series)) for i, (ts, text) in enumerate(zip(series, texts))]
        idx, sims = self.query(texts, k=k, exclude=exclude if exclude_self else None)
        logged = np.log1p(np.clip(self.values_, 0, None))
        rolled = pd.DataFrame(logged.T).rolling(window, min_periods=1).mean().to_numpy().T
        out = []
        for i, ts in enumerate(series):
            weights = np.clip(sims[i], 0, None) ** 2 + 1e-6
            block = rolled[idx[i]]  # (k, T)
            present = ~np.isnan(block)
            w = weights[:, None] * present
            level = np.where(w.sum(0) > 0, np.nansum(block * w, 0) / np.maximum(w.sum(0), 1e-12), 0.0)
            growth = level - np.concatenate([np.full(window, level[0]), level[:-window]])[: len(level)]
            similarity = np.full_like(level, float(np.average(sims[i], weights=weights)))
            values = np.stack([level, growth, similarity], axis=1).astype(np.float32)
            end = self.time_index_.searchsorted(ts.end_time(), side="right")
            if end == 0:
                raise ValueError(
                    f"series[{i}] ends at {ts.end_time()}, before the fitted neighbours start "
                    f"({self.time_index_[0]}); fit the neighbours on series that cover this period."
                )
            out.append(
                TimeSeries.from_times_and_values(
                    self.time_index_[:end], values[:end], columns=list(DEMAND_COMPONENTS), freq=self.freq_
                )
            )
        return out[0] if single else out

    def _own_index(self, ts: TimeSeries, text: str, position: int, n_series: int) -> int | None:
        if n_series == len(self.texts_) and self.texts_[position] == text:
            return position
        for j, fitted_text in enumerate(self.texts_):
            if fitted_text == text:
                pos = self.time_index_.get_indexer(ts.time_index)
                if np.all(pos >= 0) and np.allclose(self.values_[j, pos], ts.univariate_values(), equal_nan=True):
                    return j
        return None
