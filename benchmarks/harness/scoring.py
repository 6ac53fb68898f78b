"""The metrics of the benchmark tables, pooled as the protocol says, from ``darts.metrics``.

- MAE and WAPE pool every horizon step of every (origin, product) forecast (``darts_llm.evaluation``).
- MASE is Darts' ``mase`` per forecast, scaled by the mean absolute one-week change of the product's own history
  before the origin, then averaged; forecasts whose history has < 2 weeks or never changes have no scale and are
  left out.
- wQL is ``darts_llm.evaluation.pooled_wql`` over the quantile levels; bias is sum(forecast) / sum(actual).

A subset with any missing forecast (a model that cannot forecast some products) scores NaN (``n/a``).
"""

from __future__ import annotations

import numpy as np
from darts import TimeSeries
from darts.metrics import mase

from darts_llm.evaluation import pooled_mae, pooled_wape, pooled_wql
from harness.cohorts import Instances
from harness.panels import Panel

METRICS = ("MAE", "WAPE", "MASE", "wQL", "Bias")


def has_mase_scale(panel: Panel, inst: Instances) -> np.ndarray:
    """Rows whose own history before the origin has >= 2 weeks and changes at least once."""
    out = np.zeros(len(inst.frame), dtype=bool)
    for n, r in enumerate(inst.frame.itertuples()):
        history = panel.history(r.idx, r.o)
        out[n] = len(history) >= 2 and bool(np.any(np.diff(history) != 0))
    return out


def mean_mase(panel: Panel, inst: Instances, pred: np.ndarray, rows: np.ndarray) -> float:
    """Darts' ``mase`` of each forecast in ``rows``, averaged (``rows`` must have a MASE scale)."""
    values = []
    frame = inst.frame.iloc[rows]
    for o, group in frame.groupby("o").indices.items():
        sel = rows[group]
        idx = frame["idx"].to_numpy()[group]
        times = panel.times[o : o + inst.horizon]
        actual = TimeSeries.from_times_and_values(times, inst.actual[sel].T)
        forecast = TimeSeries.from_times_and_values(times, pred[sel].T)
        insample = TimeSeries.from_times_and_values(panel.times[:o], panel.values[idx, :o].T)
        values.append(mase(actual, forecast, insample, component_reduction=None))
    return float(np.mean(np.concatenate(values))) if values else float("nan")


def score(panel: Panel, inst: Instances, pred: np.ndarray, quant: np.ndarray | None, quantiles, mask: np.ndarray,
          mase_ok: np.ndarray) -> dict:
    """MAE, WAPE %, MASE, wQL and bias of the forecasts ``pred`` (rows of ``inst``) on the rows in ``mask``."""
    p, a = pred[mask], inst.actual[mask]
    out = {name: float("nan") for name in METRICS}
    out["n"] = int(mask.sum())
    if not mask.any() or np.isnan(p).any():
        return out
    out.update(MAE=pooled_mae(a, p), WAPE=pooled_wape(a, p), Bias=float(p.sum() / a.sum()))
    rows = np.flatnonzero(mask & mase_ok)
    if len(rows):
        out["MASE"] = mean_mase(panel, inst, pred, rows)
    if quant is not None and not np.isnan(quant[mask]).any():
        out["wQL"] = pooled_wql(a, quant[mask], quantiles)
    return out


def wape_by_horizon(inst: Instances, pred: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pooled WAPE % of each horizon step (NaN where a forecast is missing)."""
    p, a = pred[mask], inst.actual[mask]
    return np.array([pooled_wape(a[:, h : h + 1], p[:, h : h + 1]) for h in range(inst.horizon)])
