"""Where a timestamped text lands on a series' time index.

The rules (they hold for any ``DatetimeIndex`` frequency and for integer ``RangeIndex`` series):

- **Visible step.** A text stamped ``t`` first becomes visible at the *first step whose label is* ``>= t``
  (``index.searchsorted(t, side="left")``). A text is therefore never visible at a step whose label precedes it,
  whatever the labels mean:

  - labels at the **end** of their period (pandas ``W-SUN`` from ``resample("W")``, ``ME``, ``QE``): the text
    lands in the step whose period ``(previous label, label]`` contains it;
  - labels at the **start** of their period (``MS``, a weekly index of Mondays, daily): a text written during
    the period ``[label, next label)`` lands in the *next* step, because its own step's label precedes it;
    only a text stamped exactly on a label is visible at that step.

  Timestamps compare as instants: a date without time is midnight, so a text dated ``2024-03-01`` is visible at
  a daily step ``2024-03-01`` or at a monthly step labelled ``2024-03-01``, while ``2024-03-01 14:00`` is visible
  from the next day / month.
- **Periods.** A text about a period ``[start, end]`` (a monthly report) is visible from the visible step of
  ``end``: nothing written about a period leaks into the steps before the period is over.
- **Known in advance** (planned promotions): the text covers every step whose period overlaps ``[start, end]``.
  This needs to know what a label means (``step_label``): with ``"start"`` a step covers ``[label, next label)``,
  with ``"end"`` it covers ``(previous label, label]``.

Steps are counted on the series' own grid extended backwards and forwards with its frequency, so texts from before
the series start count with their true age and known-in-advance texts can reach past the series end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STEP_LABELS = ("start", "end")


def extended_grid(index: pd.Index, freq, n_back: int, until: int | None = None, n_forward: int = 0) -> np.ndarray:
    """Labels of ``index`` extended by ``n_back`` steps before and at least ``n_forward`` steps after it.

    Parameters
    ----------
    index
        The series' ``DatetimeIndex`` or ``RangeIndex``.
    freq
        The series' frequency (a pandas offset, or the integer step of a ``RangeIndex``).
    n_back
        Steps to add before the first label.
    until
        Optionally, keep extending forward until the last label is ``>= until`` (an int64 time as returned by
        :func:`as_int64`).
    n_forward
        Minimum number of steps to add after the last label.

    Returns
    -------
    np.ndarray
        int64 labels (nanoseconds since the epoch for datetimes), sorted, with ``index`` at positions
        ``n_back .. n_back + len(index) - 1``.
    """
    labels = as_int64(index)
    if isinstance(index, pd.DatetimeIndex):
        back = as_int64(pd.date_range(end=index[0], periods=n_back + 1, freq=freq))[:-1] if n_back else labels[:0]
        n = max(n_forward, 0)
        while True:
            fwd = as_int64(pd.date_range(start=index[-1], periods=n + 1, freq=freq))[1:] if n else labels[:0]
            if until is None or (len(fwd) and fwd[-1] >= until) or (not len(fwd) and labels[-1] >= until):
                break
            n = max(2 * n, 8)
        if until is not None and len(fwd):  # trim the doubling's overshoot: stop at the first label >= until
            fwd = fwd[: max(int(np.searchsorted(fwd, until, side="left")) + 1, n_forward)]
    else:
        step = int(freq)
        back = labels[0] - step * np.arange(n_back, 0, -1, dtype=np.int64)
        n = max(n_forward, 0)
        if until is not None and until > labels[-1]:
            n = max(n, int(-(-(until - labels[-1]) // step)))
        fwd = labels[-1] + step * np.arange(1, n + 1, dtype=np.int64)
    return np.concatenate([back, labels, fwd]).astype(np.int64)


def as_int64(times) -> np.ndarray:
    """int64 view of times: nanoseconds for datetimes (any unit), the values for integers."""
    if isinstance(times, (pd.DatetimeIndex, pd.Series)) and pd.api.types.is_datetime64_any_dtype(times):
        return pd.DatetimeIndex(times).as_unit("ns").asi8.astype(np.int64)
    return np.asarray(times, dtype=np.int64)


def visible_step(grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Position of the first label ``>= t`` for each time (``len(grid)`` when after the last label)."""
    return np.searchsorted(grid, times, side="left")


def covered_steps(grid: np.ndarray, start: np.ndarray, end: np.ndarray, step_label: str) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions (inclusive) of the steps whose period overlaps ``[start, end]``.

    An event that overlaps no step of the grid gets ``first > last``.
    """
    if step_label == "start":  # step i covers [grid[i], grid[i+1])
        first = np.maximum(np.searchsorted(grid, start, side="right") - 1, 0)
        last = np.searchsorted(grid, end, side="right") - 1
    else:  # step i covers (grid[i-1], grid[i]]
        first = np.searchsorted(grid, start, side="left")
        last = np.minimum(np.searchsorted(grid, end, side="left"), len(grid) - 1)
    return first, last
