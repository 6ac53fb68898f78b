"""Which (origin, product) pairs are forecast: the warm and cold-start cohorts, and the launch tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.panels import Panel


@dataclass
class Instances:
    """One row per (origin, product) to forecast.

    ``frame`` has the columns ``origin`` (timestamp), ``o`` (its week position), ``idx`` (product), ``cohort`` and
    ``history`` (weeks of sales before the origin); ``actual`` holds the ``horizon`` weeks from the origin.
    """

    frame: pd.DataFrame
    actual: np.ndarray
    horizon: int

    def mask(self, cohort: str, min_history: int = 0, max_history: int | None = None) -> np.ndarray:
        """Rows of ``cohort`` whose weeks of history lie in ``[min_history, max_history]``."""
        fr = self.frame
        out = (fr.cohort == cohort).to_numpy() & (fr.history >= min_history).to_numpy()
        if max_history is not None:
            out &= (fr.history <= max_history).to_numpy()
        return out


def warm_sample(panel: Panel, first_origin: int, min_history: int, size: int, seed: int) -> np.ndarray:
    """A fixed seeded sample of products with ``min_history`` weeks before ``first_origin`` and a sale in them."""
    recent = np.nan_to_num(panel.values[:, first_origin - min_history : first_origin]).sum(1)
    eligible = np.flatnonzero((panel.launch <= first_origin - min_history) & (recent > 0))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, size=min(size, len(eligible)), replace=False))


def new_products(panel: Panel, origin: int, weeks: int | range) -> np.ndarray:
    """Products first sold exactly ``weeks`` weeks (or any number in a range) before week ``origin``."""
    weeks = range(weeks, weeks + 1) if isinstance(weeks, int) else weeks
    history = origin - panel.launch
    return np.flatnonzero(~panel.censored & (history >= weeks.start) & (history < weeks.stop))


def rolling_instances(
    panel: Panel, origins: list[pd.Timestamp], warm: np.ndarray, cold_max_history: int, horizon: int
) -> Instances:
    """The warm sample at every origin, plus the products launched 0..``cold_max_history`` weeks before it."""
    rows = []
    for origin in origins:
        o = panel.week(origin)
        rows += [(origin, o, i, "warm", o - panel.launch[i]) for i in warm]
        rows += [(origin, o, i, "cold", o - panel.launch[i]) for i in new_products(panel, o, range(cold_max_history + 1))]
    frame = pd.DataFrame(rows, columns=["origin", "o", "idx", "cohort", "history"])
    actual = np.stack([panel.values[r.idx, r.o : r.o + horizon] for r in frame.itertuples()])
    return Instances(frame, actual, horizon)


def earlier_launches(panel: Panel, origin: int, weeks_needed: int) -> np.ndarray:
    """Launched products whose first ``weeks_needed`` weeks all lie before week ``origin``."""
    return np.flatnonzero(~panel.censored & (panel.launch + weeks_needed <= origin))
