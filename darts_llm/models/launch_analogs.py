"""Choosing and averaging the analogs of a product: the earlier launches most similar to it, known before a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts.logging import raise_log

__all__ = ["LaunchAnalogsMixin"]


class LaunchAnalogsMixin:
    """The analog side of :class:`~darts_llm.models.launch_model.LaunchForecastingModel` (its ``_library``,
    ``_launch_rows``, ``_training_static``, ``n_analogs`` and ``temperature``)."""

    def _training_similarity(self, rows: np.ndarray) -> np.ndarray:
        """Similarities of the training products ``rows`` to all training products (subclasses may reuse what
        their fit computed instead of reading the static covariates again)."""
        return self._similarity(self._training_static.iloc[rows])

    def _weights(self, similarity: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """Weights of the ``n_analogs`` most similar eligible launches (ties at the boundary included)."""
        sims = np.where(eligible, similarity, -np.inf)
        count = int(eligible.sum())
        if count == 0:
            return np.zeros_like(similarity)
        k = min(self.n_analogs, count)
        threshold = np.partition(sims, -k)[-k]
        chosen = eligible & (sims >= threshold)
        if self.temperature is None:
            weights = chosen.astype(float)
        else:
            weights = np.where(chosen, np.exp((similarity - similarity[chosen].max()) / self.temperature), 0.0)
        return weights / weights.sum()

    def _leave_one_out_levels(self, levels: np.ndarray, limit: int = 3000) -> np.ndarray:
        """Each training launch's analog level, computed without itself: how far an analog prior misses."""
        rows = np.flatnonzero(np.isfinite(levels))
        if len(rows) > limit:
            rows = np.sort(np.random.default_rng(0).choice(rows, limit, replace=False))
        similarity = self._training_similarity(self._launch_rows[rows])[:, self._launch_rows]
        out = np.full(len(levels), np.nan)
        eligible = np.isfinite(levels)
        for row, sims in zip(rows, similarity):
            mask = eligible.copy()
            mask[row] = False
            out[row] = self._weights(sims, mask) @ np.nan_to_num(levels)
        return out

    def _analog_curve(self, similarity: np.ndarray, cutoff: int, ages: np.ndarray):
        """The analogs' weights, level, shape at ``ages`` and deviations, from what is known before ``cutoff``."""
        library = self._library
        known = library.known(cutoff)
        levels = library.levels(known)
        eligible = np.isfinite(levels)
        if not eligible.any():
            start = pd.Timestamp(cutoff) if not isinstance(self._freq, int | np.integer) else cutoff
            raise_log(
                ValueError(
                    f"No training launch has {self.level_ages} steps before {start}: {type(self).__name__} cannot "
                    f"forecast from there. Forecast later, or lower `level_ages`."
                )
            )
        weights = self._weights(similarity, eligible)
        shapes = library.shapes(known, np.where(eligible, levels, 0.0))
        capped = np.minimum(ages, library.max_age - 1)
        at_ages = shapes[:, capped]
        chosen = weights > 0
        shape = _weighted_nanmean(at_ages[chosen], weights[chosen])
        missing = np.isnan(shape)
        if missing.any():  # no chosen analog reached these ages before the cutoff: all eligible launches
            fallback = _weighted_nanmean(at_ages[eligible], np.ones(eligible.sum()))
            shape = np.where(missing, fallback, shape)
        shape = _fill_forward(shape)
        deviations = at_ages[chosen] - shape[None]
        level = float(weights[chosen] @ levels[chosen])
        return weights, level, shape, deviations, weights[chosen]

    def _analog_levels(self, similarity: np.ndarray, cutoffs: Sequence[int]) -> np.ndarray:
        """Each query's analog level from the launches known before its cutoff (the mean training level when
        none is known: the earliest launches of a training set)."""
        by_cutoff: dict[int, np.ndarray] = {}
        out = np.full(len(cutoffs), np.nan)
        for row, cutoff in enumerate(cutoffs):
            levels = by_cutoff.get(cutoff)
            if levels is None:
                levels = by_cutoff.setdefault(cutoff, self._library.levels(self._library.known(cutoff)))
            eligible = np.isfinite(levels)
            if eligible.any():
                out[row] = self._weights(similarity[row], eligible) @ np.nan_to_num(levels)
        if self._fallback_level is None:
            self._fallback_level = float(np.nanmean(out)) if np.isfinite(out).any() else 0.0
        return np.where(np.isfinite(out), out, self._fallback_level)


def _weighted_nanmean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column means of ``values`` (rows weighted, NaN skipped); NaN where a column has no value."""
    present = np.isfinite(values)
    total = (np.where(present, values, 0.0) * weights[:, None]).sum(0)
    mass = (present * weights[:, None]).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)


def _fill_forward(values: np.ndarray) -> np.ndarray:
    """NaN replaced by the last value before it (the first value after it at the start; 0 if none)."""
    out = values.copy()
    finite = np.flatnonzero(np.isfinite(out))
    if not len(finite):
        return np.zeros_like(out)
    out[: finite[0]] = out[finite[0]]
    for i in range(finite[0] + 1, len(out)):
        if np.isnan(out[i]):
            out[i] = out[i - 1]
    return out
