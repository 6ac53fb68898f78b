"""Fit once, forecast every origin: global models, local baselines and ensembles on a panel.

Global models are fitted once per seed on the weeks before the first origin and forecast every origin without
refitting (Darts' ``historical_forecasts(retrain=False)`` semantics, done with ``predict`` per origin, because
each origin forecasts a different set of products). Each run returns arrays aligned with the rows of
:class:`~harness.cohorts.Instances`: ``pred`` (median forecast in units) and ``quant`` (the quantiles).
"""

from __future__ import annotations

import time

import numpy as np
from darts import TimeSeries

from harness import covariates as cov
from harness.cohorts import Instances
from harness.panels import Panel
from harness.specs import EnsembleSpec, ModelSpec


class PanelInputs:
    """The Darts inputs of the global models (cached): targets per static variant and covariates per name."""

    def __init__(self, panel: Panel, pad: int, neighbours: dict | None = None, pca_components: int = 16):
        self.panel, self.pad = panel, pad
        self.neighbour_kwargs = neighbours or {}
        self.pca_components = pca_components
        self._age: dict[int, TimeSeries] = {}
        self._nbr: dict[str, list[TimeSeries]] = {}
        self._pca: dict[str, object] = {}
        self._targets: dict = {}

    def target(self, i: int, end: int, static: str) -> TimeSeries:
        """Product ``i`` before week ``end``; ``static``: ``num`` or a text mode (see :mod:`harness.specs`)."""
        text = None if static == "num" else self.panel.texts[static][i]
        return cov.padded_target(self.panel, i, end, self.pad, cov.static_frame(self.panel, i, text))

    def targets(self, idx, end: int, static: str, pca_train: list[int] | None = None) -> list[TimeSeries]:
        key = (tuple(idx), end, static)
        if key not in self._targets:
            if static.startswith("pca:"):
                mode = static.partition(":")[2]
                if mode not in self._pca:  # fitted once, on the first call's (training) products
                    self._pca[mode] = cov.text_pca([self.target(i, end, mode) for i in pca_train],
                                                   self.pca_components)
                self._targets[key] = self._pca[mode].transform([self.target(i, end, mode) for i in idx])
            else:
                self._targets[key] = [self.target(i, end, static) for i in idx]
        return self._targets[key]

    def neighbours(self, mode: str) -> list[TimeSeries]:
        """Text-neighbour demand of every product, from the descriptions of ``mode``."""
        if mode not in self._nbr:
            known = [cov.with_text(s, t) for s, t in zip(self.panel.series, self.panel.texts[mode])]
            self._nbr[mode] = cov.neighbour_demand(known, **self.neighbour_kwargs)[0]
        return self._nbr[mode]

    def covariates(self, names: tuple[str, ...], idx) -> list[TimeSeries] | None:
        """The covariates ``names`` of products ``idx``, stacked (``None`` when there are none)."""
        if not names:
            return None
        out = []
        for i in idx:
            parts = []
            for name in names:
                if name == "age":
                    if i not in self._age:
                        self._age[i] = cov.launch_age(self.panel, i)
                    parts.append(self._age[i])
                else:
                    parts.append(self.neighbours(name.partition(":")[2])[i])
            series = parts[0]
            for other in parts[1:]:
                series = series.stack(other.slice_intersect(series))
            out.append(series)
        return out


class GlobalRunner:
    """Fits a :class:`~harness.specs.ModelSpec` on the training products and forecasts every instance."""

    def __init__(self, inputs: PanelInputs, inst: Instances, train_idx, train_end: int, quantiles,
                 pca_idx=None):
        self.inputs, self.inst, self.quantiles = inputs, inst, tuple(quantiles)
        self.train_idx, self.train_end = list(train_idx), train_end
        self.pca_idx = list(train_idx if pca_idx is None else pca_idx)  # whose descriptions the PCA is fitted on

    def run(self, spec: ModelSpec, seed: int) -> dict:
        inputs, frame, horizon = self.inputs, self.inst.frame, self.inst.horizon
        series = inputs.targets(self.train_idx, self.train_end, spec.static, pca_train=self.pca_idx)
        model = spec.build(seed)
        t0 = time.perf_counter()
        model.fit(series, past_covariates=inputs.covariates(spec.past, self.train_idx),
                  future_covariates=inputs.covariates(spec.future, self.train_idx))
        fit_s = time.perf_counter() - t0
        quant = np.full((len(frame), horizon, len(self.quantiles)), np.nan)
        predict_s = 0.0
        for o, rows in frame.groupby("o").indices.items():
            idx = frame["idx"].to_numpy()[rows]
            history = inputs.targets(idx, o, spec.static, pca_train=self.pca_idx)
            past, future = inputs.covariates(spec.past, idx), inputs.covariates(spec.future, idx)
            t0 = time.perf_counter()
            fc = model.predict(horizon, series=history, past_covariates=past, future_covariates=future,
                               predict_likelihood_parameters=True, show_warnings=False)
            predict_s += time.perf_counter() - t0
            q = np.stack([f.values(copy=False) for f in fc])  # (rows, horizon, quantiles), log1p scale
            quant[rows] = np.expm1(np.clip(q, 0, None))
        pred = quant[:, :, self.quantiles.index(0.5)]
        return {"pred": pred, "quant": quant, "fit_s": fit_s, "predict_s": predict_s, "n_train": len(series),
                "seed": seed}


