"""Sales aligned on the age of a product (steps since its first sale): the library of earlier launches.

A launch curve is a product's ``log1p`` sales at ages ``0, 1, ...`` after its launch. :class:`LaunchLibrary`
holds the curves of the training products, the calendar time of every age (so that a forecast made at time
``t`` only reads the weeks that lie before ``t``), and each curve's *level*: its mean over the first
``level_ages`` ages. A curve is its level (how much the product sells) plus its *shape* (how its sales move
with age, relative to that level); the models of :mod:`darts_llm.models.launch_model` forecast the two apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.utils.serialization import add_safe_globals

__all__ = ["LaunchLibrary", "SeriesLaunch", "future_index", "launch_bound", "launch_of", "time_grid", "time_value"]


def future_index(series: TimeSeries, n: int) -> pd.Index:
    """The ``n`` time steps after the end of ``series``."""
    start = series.end_time() + series.freq
    if isinstance(series.freq, int | np.integer):
        return pd.RangeIndex(start, start + n * series.freq, series.freq)
    return pd.date_range(start, periods=n, freq=series.freq)


def time_grid(start, freq, periods: int) -> np.ndarray:
    """``periods`` times from ``start`` on ``freq``, as int64 (nanoseconds for timestamps, the values for ranges)."""
    if isinstance(freq, int | np.integer):
        return int(start) + int(freq) * np.arange(periods, dtype=np.int64)
    # nanoseconds whatever the index's resolution (pandas 3 may build microsecond indexes), as ``time_value``
    return pd.date_range(pd.Timestamp(start), periods=periods, freq=freq).as_unit("ns").asi8


def time_value(t) -> int:
    """A time of a series' index as int64 nanoseconds (its value for integer indexes), comparable with :func:`time_grid`."""
    if isinstance(t, int | np.integer):
        return int(t)
    return pd.Timestamp(t).as_unit("ns").value


def launch_bound(reference: TimeSeries, bound) -> int:
    """``launches_after`` as a :func:`time_value` for series like ``reference`` (a clear error when it is not)."""
    if isinstance(reference.freq, int | np.integer):
        if not isinstance(bound, int | np.integer):
            raise ValueError(f"`launches_after` must be an integer for series with a range index, got {bound!r}.")
        return int(bound)
    try:
        return time_value(pd.Timestamp(bound))
    except (TypeError, ValueError):
        raise ValueError(f"`launches_after` must be a timestamp (or None), got {bound!r}.") from None


@dataclass(frozen=True)
class SeriesLaunch:
    """Where a series' launch lies.

    Attributes
    ----------
    position
        Index of the first sale in the series (``None``: no sale yet).
    observed
        ``log1p`` sales at ages ``0 .. age-1`` (NaN where missing).
    start
        The time of the step after the series' end: the first forecast step.
    """

    position: int | None
    observed: np.ndarray
    start: object

    @property
    def age(self) -> int:
        """The product's age at the first forecast step (0 for a product without a sale yet)."""
        return len(self.observed)


def launch_of(series: TimeSeries) -> SeriesLaunch:
    """The launch of a univariate series: its first finite, positive value (negative values count as 0)."""
    values = series.values(copy=False)[:, 0].astype(np.float64)
    sold = np.flatnonzero(np.isfinite(values) & (values > 0))
    start = series.end_time() + series.freq
    if not len(sold):
        return SeriesLaunch(None, np.zeros(0), start)
    first = int(sold[0])
    return SeriesLaunch(first, np.log1p(np.clip(values[first:], 0.0, None)), start)


@dataclass
class LaunchLibrary:
    """Earlier launches, aligned on age.

    Attributes
    ----------
    curves
        ``(launches, max_age)`` ``log1p`` sales by age; NaN where not observed.
    age_times
        ``(launches, max_age)`` int64 calendar time of every age (see :func:`time_grid`).
    level_ages
        Number of first ages whose mean is a curve's level.
    """

    curves: np.ndarray
    age_times: np.ndarray
    level_ages: int

    @classmethod
    def from_launches(
        cls, launches: Sequence[tuple[TimeSeries, SeriesLaunch]], max_age: int, level_ages: int
    ) -> LaunchLibrary:
        curves = np.full((len(launches), max_age), np.nan)
        times = np.zeros((len(launches), max_age), dtype=np.int64)
        for row, (series, launch) in enumerate(launches):
            observed = launch.observed[:max_age]
            curves[row, : len(observed)] = observed
            times[row] = time_grid(series.time_index[launch.position], series.freq, max_age)
        return cls(curves, times, level_ages)

    def __len__(self) -> int:
        return len(self.curves)

    @property
    def max_age(self) -> int:
        return self.curves.shape[1]

    def known(self, cutoff: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Ages observed strictly before ``cutoff`` (int64 time): a boolean ``(rows, max_age)`` mask."""
        return np.isfinite(self.curves[rows]) & (self.age_times[rows] < cutoff)

    def levels(self, known: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The level of each curve from its known ages; NaN unless all of its first ``level_ages`` are known."""
        head = known[:, : self.level_ages]
        curves = self.curves[rows][:, : self.level_ages]
        full = head.all(axis=1)
        out = np.full(len(curves), np.nan)
        out[full] = curves[full].mean(axis=1)
        return out

    def shapes(self, known: np.ndarray, levels: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Each curve minus its level at its known ages (NaN elsewhere)."""
        return np.where(known, self.curves[rows] - levels[:, None], np.nan)

    def recency(self, end: int, step: int, half_life: float) -> np.ndarray:
        """Each launch's weight ``0.5 ** (steps from its first sale to end / half_life)``: recent launches count
        more where launches grow or shrink over time (``step``: one step of the series' frequency, in the units of
        :func:`time_grid`; an average step for uneven ones such as calendar months)."""
        steps = (end - self.age_times[:, 0]) / max(step, 1)
        return np.power(0.5, np.clip(steps, 0.0, None) / half_life)

    def week_noise(self) -> float:
        """Variance of one age's ``log1p`` sales around the curve's level plus the mean shape.

        The observation noise of one week when a new product's first weeks update its level.
        """
        known = np.isfinite(self.curves)
        levels = self.levels(known)
        usable = np.isfinite(levels)
        if usable.sum() < 2:
            return 1.0
        shapes = self.shapes(known[usable], levels[usable], np.flatnonzero(usable))[:, : self.level_ages]
        deviation = shapes - np.nanmean(shapes, axis=0, keepdims=True)
        ddof = self.level_ages / max(self.level_ages - 1, 1)  # each curve's level uses up one degree of freedom
        return float(max(np.nanvar(deviation) * ddof, 1e-6))


add_safe_globals([LaunchLibrary])
