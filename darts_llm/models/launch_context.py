"""What the shop sold just before a launch: the demand context of a launch level.

A product launched in a busy season, or among products that sell well at that time, tends to sell more. The
:class:`DemandContext` keeps every training product's ``log1p`` sales on one time grid and answers, for a time
``t`` and a product, two numbers from the ``window`` steps before ``t`` only: the mean sales of every product on
sale then (the shop's level) and of the ``k`` products most similar to it that were on sale then (its neighbours'
level). Both enter the ridge scale of :class:`~darts_llm.models.launch_model.LaunchForecastingModel`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from darts import TimeSeries
from darts.utils.serialization import add_safe_globals

from darts_llm.models.launch_curves import launch_of, time_value

__all__ = ["DemandContext"]


@dataclass
class DemandContext:
    """Every training product's ``log1p`` sales on one grid of int64 times (NaN before its first sale).

    Attributes
    ----------
    grid
        Sorted int64 times (see :func:`~darts_llm.models.launch_curves.time_value`).
    values
        ``(products, len(grid))`` ``log1p`` sales.
    window
        Number of steps before a time that make its context.
    """

    grid: np.ndarray
    values: np.ndarray
    window: int = 4

    @classmethod
    def from_series(cls, series: Sequence[TimeSeries], window: int = 4) -> DemandContext:
        stamps = [np.array([time_value(t) for t in s.time_index], dtype=np.int64) for s in series]
        grid = np.unique(np.concatenate(stamps))
        values = np.full((len(series), len(grid)), np.nan)
        for row, (s, times) in enumerate(zip(series, stamps)):
            sales = s.values(copy=False)[:, 0].astype(np.float64)
            logged = np.log1p(np.clip(sales, 0.0, None))
            first = launch_of(s).position
            # before its first sale a product is not on sale (zero padding, products not launched yet)
            logged[: len(logged) if first is None else first] = np.nan
            values[row, np.searchsorted(grid, times)] = logged
        return cls(grid, values, window)

    def _recent(self, cutoff: int) -> np.ndarray:
        """Each product's mean sales over the ``window`` grid steps before ``cutoff`` (NaN: not on sale)."""
        end = int(np.searchsorted(self.grid, cutoff, side="left"))
        block = self.values[:, max(0, end - self.window) : end]
        if block.shape[1] == 0:
            return np.full(len(self.values), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # products not on sale: all-NaN rows
            return np.nanmean(block, axis=1)

    def levels(self, cutoffs: Sequence[int], similarity: np.ndarray | None, k: int) -> np.ndarray:
        """``(queries, 2)``: the shop's level and the neighbours' level before each query's cutoff.

        Parameters
        ----------
        cutoffs
            One int64 time per query.
        similarity
            ``(queries, products)`` similarity to the training products, or ``None`` (the neighbours' level is
            then the shop's).
        k
            Number of neighbours on sale before the cutoff.
        """
        out = np.zeros((len(cutoffs), 2))
        recent_by_cutoff: dict[int, np.ndarray] = {}
        for row, cutoff in enumerate(cutoffs):
            recent = recent_by_cutoff.get(cutoff)
            if recent is None:
                recent = recent_by_cutoff.setdefault(cutoff, self._recent(cutoff))
            active = np.isfinite(recent)
            if not active.any():
                continue
            shop = float(recent[active].mean())
            neighbours = shop
            if similarity is not None:
                sims = np.where(active, similarity[row], -np.inf)
                top = np.argpartition(sims, -min(k, int(active.sum())))[-min(k, int(active.sum())) :]
                neighbours = float(recent[top].mean())
            out[row] = shop, neighbours
        return out


add_safe_globals([DemandContext])
