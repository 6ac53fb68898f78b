"""Timestamped text (reviews, reports, promotion notes) -> covariate series on each target's own time index.

See :mod:`darts_llm.dataprocessing.alignment` for the exact rule of which step a text lands in.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing.alignment import (
    STEP_LABELS,
    as_int64,
    covered_steps,
    extended_grid,
    visible_step,
)
from darts_llm.dataprocessing.projection import (
    TextProjection,
    cache_from_state,
    cache_to_state,
    check_cache,
    check_projection,
)
from darts_llm.dataprocessing.events import ParsedEvents, parse_events
from darts_llm.encoders.base import TextEncoder

logger = logging.getLogger(__name__)

#: decay weights below 2**-40 are treated as 0: texts older than 40 half-lives before a series start are clamped.
_DECAY_HALF_LIVES = 40


class TextEventsEmbedder:
    """Turn timestamped text into covariate series aligned to each target series, with no look-ahead.

    For each target series the output has, on the target's own time index:

    - ``{prefix}_emb_0 .. {prefix}_emb_{k-1}``: the mean projected embedding of the texts that became visible at
      the step (or, with ``decay``, a decayed mix of earlier ones, see below); 0 where there is none;
    - ``{prefix}_count``: the number of texts that became visible at the step;
    - ``{prefix}_steps_since``: steps since the last step with a text (0 at that step), capped at
      ``max_steps_since``; a series that has seen no text yet has ``max_steps_since``.

    **No look-ahead.** A text stamped ``t`` first becomes visible at the first step whose label is ``>= t``; a text
    about a period ``[start, end]`` at the first step whose label is ``>= end``. With labels at period ends (pandas
    ``resample("W")``, ``ME``) that is the step whose period contains the text; with labels at period starts
    (``MS``, weekly Mondays, daily) it is the step *after* the one whose period contains it, since that step's label
    precedes the text. So a covariate value at step ``i`` depends only on texts stamped at or before label ``i``:
    adding a text stamped after label ``i`` leaves every value at and before ``i`` unchanged (given a fitted
    projection). Use the output as **past covariates**.

    **Known in advance** (``known_in_advance=True`` or a boolean column): such texts (planned promotions, holidays)
    cover every step whose period overlaps ``[start, end]`` (see ``step_label``) and are returned by
    :meth:`transform_future` as **future covariates**, which extend past the target end as far as the events do
    (and at least ``horizon`` steps).

    Parameters
    ----------
    events
        One row per text. Columns: the text (``text_col``), either a timestamp (``time_col``) or a period
        (``start_col``, ``end_col``), optionally the series key (``key_col``) and the known-in-advance flag.
        Timestamps are datetimes (or strings ``pd.to_datetime`` reads) for ``DatetimeIndex`` targets and integers
        for ``RangeIndex`` targets. Missing text (``None``/NaN) counts as an event with the empty string.
    text_col
        Column with the text.
    time_col
        Column with one timestamp per text. When neither ``time_col`` nor ``start_col``/``end_col`` is given, a
        column ``"time"`` is used if present, else the columns ``"start"`` and ``"end"``.
    start_col, end_col
        Columns with the start and end (inclusive) of the period each text is about.
    key_col
        Column naming the series each text belongs to. ``None``: every text belongs to every series (market news,
        or a single target series).
    series_key
        How a target series is matched to ``key_col``: the name of a static covariate column holding the key.
        ``None``: the series' position in the sequence passed to ``fit``/``transform`` (0, 1, ...). A ``keys``
        argument to ``fit``/``transform``/``transform_future`` (one key per series) overrides both.
        A series whose key has no events gets the neutral values.
    known_in_advance
        ``False`` (default), ``True`` (every text is known in advance), or the name of a boolean column.
    n_components
        Embedding size ``k`` with ``projection="pca"``.
    projection
        ``"pca"`` (fitted on the distinct training texts, see :meth:`fit`) or ``None`` (raw embeddings).
    decay
        Optional half-life in steps. The embedding at step ``i`` becomes
        ``sum_j w_j e_j / max(1, sum_j w_j)`` over all texts ``j`` visible at or before ``i``, with
        ``w_j = 0.5 ** ((i - s_j) / decay)`` and ``s_j`` the step where ``j`` became visible: a text keeps
        influencing later steps and fades towards the neutral 0. ``None``: only texts visible at the step count.
    max_steps_since
        Cap of ``{prefix}_steps_since``, and its value before any text.
    step_label
        What a label means, used only to place known-in-advance periods: ``"start"`` (a step covers
        ``[label, next label)``, e.g. ``MS``, daily, weekly Mondays) or ``"end"`` (``(previous label, label]``,
        e.g. ``ME`` or pandas' ``W-SUN`` from ``resample("W")``). The no-look-ahead rule does not depend on it.
    encoder, cache, batch_size
        Encoder spec for :func:`darts_llm.get_encoder` (``None``: all-MiniLM-L6-v2), the
        :class:`~darts_llm.EmbeddingCache` (``None``: :func:`darts_llm.default_cache`), texts per forward pass.
    prefix
        Prefix of the output component names.
    name
        Name of the transformer.

    Notes
    -----
    Pickling stores the events, the fitted PCA, the projected vectors of the training texts and the encoder spec,
    never encoder weights; an unpickled embedder maps the texts it saw at fit time without loading the encoder.

    Examples
    --------
    >>> from darts_llm.dataprocessing import TextEventsEmbedder
    >>> emb = TextEventsEmbedder(reviews, key_col="item_id", series_key="item_id", time_col="date", n_components=8)
    >>> past_train = emb.fit_transform(train_series)   # PCA fitted on texts visible within the training range
    >>> past_full = emb.transform(full_series)         # same projection, covariates up to the series end
    >>> model.fit(train_series, past_covariates=past_train)
    """

    def __init__(
        self,
        events: pd.DataFrame,
        text_col: str = "text",
        time_col: str | None = None,
        start_col: str | None = None,
        end_col: str | None = None,
        key_col: str | None = None,
        series_key: str | None = None,
        known_in_advance: bool | str = False,
        n_components: int | None = 8,
        projection: str | None = "pca",
        decay: float | None = None,
        max_steps_since: int = 52,
        step_label: str = "start",
        encoder: str | TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        batch_size: int = 64,
        prefix: str = "text",
        name: str = "TextEventsEmbedder",
    ):
        check_projection(projection, n_components)
        check_cache(cache)
        if decay is not None and (isinstance(decay, bool) or not isinstance(decay, (int, float)) or not decay > 0):
            raise_log(ValueError(f"`decay` must be a positive half-life in steps or None, got {decay!r}."))
        if isinstance(max_steps_since, bool) or not isinstance(max_steps_since, (int, np.integer)) or max_steps_since < 1:
            raise_log(ValueError(f"`max_steps_since` must be a positive integer, got {max_steps_since!r}."))
        if step_label not in STEP_LABELS:
            raise_log(ValueError(f"`step_label` must be one of {STEP_LABELS}, got {step_label!r}."))
        if not isinstance(known_in_advance, (bool, str)):
            raise_log(ValueError(f"`known_in_advance` must be a bool or a column name, got {known_in_advance!r}."))
        if series_key is not None and not isinstance(series_key, str):
            raise_log(ValueError(f"`series_key` must be a static covariate column name or None, got {series_key!r}."))
        if not isinstance(prefix, str) or not prefix:
            raise_log(ValueError(f"`prefix` must be a non-empty string, got {prefix!r}."))
        if time_col is None and start_col is None and end_col is None and isinstance(events, pd.DataFrame):
            if "time" in events.columns:
                time_col = "time"
            elif {"start", "end"} <= set(events.columns):
                start_col, end_col = "start", "end"
        if time_col is not None and (start_col is not None or end_col is not None):
            raise_log(ValueError("Pass either `time_col` (one timestamp per text) or `start_col` and `end_col` "
                                 "(a period per text), not both."))
        if time_col is None and (start_col is None or end_col is None):
            raise_log(
                ValueError(
                    "Say when each text happened: pass `time_col` (one timestamp per text) or both `start_col` and "
                    "`end_col` (a period); by default a column 'time', or columns 'start' and 'end', are used."
                )
            )
        self.text_col = text_col
        self.time_col = time_col
        self.start_col = start_col
        self.end_col = end_col
        self.key_col = key_col
        self.series_key = series_key
        self.known_in_advance = known_in_advance
        self.n_components = n_components
        self.projection = projection
        self.decay = None if decay is None else float(decay)
        self.max_steps_since = int(max_steps_since)
        self.step_label = step_label
        self.encoder = encoder
        self.cache = cache
        self.batch_size = batch_size
        self.prefix = prefix
        self.name = name
        self._events = self._parse_events(events)
        self.projection_: TextProjection | None = None

    # ------------------------------------------------------------------------------------------------ events
    def _parse_events(self, events: pd.DataFrame) -> ParsedEvents:
        return parse_events(
            events, self.text_col, self.time_col, self.start_col, self.end_col, self.key_col, self.known_in_advance
        )

    # ------------------------------------------------------------------------------------------------ series
    def _keys(self, series: Sequence[TimeSeries], keys: Sequence[Hashable] | None) -> list[Hashable]:
        if keys is not None:
            keys = list(keys)
            if len(keys) != len(series):
                raise_log(ValueError(f"`keys` has {len(keys)} entries for {len(series)} series; pass one key per series."))
            return keys
        if self.key_col is None:
            return [None] * len(series)
        if self.series_key is None:
            return list(range(len(series)))
        out = []
        for idx, ts in enumerate(series):
            covs = ts.static_covariates
            if covs is None or self.series_key not in covs.columns:
                have = [] if covs is None else list(covs.columns)
                raise_log(
                    ValueError(
                        f"series[{idx}] has no static covariate {self.series_key!r} (the `series_key`; it has "
                        f"{have}); add it, or pass `keys=[...]` with one key per series."
                    )
                )
            values = pd.unique(covs[self.series_key].to_numpy(dtype=object))
            if len(values) != 1 or pd.isna(values[0]):
                raise_log(
                    ValueError(f"series[{idx}] static covariate {self.series_key!r} must hold one key, got {list(values)}.")
                )
            out.append(values[0])
        return out

    def _check_series(self, series, events: ParsedEvents) -> list[TimeSeries]:
        seq = [series] if isinstance(series, TimeSeries) else list(series)
        if not seq:
            raise_log(ValueError("`series` is empty; pass a TimeSeries or a non-empty sequence of them."))
        for idx, ts in enumerate(seq):
            if not isinstance(ts, TimeSeries):
                raise_log(ValueError(f"`series[{idx}]` is a {type(ts).__name__}, not a darts TimeSeries."))
            if ts.has_datetime_index != events.is_datetime:
                kind = "a DatetimeIndex" if ts.has_datetime_index else "an integer (Range) index"
                need = "timestamps" if ts.has_datetime_index else "integer time steps"
                raise_log(
                    ValueError(f"series[{idx}] has {kind}, so the event times must be {need}; convert the event "
                               f"time column(s) (`pd.to_datetime` or `.astype(int)`).")
                )
            if ts.has_datetime_index and str(ts.time_index.tz) != str(events.tz):
                raise_log(
                    ValueError(
                        f"series[{idx}] time zone {ts.time_index.tz} differs from the events' {events.tz} (Darts "
                        f"series are time-zone naive); convert the event times, e.g. "
                        f"`events[col].dt.tz_convert(<the series' zone>).dt.tz_localize(None)`."
                    )
                )
        return seq

    def _n_back(self) -> int:
        extra = math.ceil(_DECAY_HALF_LIVES * self.decay) if self.decay else 0
        return self.max_steps_since + extra + 1

    # ------------------------------------------------------------------------------------------------- fit
    def fit(self, series: TimeSeries | Sequence[TimeSeries], keys: Sequence[Hashable] | None = None) -> "TextEventsEmbedder":
        """Fit the projection on the texts available within the training series.

        A text is used when it is visible at or before the last step of its series (past texts), or starts at or
        before it (known-in-advance texts): fit on the training part of your series and no test-period text
        shapes the projection.

        Parameters
        ----------
        series
            The training target series (one or a sequence).
        keys
            Optionally, one key per series (overrides ``series_key`` / positions).

        Returns
        -------
        TextEventsEmbedder
            The fitted embedder.
        """
        events = self._events
        seq = self._check_series(series, events)
        series_keys = self._keys(seq, keys)
        rows: list[np.ndarray] = []
        matched = 0
        for ts, key in zip(seq, series_keys):
            idx = events.rows_for(key)
            matched += bool(len(idx))
            last = as_int64(ts.time_index[-1:])[0]
            ok = np.where(events.known[idx], events.start[idx] <= last, events.end[idx] <= last)
            rows.append(idx[ok])
        if self.key_col is not None and matched == 0:
            sample = list(events.groups)[:5]
            raise_log(
                ValueError(
                    f"No series key matches events[{self.key_col!r}]: series keys {series_keys[:5]} vs event keys "
                    f"{sample} (check `series_key`/`keys` and that both use the same type, e.g. str vs int)."
                )
            )
        used = np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)
        if len(used) == 0:
            raise_log(
                ValueError(
                    "No event text is available within the fitted series (texts must be stamped at or before each "
                    "series' last time step); fit on series that overlap the events, or check the event times."
                )
            )
        self.projection_ = TextProjection(
            encoder=self.encoder,
            n_components=self.n_components,
            projection=self.projection,
            cache=self.cache,
            batch_size=self.batch_size,
            name=f"events[{self.text_col!r}]",
        ).fit([events.texts[i] for i in used])
        return self

    # ------------------------------------------------------------------------------------------- transform
    def transform(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        events: pd.DataFrame | None = None,
        keys: Sequence[Hashable] | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Past covariates: the texts that are not known in advance, on each series' own time index.

        Parameters
        ----------
        series
            Target series (one or a sequence); the output has exactly their time index.
        events
            Optionally, a new events table (same columns) to use instead of the one given at construction, e.g.
            with reviews that arrived since. New texts are encoded and projected with the fitted projection.
        keys
            Optionally, one key per series (overrides ``series_key`` / positions).

        Returns
        -------
        TimeSeries | list[TimeSeries]
            One covariate series per target series (a single one for a single input).
        """
        if self.known_in_advance is True:
            raise_log(
                ValueError(
                    "Every event is known in advance (known_in_advance=True), so there are no past-covariate texts; "
                    "call `transform_future(series, horizon=...)` for future covariates."
                )
            )
        return self._run(series, events, keys, future=False, horizon=0)

    def transform_future(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        horizon: int = 0,
        events: pd.DataFrame | None = None,
        keys: Sequence[Hashable] | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Future covariates: the texts known in advance, covering the steps their periods overlap.

        Each output starts at its series' start and ends at the later of ``horizon`` steps after the series end
        and the last step a known-in-advance event covers, so it reaches the forecast horizon.

        Parameters
        ----------
        series
            Target series (one or a sequence).
        horizon
            Minimum number of steps after each series' end (e.g. the forecast horizon).
        events, keys
            As in :meth:`transform`.

        Returns
        -------
        TimeSeries | list[TimeSeries]
            One covariate series per target series.
        """
        if self.known_in_advance is False:
            raise_log(
                ValueError(
                    "No event is known in advance (known_in_advance=False); use `transform` for past covariates, "
                    "or set `known_in_advance=True` / a boolean column for planned texts."
                )
            )
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
            raise_log(ValueError(f"`horizon` must be a non-negative integer, got {horizon!r}."))
        return self._run(series, events, keys, future=True, horizon=int(horizon))

    def fit_transform(
        self, series: TimeSeries | Sequence[TimeSeries], keys: Sequence[Hashable] | None = None
    ) -> TimeSeries | list[TimeSeries]:
        """:meth:`fit` then :meth:`transform` on the same series."""
        return self.fit(series, keys=keys).transform(series, keys=keys)

    def _run(self, series, events, keys, future: bool, horizon: int):
        if self.projection_ is None:
            raise_log(ValueError(f"{self.name}: call `fit` (or `fit_transform`) before transforming."))
        parsed = self._events if events is None else self._parse_events(events)
        seq = self._check_series(series, parsed)
        series_keys = self._keys(seq, keys)
        per_series = []
        for key in series_keys:
            idx = parsed.rows_for(key)
            per_series.append(idx[parsed.known[idx] == future])
        used = np.unique(np.concatenate(per_series)) if per_series else np.zeros(0, dtype=np.int64)
        vectors = np.zeros((len(parsed.texts), self.projection_.n_out_), dtype=np.float32)
        if len(used):
            vectors[used] = self.projection_.transform([parsed.texts[i] for i in used])
        out = [
            self._series_covariates(ts, parsed, idx, vectors, future, horizon) for ts, idx in zip(seq, per_series)
        ]
        return out[0] if isinstance(series, TimeSeries) else out

    # ------------------------------------------------------------------------------------------- features
    def _series_covariates(
        self, ts: TimeSeries, events: ParsedEvents, idx: np.ndarray, vectors: np.ndarray, future: bool, horizon: int
    ) -> TimeSeries:
        n_back = self._n_back()
        until = int(events.end[idx].max()) if (future and len(idx)) else None
        grid = extended_grid(ts.time_index, ts.freq, n_back, until=until, n_forward=horizon if future else 0)
        n_steps, dim = len(grid), vectors.shape[1]
        sums = np.zeros((n_steps, dim), dtype=np.float64)
        counts = np.zeros(n_steps, dtype=np.float64)
        if len(idx):
            if future:
                first, last = covered_steps(grid, events.start[idx], events.end[idx], self.step_label)
                for row, a, b in zip(idx, first, last):
                    if a <= b:
                        sums[a : b + 1] += vectors[row]
                        counts[a : b + 1] += 1
            else:
                steps = visible_step(grid, events.end[idx])
                inside = steps < n_steps
                np.add.at(sums, steps[inside], vectors[idx[inside]])
                np.add.at(counts, steps[inside], 1.0)
        features = self._features(sums, counts)
        stop = n_back + len(ts.time_index) + (horizon if future else 0)
        if future and len(idx):  # reach the last step a known-in-advance text covers
            stop = max(stop, int(np.max(np.where(first <= last, last, -1))) + 1)
        values = features[n_back:stop].astype(ts.dtype if np.issubdtype(ts.dtype, np.floating) else np.float32)
        n_out = stop - n_back
        if not future:
            times = ts.time_index
        elif ts.has_datetime_index:
            times = pd.date_range(start=ts.time_index[0], periods=n_out, freq=ts.freq)
        else:
            step = int(ts.freq)
            times = pd.RangeIndex(ts.time_index[0], ts.time_index[0] + step * n_out, step)
        columns = [f"{self.prefix}_emb_{i}" for i in range(dim)] + [f"{self.prefix}_count", f"{self.prefix}_steps_since"]
        return TimeSeries.from_times_and_values(times, values, columns=columns, freq=ts.freq)

    def _features(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Embedding, count and steps-since features from per-step sums and counts (causal in the step axis)."""
        if self.decay is None:
            embedding = sums / np.maximum(counts, 1.0)[:, None]
        else:
            from scipy.signal import lfilter

            ratio = 0.5 ** (1.0 / self.decay)
            decayed_sums = lfilter([1.0], [1.0, -ratio], sums, axis=0)
            decayed_counts = lfilter([1.0], [1.0, -ratio], counts)
            embedding = decayed_sums / np.maximum(decayed_counts, 1.0)[:, None]
        positions = np.arange(len(counts))
        last = np.maximum.accumulate(np.where(counts > 0, positions, -1))
        since = np.where(last >= 0, positions - last, self.max_steps_since)
        since = np.minimum(since, self.max_steps_since).astype(np.float64)
        return np.column_stack([embedding, counts, since])

    # ------------------------------------------------------------------------------------------- misc
    @property
    def components(self) -> list[str]:
        """Names of the output components (known after fit)."""
        if self.projection_ is None:
            raise_log(ValueError(f"{self.name} is not fitted; call `fit` first."))
        dim = self.projection_.n_out_
        return [f"{self.prefix}_emb_{i}" for i in range(dim)] + [f"{self.prefix}_count", f"{self.prefix}_steps_since"]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["cache"] = cache_to_state(self.cache)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["cache"] = cache_from_state(state.get("cache"))
        self.__dict__.update(state)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return (
            f"{self.name}(n_events={len(self._events.texts)}, key_col={self.key_col!r}, "
            f"known_in_advance={self.known_in_advance!r}, decay={self.decay}, fitted={self.projection_ is not None})"
        )
