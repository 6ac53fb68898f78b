"""Nearest known series by text, and the demand of those neighbours as covariates.

Two products with similar descriptions tend to sell alike *at the same time*: when Christmas decorations start
to sell in September, a Christmas decoration launched in October will sell like them, not like the average
launch. :class:`TextNeighbours` finds, for any text, the most similar series of a fitted panel and summarises
what those neighbours sold at each time step. The summary is causal (the value at step ``t`` uses neighbour
observations up to ``t`` only), so it is a valid *past* covariate for any Darts model, including for products
with no history of their own.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.cache import EmbeddingCache, default_cache
from darts_llm.dataprocessing.builder import CovariateBuilder, as_series_list, series_keys
from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.errors import TextInputError
from darts_llm.utils import positive_int

#: Component names of :meth:`TextNeighbours.past_covariates`.
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


def _regular_axis(indexes: Sequence[pd.Index], freq) -> pd.Index:
    """The regular time axis (step ``freq``) from the earliest to the latest label of ``indexes``."""
    start = min(index[0] for index in indexes)
    end = max(index[-1] for index in indexes)
    if isinstance(indexes[0], pd.DatetimeIndex):
        return pd.date_range(start=start, end=end, freq=freq)
    step = int(freq)
    return pd.RangeIndex(start, end + step, step)


class TextNeighbours(CovariateBuilder):
    """Index of a panel of series by the embedding of one text static covariate; neighbour demand as covariates.

    Parameters
    ----------
    text_col
        Static covariate column with the text (e.g. a product description).
    series_key
        Name of the static covariate column (or ``metadata`` entry) holding each series' key (a product id);
        ``keys=[...]`` on :meth:`fit` / :meth:`past_covariates` overrides it. Keys let :meth:`past_covariates`
        recognise fitted series among the series passed to it: their newer observations extend what the
        neighbours are known to have sold (so covariates reach the end of a backtest), and ``exclude_self``
        keeps a series from being its own neighbour. ``None``: the series carry no key; covariates then reach
        only as far as the fitted panel, and a series that ends later is an error.
    k
        Number of neighbours.
    window
        Steps of the rolling mean and of the growth.
    exclude_self
        Never use a series as its own neighbour (matched by key; needs ``series_key`` or ``keys``).
    encoder
        Encoder spec for :func:`darts_llm.get_encoder` (``None``: all-MiniLM-L6-v2) or a ``TextEncoder``.
    cache
        :class:`~darts_llm.EmbeddingCache`; ``None`` uses :func:`darts_llm.default_cache`.
    name
        Name used in messages.

    Examples
    --------
    >>> nbrs = TextNeighbours("description", series_key="sku", exclude_self=True).fit(train)  # doctest: +SKIP
    >>> idx, sim = nbrs.query(["RED CHRISTMAS TREE CANDLE"], k=5)  # doctest: +SKIP
    >>> past_covs = nbrs.past_covariates(full_series)  # reaches the end of the full series  # doctest: +SKIP
    """

    def __init__(
        self,
        text_col: str = "description",
        series_key: str | None = None,
        k: int = 20,
        window: int = 4,
        exclude_self: bool = False,
        encoder: str | TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        name: str = "TextNeighbours",
    ):
        if not isinstance(text_col, str) or not text_col:
            raise_log(ValueError(f"`text_col` must be the name of a static covariate column, got {text_col!r}."))
        if series_key is not None and not isinstance(series_key, str):
            raise_log(
                ValueError(f"`series_key` must be a static covariate / metadata name or None, got {series_key!r}.")
            )
        if not isinstance(exclude_self, bool):
            raise_log(ValueError(f"`exclude_self` must be True or False, got {exclude_self!r}."))
        self.text_col = text_col
        self.series_key = series_key
        self.k = positive_int(k, "k")
        self.window = positive_int(window, "window")
        self.exclude_self = exclude_self
        self.encoder = encoder
        self.cache = cache
        self.name = name
        self.fitted_ = False

    # ------------------------------------------------------------------------------------------ embeddings
    def _embed(self, texts: list[str]) -> np.ndarray:
        from darts_llm.registry import get_encoder

        encoder = get_encoder(self.encoder)
        vectors = (self.cache or default_cache()).encode(encoder, texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def fit(self, series: TimeSeries | Sequence[TimeSeries], keys: Sequence[Hashable] | None = None) -> TextNeighbours:
        """Embed the texts of ``series`` and keep their values on a common time axis.

        Parameters
        ----------
        series
            Univariate target series with the text in static covariate ``text_col`` and a common frequency.
        keys
            Optionally, one key per series (overrides ``series_key``).
        """
        series = as_series_list(series)
        self.texts_ = series_texts(series, self.text_col)
        self.keys_ = series_keys(series, self.series_key, keys)
        if self.keys_ is not None and len(set(self.keys_)) != len(self.keys_):
            dup = pd.Series(self.keys_).loc[pd.Series(self.keys_).duplicated()].iloc[0]
            raise_log(ValueError(f"Series key {dup!r} (`series_key` {self.series_key!r}) names several fitted series; "
                                 f"keys must be unique."))
        self.vectors_ = self._embed(self.texts_)
        self.freq_ = series[0].freq
        self.time_index_ = _regular_axis([ts.time_index for ts in series], self.freq_)
        values = np.full((len(series), len(self.time_index_)), np.nan, dtype=np.float32)
        for i, ts in enumerate(series):
            pos = self.time_index_.get_indexer(ts.time_index)
            if np.any(pos < 0):
                raise_log(ValueError(f"series[{i}] is not on the panel's time grid (frequency {self.freq_}); "
                                     f"pass series with one common frequency."))
            values[i, pos] = ts.univariate_values()
        self.values_ = values
        self.fitted_ = True
        return self

    # ---------------------------------------------------------------------------------------------- query
    def query(
        self, texts: Sequence[str], k: int | None = None, exclude: Sequence[int | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosine similarities of the ``k`` fitted series nearest to each text.

        Parameters
        ----------
        texts
            Query texts.
        k
            Number of neighbours (at most the number of fitted series, minus one when excluding); ``None``: the
            ``k`` given at construction.
        exclude
            Per query, a fitted index never to return (the query's own series), or ``None``.

        Returns
        -------
        tuple[np.ndarray, np.ndarray]
            ``(indices, similarities)``, both of shape ``(len(texts), k)``, most similar first.
        """
        self.check_fitted()
        n_fit = len(self.texts_)
        k = self.k if k is None else positive_int(k, "k")
        k = min(k, n_fit - (1 if exclude is not None else 0))
        if k < 1:
            raise_log(ValueError(f"{self.name} was fitted on one series and excludes it: no neighbour is left; "
                                 f"fit on more series or set `exclude_self=False`."))
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
    def _known_panel(
        self, series: list[TimeSeries], keys: list[Hashable] | None
    ) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        """Time axis and values of the fitted series, extended by the passed series' values after the fitted end.

        Also returns, per fitted series, the last axis position up to which its values are known: the end of the
        fitted panel, or the latest end among the passed series for a fitted series passed again (it may have
        stopped selling earlier; no observation after its end is then the truth, not a gap).
        """
        axis = _regular_axis([self.time_index_] + [ts.time_index for ts in series], self.freq_)
        values = np.full((len(self.texts_), len(axis)), np.nan, dtype=np.float32)
        values[:, axis.get_indexer(self.time_index_)] = self.values_
        known_until = np.full(len(self.texts_), axis.get_loc(self.time_index_[-1]), dtype=np.int64)
        if keys is not None and self.keys_ is not None:
            position = {key: j for j, key in enumerate(self.keys_)}
            matched = [(ts, position[key]) for ts, key in zip(series, keys) if key in position]
            if matched:
                as_of = max(axis.get_loc(ts.end_time()) for ts, _ in matched)
                for ts, j in matched:
                    observed = ts.univariate_values()
                    newer = ~np.isnan(observed) & np.asarray(ts.time_index > self.time_index_[-1])
                    values[j, axis.get_indexer(ts.time_index[newer])] = observed[newer]
                    known_until[j] = max(known_until[j], as_of)
        return axis, values, known_until

    def past_covariates(
        self, series: TimeSeries | Sequence[TimeSeries], keys: Sequence[Hashable] | None = None
    ) -> TimeSeries | list[TimeSeries]:
        """Past covariates describing what each series' text neighbours sold, step by step.

        For each series, from the start of the fitted panel to the series' own end, three components:

        - ``nbr_level``: similarity-weighted mean over the ``k`` nearest neighbours of ``log1p`` of their values,
          averaged over the last ``window`` steps (neighbours without data at a step are left out of it);
        - ``nbr_growth``: ``nbr_level`` minus its value ``window`` steps earlier;
        - ``nbr_similarity``: the weighted mean similarity of the neighbours (how typical the text is).

        Each value uses neighbour observations at or before its own step only: no look-ahead. What the
        neighbours sold is known from the fitted panel and, after its end, for fitted series passed again here
        (matched by key), from their values in ``series``: pass the full panel to get covariates over its whole
        span after fitting on a training split. A series that ends after the last step with any known neighbour observation raises
        an error rather than getting covariates that stop short.

        Parameters
        ----------
        series
            Series with the text static covariate (fitted or new ones).
        keys
            Optionally, one key per series (overrides ``series_key``).

        Returns
        -------
        TimeSeries or list[TimeSeries]
            float32 covariates, one per input series.
        """
        self.check_fitted()
        single = isinstance(series, TimeSeries)
        series = as_series_list(series)
        texts = series_texts(series, self.text_col)
        keys = series_keys(series, self.series_key, keys)
        exclude = None
        if self.exclude_self:
            if keys is None or self.keys_ is None:
                raise_log(
                    ValueError(
                        f"`exclude_self=True` needs to know which series is which: set `series_key` (a static "
                        f"covariate or metadata entry holding each series' key) or pass `keys=[...]` to both "
                        f"`fit` and `past_covariates`."
                    )
                )
            position = {key: j for j, key in enumerate(self.keys_)}
            exclude = [position.get(key) for key in keys]
        idx, sims = self.query(texts, exclude=exclude)
        axis, panel, known_until = self._known_panel(series, keys)
        logged = np.log1p(np.clip(panel, 0, None))
        rolled = pd.DataFrame(logged.T).rolling(self.window, min_periods=1).mean().to_numpy().T
        out = []
        for i, ts in enumerate(series):
            short = [j for j in idx[i] if known_until[j] < axis.get_loc(ts.end_time())]
            if short:
                names = [self.keys_[j] if self.keys_ is not None else f"fitted series {j}" for j in short[:5]]
                raise_log(
                    ValueError(
                        f"series[{i}] ends at {ts.end_time()}, but what its neighbours {names} sold is known only up "
                        f"to {axis[int(known_until[short].min())]} (the fitted panel, extended by fitted series "
                        f"passed again); pass the neighbours' newer values along (the full panel, with "
                        f"`series_key`/`keys` so they are recognised), or fit on series that reach {ts.end_time()}."
                    )
                )
            weights = np.clip(sims[i], 0, None) ** 2 + 1e-6
            block = rolled[idx[i]]  # (k, T)
            present = ~np.isnan(block)
            w = weights[:, None] * present
            level = np.where(w.sum(0) > 0, np.nansum(block * w, 0) / np.maximum(w.sum(0), 1e-12), 0.0)
            growth = level - np.concatenate([np.full(self.window, level[0]), level[: -self.window]])[: len(level)]
            similarity = np.full_like(level, float(np.average(sims[i], weights=weights)))
            values = np.stack([level, growth, similarity], axis=1).astype(np.float32)
            end = axis.searchsorted(ts.end_time(), side="right")
            if end == 0:
                raise_log(
                    ValueError(
                        f"series[{i}] ends at {ts.end_time()}, before the fitted neighbours start ({axis[0]}); fit "
                        f"the neighbours on series that cover this period."
                    )
                )
            out.append(
                TimeSeries.from_times_and_values(axis[:end], values[:end], columns=list(DEMAND_COMPONENTS),
                                                 freq=self.freq_)
            )
        return out[0] if single else out

    def __repr__(self) -> str:
        n = len(self.texts_) if self.fitted else 0
        return (f"{self.name}(text_col={self.text_col!r}, series_key={self.series_key!r}, k={self.k}, "
                f"window={self.window}, exclude_self={self.exclude_self}, n_fitted={n})")
