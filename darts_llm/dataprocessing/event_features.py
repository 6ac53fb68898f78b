"""Per-step covariate values of one series from the texts that land on its time index.

:mod:`~darts_llm.dataprocessing.alignment` says at which step each text lands; :class:`StepFeatures` pools what
landed into the embedding, count and steps-since columns. Every operation runs forward in the step axis (sums per
step, a causal decay filter, a running maximum), so a value at a step depends on the texts that landed at or
before it only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from darts import TimeSeries

from darts_llm.dataprocessing.alignment import covered_steps, extended_grid, visible_step
from darts_llm.dataprocessing.events import ParsedEvents


@dataclass(frozen=True)
class StepFeatures:
    """How landed texts become per-step values.

    Attributes
    ----------
    n_back
        Steps of the grid before the series start (texts from before it count with their true age).
    step_label
        ``"start"`` or ``"end"``: what a label means, for the steps a known-in-advance period covers.
    decay
        Half-life in steps of the embedding mix, or ``None`` (only the texts of the step).
    max_steps_since
        Cap of the steps-since column, and its value before any text.
    prefix
        Prefix of the component names.
    """

    n_back: int
    step_label: str
    decay: float | None
    max_steps_since: int
    prefix: str

    def covariates(
        self, ts: TimeSeries, events: ParsedEvents, idx: np.ndarray, vectors: np.ndarray, future: bool, horizon: int
    ) -> TimeSeries:
        """The covariates of one series from the events ``idx`` (rows of ``events``) and their vectors.

        Past events land at their visible step, known-in-advance ones (``future``) cover the steps their period
        overlaps and may reach past the series end (at least ``horizon`` steps).
        """
        n_back = self.n_back
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
        features = self.features(sums, counts)
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

    def features(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
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

