"""Choosing and averaging the analogs of a product: the earlier launches most similar to it, known before a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from darts.logging import raise_log

from darts_llm.models.launch_curves import SeriesLaunch, time_value
from darts_llm.models.launch_scale import launch_features, shrunk_mean

__all__ = ["QUERY_CHUNK", "LaunchAnalogsMixin"]

#: Queries whose similarities to every training product are held at once (``QUERY_CHUNK`` x products floats):
#: catalogues of any size are compared a chunk at a time.
QUERY_CHUNK = 1024


class LaunchAnalogsMixin:
    """The analog side of :class:`~darts_llm.models.launch_model.LaunchForecastingModel` (its ``_library``,
    ``_launch_rows``, ``_training_static``, ``_context``, ``_prior``, ``_recency``, ``scale``, ``n_analogs`` and
    ``temperature``): which earlier launches are a product's analogs, what they say, and the ridge features."""

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
        if self._recency is not None:  # recent launches count more (``recency_half_life``)
            recent = weights * self._recency
            # analogs all so old that their weights underflow: weighed alike rather than not at all
            weights = recent if recent.sum() > 0 else weights
        return weights / weights.sum()

    def _leave_one_out_levels(self, levels: np.ndarray, limit: int = 3000) -> np.ndarray:
        """Each training launch's analog level, computed without itself: how far an analog prior misses."""
        rows = np.flatnonzero(np.isfinite(levels))
        if len(rows) > limit:
            rows = np.sort(np.random.default_rng(0).choice(rows, limit, replace=False))
        out = np.full(len(levels), np.nan)
        eligible = np.isfinite(levels)
        for lo in range(0, len(rows), QUERY_CHUNK):
            chunk = rows[lo : lo + QUERY_CHUNK]
            similarity = self._training_similarity(self._launch_rows[chunk])[:, self._launch_rows]
            for row, sims in zip(chunk, similarity):
                mask = eligible.copy()
                mask[row] = False
                out[row] = self._weights(sims, mask) @ np.nan_to_num(levels)
        return out

    # ------------------------------------------------------------------------------------------ queries
    def _features(self, static: pd.DataFrame, launch_times: pd.Index,
                  similarity_of: Callable[[int, int], np.ndarray] | None = None) -> list[np.ndarray]:
        """The ridge scale's feature blocks: the subclass' blocks, the demand context and the analogs' level.

        ``similarity_of(lo, hi)`` gives the similarities of rows ``lo:hi`` of ``static`` to all training products
        (default: :meth:`_similarity`); they are computed :data:`QUERY_CHUNK` rows at a time.
        """
        if similarity_of is None:
            similarity_of = lambda lo, hi: self._similarity(static.iloc[lo:hi])  # noqa: E731
        cutoffs = [time_value(t) for t in launch_times]
        context, analogs = [], []
        for lo in range(0, len(static), QUERY_CHUNK):
            hi = min(lo + QUERY_CHUNK, len(static))
            similarity = similarity_of(lo, hi)
            context.append(self._context.levels(cutoffs[lo:hi], similarity if self._has_similarity else None,
                                                self.n_analogs))
            analogs.append(self._analog_levels(similarity[:, self._launch_rows], cutoffs[lo:hi]))
        levels = np.concatenate(analogs)
        if self._fallback_level is None:  # set at the fit, from all training launches
            self._fallback_level = float(np.nanmean(levels)) if np.isfinite(levels).any() else 0.0
        levels = np.where(np.isfinite(levels), levels, self._fallback_level)
        return [*launch_features(self._scale_inputs(static)), np.column_stack([np.concatenate(context), levels])]

    def _recent_offset(self, features: list[np.ndarray] | None, end: int, step: int) -> float:
        """How far the level prior misses the launches of the last ``level_ages`` steps before ``end``.

        Each such launch is forecast as a new product at its own launch (its analogs and the scale's inputs as known
        then, the scale's regression the fitted one; the oldest of these launches are complete and so also among
        the regression's own launches) and compared with its observed first steps; the mean miss, shrunk towards 0
        by its standard error over launch times (:func:`~darts_llm.models.launch_scale.shrunk_mean`), is what the
        prior has drifted.
        """
        library = self._library
        launch_times = library.age_times[:, 0]
        recent = np.flatnonzero(launch_times > end - self.level_ages * step)
        design = None if features is None else self._prior.design(features)
        misses, groups = [], []
        for lo in range(0, len(recent), QUERY_CHUNK):
            chunk = recent[lo : lo + QUERY_CHUNK]
            similarity = self._training_similarity(self._launch_rows[chunk])[:, self._launch_rows]
            for row, sims in zip(chunk, similarity):
                cutoff = int(launch_times[row])
                if not np.isfinite(library.levels(library.known(cutoff))).any():
                    continue  # no launch was complete when this one began: nothing to forecast it from
                ages = np.flatnonzero(np.isfinite(library.curves[row]))
                _, analog_level, shape, _, _ = self._analog_curve(sims, cutoff, ages)
                prior, _ = self._prior.predict(analog_level, None if design is None else design[row : row + 1])
                misses.append(float(np.mean(library.curves[row, ages] - prior - shape)))
                groups.append(cutoff)
        return shrunk_mean(np.asarray(misses), np.asarray(groups)) if misses else 0.0

    @property
    def _has_similarity(self) -> bool:
        """Whether :meth:`_similarity` tells products apart (the neighbours' level is the shop's otherwise)."""
        return True

    def _query(self, static: pd.DataFrame, launches: Sequence[SeriesLaunch]):
        """Similarity to the training launches, and the ridge design rows (``None`` for the analog scale)."""
        similarity = self._similarity(static)
        if self.scale != "ridge":
            return similarity[:, self._launch_rows], None
        # a product's launch is its age before the first forecast step (that step itself when not sold yet)
        launch_times = pd.Index([launch.start - launch.age * self._freq for launch in launches])
        design = self._prior.design(self._features(static, launch_times, lambda lo, hi: similarity[lo:hi]))
        return similarity[:, self._launch_rows], design

    def _each_query(self, static: pd.DataFrame, launches: Sequence[SeriesLaunch]) -> Iterator[tuple]:
        """Per query: its similarity to the training launches and its ridge design row (or ``None``), computed
        :data:`QUERY_CHUNK` queries at a time."""
        for lo in range(0, len(launches), QUERY_CHUNK):
            similarity, design = self._query(static.iloc[lo : lo + QUERY_CHUNK], launches[lo : lo + QUERY_CHUNK])
            for j, sims in enumerate(similarity):
                yield sims, None if design is None else design[j : j + 1]

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
        """Each query's analog level from the launches known before its cutoff (NaN when none is known: the
        earliest launches of a training set; :meth:`_features` fills in the mean training level)."""
        by_cutoff: dict[int, np.ndarray] = {}
        out = np.full(len(cutoffs), np.nan)
        for row, cutoff in enumerate(cutoffs):
            levels = by_cutoff.get(cutoff)
            if levels is None:
                levels = by_cutoff.setdefault(cutoff, self._library.levels(self._library.known(cutoff)))
            eligible = np.isfinite(levels)
            if eligible.any():
                out[row] = self._weights(similarity[row], eligible) @ np.nan_to_num(levels)
        return out


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
