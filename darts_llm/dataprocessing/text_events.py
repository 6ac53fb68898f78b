"""Timestamped text (reviews, reports, promotion notes) -> covariate series on each target's own time index.

See :mod:`darts_llm.dataprocessing.alignment` for the exact rule of which step a text lands in, and
:mod:`darts_llm.dataprocessing.builder` for the shape (``fit`` / ``past_covariates`` / ``future_covariates``).
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
from darts_llm.dataprocessing.alignment import STEP_LABELS, as_int64
from darts_llm.dataprocessing.builder import CovariateBuilder, as_series_list, check_horizon, series_keys
from darts_llm.dataprocessing.event_features import StepFeatures
from darts_llm.dataprocessing.events import ParsedEvents, TextEvents
from darts_llm.dataprocessing.projection import (
    TextProjection,
    cache_from_state,
    cache_to_state,
    check_cache,
    check_projection,
)
from darts_llm.encoders.base import TextEncoder

logger = logging.getLogger(__name__)

#: decay weights below 2**-40 are treated as 0: texts older than 40 half-lives before a series start are clamped.
_DECAY_HALF_LIVES = 40


class TextEventsEmbedder(CovariateBuilder):
    """Turn timestamped text into covariate series aligned to each target series, with no look-ahead.

    For each target series the output has, on the target's own time index:

    - ``{prefix}_emb_0 .. {prefix}_emb_{k-1}``: the mean projected embedding of the texts that became visible at
      the step (or, with ``decay``, a decayed mix of earlier ones, see below); 0 where there is none;
    - ``{prefix}_count``: the number of texts that became visible at the step;
    - ``{prefix}_steps_since``: steps since the last step with a text (0 at that step), capped at
      ``max_steps_since``; a series that has seen no text yet has ``max_steps_since``.

    **No look-ahead** (:meth:`past_covariates`). A text stamped ``t`` first becomes visible at the first step whose
    label is ``>= t``; a text about a period ``[start, end]`` at the first step whose label is ``>= end``. With
    labels at period ends (pandas ``resample("W")``, ``ME``) that is the step whose period contains the text; with
    labels at period starts (``MS``, weekly Mondays, daily) it is the step *after* the one whose period contains
    it, since that step's label precedes the text. So a covariate value at step ``i`` depends only on texts stamped
    at or before label ``i``: adding a text stamped after label ``i`` leaves every value at and before ``i``
    unchanged (given a fitted projection).

    **Known in advance** (:meth:`future_covariates`): texts flagged by the events' ``known_in_advance`` (planned
    promotions, holidays) cover every step whose period overlaps ``[start, end]`` (see ``step_label``); the output
    extends past the target end as far as the events do, and at least ``n`` steps.

    Parameters
    ----------
    events
        The texts and the names of their columns: a :class:`~darts_llm.dataprocessing.TextEvents`.
    series_key
        When the events have a ``key_col``: the name of the static covariate column (or ``metadata`` entry) of each
        target series that holds its key. ``keys=[...]`` on :meth:`fit` / :meth:`past_covariates` /
        :meth:`future_covariates` (one key per series) overrides it. A series whose key has no events gets the
        neutral values.
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
        Name used in messages.

    Notes
    -----
    Pickling stores the events, the fitted PCA, the projected vectors of the training texts and the encoder spec,
    never encoder weights; an unpickled embedder maps the texts it saw at fit time without loading the encoder.
    In a Darts ``Pipeline``, wrap it in a :class:`~darts_llm.dataprocessing.CovariateTransformer`.

    Examples
    --------
    >>> from darts_llm.dataprocessing import TextEvents, TextEventsEmbedder
    >>> reviews = TextEvents(frame, text_col="review", time_col="date", key_col="item_id")  # doctest: +SKIP
    >>> emb = TextEventsEmbedder(reviews, series_key="item_id", n_components=8)  # doctest: +SKIP
    >>> emb.fit(train_series)              # PCA fitted on texts visible within the training range  # doctest: +SKIP
    >>> past_full = emb.past_covariates(full_series)   # same projection, up to each series' end  # doctest: +SKIP
    """

    def __init__(
        self,
        events: TextEvents,
        series_key: str | None = None,
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
        check_events(events)
        check_projection(projection, n_components)
        check_cache(cache)
        if decay is not None and (isinstance(decay, bool) or not isinstance(decay, (int, float)) or not decay > 0):
            raise_log(ValueError(f"`decay` must be a positive half-life in steps or None, got {decay!r}."))
        if isinstance(max_steps_since, bool) or not isinstance(max_steps_since, (int, np.integer)) or max_steps_since < 1:
            raise_log(ValueError(f"`max_steps_since` must be a positive integer, got {max_steps_since!r}."))
        if step_label not in STEP_LABELS:
            raise_log(ValueError(f"`step_label` must be one of {STEP_LABELS}, got {step_label!r}."))
        if series_key is not None and not isinstance(series_key, str):
            raise_log(
                ValueError(f"`series_key` must be a static covariate / metadata name or None, got {series_key!r}.")
            )
        if not isinstance(prefix, str) or not prefix:
            raise_log(ValueError(f"`prefix` must be a non-empty string, got {prefix!r}."))
        self.events = events
        self.series_key = series_key
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
        self.projection_: TextProjection | None = None

    @property
    def fitted(self) -> bool:
        return self.projection_ is not None

    # ------------------------------------------------------------------------------------------------ series
    def _keys(self, series: Sequence[TimeSeries], keys: Sequence[Hashable] | None) -> list[Hashable]:
        found = series_keys(series, self.series_key, keys)
        if found is not None:
            return found
        if self.events.key_col is not None:
            raise_log(
                ValueError(
                    f"The events are keyed by events[{self.events.key_col!r}], so say which series is which: set "
                    f"`series_key` to the static covariate (or metadata entry) holding each series' key, or pass "
                    f"`keys=[...]` with one key per series."
                )
            )
        return [None] * len(series)

    def _check_series(self, series, events: ParsedEvents) -> list[TimeSeries]:
        seq = as_series_list(series)
        for idx, ts in enumerate(seq):
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
            Optionally, one key per series (overrides ``series_key``).

        Returns
        -------
        TextEventsEmbedder
            The fitted embedder.
        """
        events = self.events.parsed
        seq = self._check_series(series, events)
        series_keys_ = self._keys(seq, keys)
        rows: list[np.ndarray] = []
        matched = 0
        for ts, key in zip(seq, series_keys_):
            idx = events.rows_for(key)
            matched += bool(len(idx))
            last = as_int64(ts.time_index[-1:])[0]
            ok = np.where(events.known[idx], events.start[idx] <= last, events.end[idx] <= last)
            rows.append(idx[ok])
        if self.events.key_col is not None and matched == 0:
            sample = list(events.groups)[:5]
            raise_log(
                ValueError(
                    f"No series key matches events[{self.events.key_col!r}]: series keys {series_keys_[:5]} vs event "
                    f"keys {sample} (check `series_key`/`keys` and that both use the same type, e.g. str vs int)."
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
            name=f"events[{self.events.text_col!r}]",
        ).fit([events.texts[i] for i in used])
        return self

    # ------------------------------------------------------------------------------------------- covariates
    def past_covariates(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        events: TextEvents | None = None,
        keys: Sequence[Hashable] | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Past covariates: the texts that are not known in advance, on each series' own time index.

        Parameters
        ----------
        series
            Target series (one or a sequence); the output has exactly their time index.
        events
            Optionally, new events (a :class:`~darts_llm.dataprocessing.TextEvents` with the same kind of times)
            to use instead of the ones given at construction, e.g. with reviews that arrived since. New texts are
            encoded and projected with the fitted projection.
        keys
            Optionally, one key per series (overrides ``series_key``).

        Returns
        -------
        TimeSeries | list[TimeSeries]
            One covariate series per target series (a single one for a single input).
        """
        parsed = self._events_for(events)
        if (events or self.events).known_in_advance is True:
            raise_log(
                ValueError(
                    "Every event is known in advance (the events were built with known_in_advance=True), so there are "
                    "no past-covariate texts; call `future_covariates(series, n)` for future covariates."
                )
            )
        return self._run(series, parsed, keys, future=False, horizon=0)

    def future_covariates(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        n: int = 0,
        events: TextEvents | None = None,
        keys: Sequence[Hashable] | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Future covariates: the texts known in advance, covering the steps their periods overlap.

        Each output starts at its series' start and ends at the later of ``n`` steps after the series end and the
        last step a known-in-advance event covers, so it reaches the forecast horizon.

        Parameters
        ----------
        series
            Target series (one or a sequence).
        n
            Minimum number of steps after each series' end (e.g. the forecast horizon).
        events, keys
            As in :meth:`past_covariates`.

        Returns
        -------
        TimeSeries | list[TimeSeries]
            One covariate series per target series.
        """
        n = check_horizon(n)
        parsed = self._events_for(events)
        if (events or self.events).known_in_advance is False:
            raise_log(
                ValueError(
                    "No event is known in advance (the events were built with known_in_advance=False), so there are no "
                    "future-covariate texts; use "
                    "`past_covariates(series)`, or build the events with `TextEvents(..., known_in_advance=True)` / "
                    "a boolean column for planned texts."
                )
            )
        return self._run(series, parsed, keys, future=True, horizon=n)

    def _events_for(self, events: TextEvents | None) -> ParsedEvents:
        if events is None:
            return self.events.parsed
        check_events(events)
        if events.key_col is None and self.events.key_col is not None:
            raise_log(ValueError("`events` has no `key_col` but the events given at construction had one; keep "
                                 "the same columns (e.g. `embedder.events.with_data(new_frame)`)."))
        return events.parsed

    def _run(self, series, parsed: ParsedEvents, keys, future: bool, horizon: int):
        if self.projection_ is None:
            raise_log(ValueError(f"{self.name}: call `fit` before transforming series into covariates."))
        seq = self._check_series(series, parsed)
        keys_ = self._keys(seq, keys)
        per_series = []
        for key in keys_:
            idx = parsed.rows_for(key)
            per_series.append(idx[parsed.known[idx] == future])
        used = np.unique(np.concatenate(per_series)) if per_series else np.zeros(0, dtype=np.int64)
        vectors = np.zeros((len(parsed.texts), self.projection_.n_out_), dtype=np.float32)
        if len(used):
            vectors[used] = self.projection_.transform([parsed.texts[i] for i in used])
        settings = StepFeatures(self._n_back(), self.step_label, self.decay, self.max_steps_since, self.prefix)
        out = [settings.covariates(ts, parsed, idx, vectors, future, horizon) for ts, idx in zip(seq, per_series)]
        return out[0] if isinstance(series, TimeSeries) else out

    # ------------------------------------------------------------------------------------------- misc
    @property
    def components(self) -> list[str]:
        """Names of the output components (known after fit)."""
        self.check_fitted()
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
            f"{self.name}(events={self.events!r}, series_key={self.series_key!r}, decay={self.decay}, "
            f"fitted={self.fitted})"
        )


def check_events(events: Any) -> None:
    """A ``ValueError`` that says how to build a :class:`TextEvents` when ``events`` is not one."""
    if isinstance(events, TextEvents):
        return
    hint = ""
    if isinstance(events, pd.DataFrame):
        hint = (
            f" Wrap the table and name its columns, e.g. `TextEvents(frame, text_col=..., time_col=...)` or "
            f"`TextEvents(frame, text_col=..., start_col=..., end_col=..., key_col=...)` (its columns are "
            f"{list(events.columns)})."
        )
    raise_log(ValueError(f"`events` must be a darts_llm.dataprocessing.TextEvents, got {type(events).__name__}.{hint}"))