def trainable(panel: Panel, candidates, end: int, pad: int, window: int) -> list[int]:
    """Products with at least ``window`` input+output weeks (zero padding included) before week ``end``."""
    return [i for i in candidates if end - cov.padded_start(panel, i, pad) >= window]


# ------------------------------------------------------------------------------------------ local baselines
def local_baselines(panel: Panel, inst: Instances, launches_before: int, window: int, cold_max_history: int,
                    n_jobs: int = 2) -> dict[str, dict]:
    """Naive last value, mean of the last ``window`` weeks, the no-text launch profile, exponential smoothing."""
    frame, horizon = inst.frame, inst.horizon
    naive = np.full((len(frame), horizon), np.nan)
    mean = np.full((len(frame), horizon), np.nan)
    for k, r in enumerate(frame.itertuples()):
        history = panel.history(r.idx, r.o)
        if len(history):
            naive[k] = history[-1]
            mean[k] = history[-window:].mean()
    out = {"Naive (last value)": {"pred": naive}, f"Mean of last {window} weeks": {"pred": mean}}

    # launch profile: median sales at each week since launch over the launches observed before `launches_before`
    launches = np.flatnonzero(~panel.censored & (panel.launch < launches_before))
    profile = np.array([
        np.median([panel.values[i, panel.launch[i] + a] for i in launches if panel.launch[i] + a < launches_before])
        for a in range(cold_max_history + horizon)
    ])
    prof = np.full((len(frame), horizon), np.nan)
    for k in np.flatnonzero((frame["cohort"] == "cold").to_numpy()):
        h = frame["history"].iat[k]
        prof[k] = profile[h : h + horizon]
    out["Launch profile (median by age)"] = {"pred": prof}
    t0 = time.perf_counter()
    out["ExponentialSmoothing (per series)"] = {"pred": exp_smoothing(panel, inst, n_jobs),
                                                "fit_s": time.perf_counter() - t0}
    return out


def exp_smoothing(panel: Panel, inst: Instances, n_jobs: int = 2) -> np.ndarray:
    """Simple exponential smoothing of each product's own history up to the origin (NaN where too short)."""
    from darts.models import ExponentialSmoothing
    from darts.utils.utils import ModelMode, SeasonalityMode

    from darts_llm.models import PerSeriesModel

    frame = inst.frame
    pred = np.full((len(frame), inst.horizon), np.nan)
    template = ExponentialSmoothing(trend=ModelMode.NONE, seasonal=SeasonalityMode.NONE)
    for o, rows in frame.groupby("o").indices.items():
        ok = [r for r in rows if len(panel.history(frame["idx"].iat[r], o)) >= template.min_train_series_length]
        series = []
        for r in ok:
            i = frame["idx"].iat[r]
            series.append(TimeSeries.from_times_and_values(panel.times[panel.launch[i] : o],
                                                           panel.history(i, o)[:, None].astype(np.float32)))
        model = PerSeriesModel(template, n_jobs=n_jobs).fit(series)
        fc = model.predict(inst.horizon, series=series)
        pred[ok] = np.clip(np.stack([f.univariate_values() for f in fc]), 0, None)
    return pred


# ------------------------------------------------------------------------------------------ ensembles
def average(forecasts: list[np.ndarray], members: list) -> np.ndarray:
    """Darts ``NaiveEnsembleModel``'s average of the members' forecasts (arrays with the same shape).

    The members were fitted on different inputs (their own static covariates, covariates and scales), which
    one ensemble ``fit``/``predict`` cannot pass; so the ensemble averages the forecasts they made, with Darts'
    own rule (``NaiveEnsembleModel.ensemble``).
    """
    from darts.models import NaiveEnsembleModel

    ensemble = NaiveEnsembleModel(members, train_forecasting_models=True, show_warnings=False)
    shape = forecasts[0].shape
    flat = [f.reshape(shape[0], shape[1], -1).transpose(1, 0, 2).reshape(shape[1], -1) for f in forecasts]
    template = TimeSeries.from_values(flat[0])
    stacked = TimeSeries.from_values(np.concatenate(flat, axis=1))
    mean = ensemble.ensemble(stacked, series=template, n=shape[1]).values(copy=False)
    return mean.reshape(shape[1], shape[0], -1).transpose(1, 0, 2).reshape(shape)


def ensemble_runs(spec: EnsembleSpec, runs: dict, members: list) -> list[dict]:
    """One run per seed of the seeded member (the other member's single run is reused)."""
    a, b = (runs[m] for m in spec.members)
    if len(a) > len(b):
        a, b = b, a
    out = []
    for rb in b:
        ra = a[0] if len(a) == 1 else next(r for r in a if r.get("seed") == rb.get("seed"))
        res = {"pred": average([ra["pred"], rb["pred"]], members), "seed": rb.get("seed")}
        if ra.get("quant") is not None and rb.get("quant") is not None:
            res["quant"] = average([ra["quant"], rb["quant"]], members)
        out.append(res)
    return out
