"""Does the text help? :func:`compare_text` backtests one model with real, shuffled, constant and no text.

The same model (same hyperparameters, same seeds) is fitted on the history before ``start`` and backtested with
Darts' ``historical_forecasts`` from ``start`` on, once per text variant:

- ``"real"``: the series as given;
- ``"shuffled"``: each series gets another series' text (a seeded permutation): the texts keep their
  distribution but lose their link to the sales, so a gain that survives shuffling does not come from what the
  texts say;
- ``"constant"``: every text is :data:`~darts_llm.evaluation.CONSTANT_TEXT`: the text carries nothing;
- ``"no text"``: the backbone Darts model (``TiDEModel`` for ``TextTiDEModel``, ...) with the same
  hyperparameters, on the series without their text columns: the no-text twin.

Neural models run once per seed; the table reports the mean and standard deviation over seeds of a metric pooled
over every forecast (the pooled WAPE by default). :func:`describe_comparison` writes what the table says, computed
from its numbers; :func:`plot_text_comparison` draws it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.evaluation.ablation import CONSTANT_TEXT, replace_static_text
from darts_llm.evaluation.metrics import pooled_wape

__all__ = ["TEXT_VARIANTS", "compare_text", "describe_comparison", "plot_text_comparison"]

#: The variants :func:`compare_text` can run, in table order.
TEXT_VARIANTS = ("real", "shuffled", "constant", "no text")


def _text_columns(model, series: Sequence[TimeSeries], text_cols) -> list[str]:
    if text_cols is not None:
        return [text_cols] if isinstance(text_cols, str) else list(text_cols)
    settings = getattr(model, "text_settings", None)
    if settings is not None and settings.text_cols is not None:
        return list(settings.text_cols)
    static = series[0].static_covariates
    found = [] if static is None else [
        c for c in static.columns if any(isinstance(v, str) for s in series for v in s.static_covariates[c])
    ]
    if not found:
        raise_log(
            ValueError(
                "`series` have no static covariate column holding text; attach the text as a string static "
                "covariate (TimeSeries.from_group_dataframe(..., static_cols=['description'])) or name it with "
                "`text_cols`."
            )
        )
    return found


def _twin(model):
    """The no-text twin of a text model (its backbone class, same hyperparameters), or ``None``."""
    from darts_llm.models.text_model import TextCovariatesMixin, darts_backbone
    from darts_llm.models.text_settings import TextSettings

    if not isinstance(model, TextCovariatesMixin):
        return None
    params = {k: v for k, v in model.model_params.items() if k not in TextSettings.names()}
    return darts_backbone(type(model)), params


def _variant_series(series, columns, variant: str, seed: int, constant: str):
    if variant == "no text":
        out = []
        for s in series:
            rest = s.static_covariates.drop(columns=columns)
            out.append(s.with_static_covariates(rest if len(rest.columns) else None))
        return out
    out = list(series)
    for column in columns:
        out = replace_static_text(out, column, variant, seed=seed, constant=constant)
    return out


def _covariates_for(covariates, keep: list[int]):
    if covariates is None or isinstance(covariates, TimeSeries):
        return covariates
    return [covariates[i] for i in keep]


def compare_text(
    model,
    series: Sequence[TimeSeries],
    start,
    forecast_horizon: int,
    stride: int | None = None,
    variants: Sequence[str] = TEXT_VARIANTS,
    seeds: Sequence[int] = (0, 1, 2),
    text_cols: str | Sequence[str] | None = None,
    past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
    future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
    target_transform=None,
    metric: Callable = pooled_wape,
    metric_name: str = "WAPE %",
    constant_text: str = CONSTANT_TEXT,
    verbose: bool = False,
) -> pd.DataFrame:
    """Backtest ``model`` with real, shuffled, constant and no text, over several seeds.

    Parameters
    ----------
    model
        A Darts model whose series carry text in their static covariates: a text model (``TextTiDEModel``, ...)
        or any model that reads the text columns itself. Only its hyperparameters are used: each run fits a new
        instance (``model.untrained_model()`` with ``random_state`` set to the seed).
    series
        Target series covering history and backtest period, with the text as static covariates.
    start
        First forecast time: every model is fitted on the steps before ``start`` (series that start later are
        left out) and forecasts from ``start`` on.
    forecast_horizon, stride
        As for ``historical_forecasts`` (``stride`` defaults to ``forecast_horizon``: forecasts do not overlap).
    variants
        Which of :data:`TEXT_VARIANTS` to run. ``"no text"`` needs a text model (its twin is its Darts backbone);
        for other models it is skipped.
    seeds
        Random states of neural (Darts torch) models: each variant runs once per seed, and a shuffled variant also
        shuffles with that seed. Other models run once (shuffled with the first seed).
    text_cols
        The text columns to replace (default: the model's ``text_cols``, else every static column holding strings).
    past_covariates, future_covariates
        Covariates, as for ``fit``/``historical_forecasts`` (one per series, or one for all).
    target_transform
        A fitted or stateless invertible Darts transformer (e.g. ``InvertibleMapper(np.log1p, np.expm1)``): the
        models learn on the transformed series, forecasts are mapped back and scored on the original scale.
    metric, metric_name
        ``metric(actual_series, forecast_series) -> float`` over all forecasts pooled (default
        :func:`~darts_llm.evaluation.pooled_wape`), and its column label.
    constant_text
        The text of the ``"constant"`` variant.
    verbose
        Print each run's result as it finishes.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``variant``, ``mean`` and ``std`` of the metric over seeds, ``runs`` (the per-seed
        values), ``n_forecasts``, ``fit_s`` (mean fit time) and ``text_used`` (for text models whose text passes a
        check, ``text_entry="residual"``: in how many seeds the check kept the text, e.g. ``"2/3"``; else
        empty). ``attrs`` holds ``metric``, ``model``, ``start`` and ``forecast_horizon``.
    """
    series = [series] if isinstance(series, TimeSeries) else list(series)
    if not series:
        raise_log(ValueError("`series` is empty; pass the target series with their text."))
    unknown = [v for v in variants if v not in TEXT_VARIANTS]
    if unknown:
        raise_log(ValueError(f"`variants` {unknown} are not among {TEXT_VARIANTS}."))
    if not isinstance(forecast_horizon, int | np.integer) or forecast_horizon < 1:
        raise_log(ValueError(f"`forecast_horizon` must be a positive integer, got {forecast_horizon!r}."))
    stride = int(forecast_horizon if stride is None else stride)
    columns = _text_columns(model, series, text_cols)
    keep = [i for i, s in enumerate(series) if s.start_time() < start]
    if not keep:
        raise_log(ValueError(f"No series has history before `start={start}`; choose a later start."))
    series = [series[i] for i in keep]
    past_covariates = _covariates_for(past_covariates, keep)
    future_covariates = _covariates_for(future_covariates, keep)
    twin = _twin(model)
    from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel

    neural = isinstance(model, TorchForecastingModel)
    run_seeds = list(seeds) if neural else list(seeds)[:1]
    rows = []
    for variant in variants:
        if variant == "no text" and twin is None:
            continue
        scores, fit_times, n_forecasts, text_used = [], [], 0, []
        for seed in run_seeds:
            inputs = _variant_series(series, columns, variant, seed, constant_text)
            if target_transform is not None:
                inputs = target_transform.transform(inputs)
            if variant == "no text":
                cls, params = twin
                candidate = cls(**dict(params, random_state=seed))
            else:
                params = model.model_params
                candidate = type(model)(**dict(params, random_state=seed)) if neural else model.untrained_model()
            train = [s.drop_after(start) for s in inputs]
            t0 = time.perf_counter()
            candidate.fit(train, past_covariates=past_covariates, future_covariates=future_covariates)
            fit_times.append(time.perf_counter() - t0)
            check = getattr(candidate, "text_check", None)  # text_entry="residual": did the text pass its check?
            if check is not None:
                text_used.append(bool(check.kept))
            forecasts = candidate.historical_forecasts(
                inputs, start=start, forecast_horizon=forecast_horizon, stride=stride, retrain=False,
                last_points_only=False, past_covariates=past_covariates, future_covariates=future_covariates,
                verbose=False,
            )
            if isinstance(inputs, list) and forecasts and isinstance(forecasts[0], TimeSeries):
                forecasts = [forecasts]
            flat_pred, flat_true = [], []
            for actual, per_series in zip(series, forecasts):
                for forecast in per_series:
                    if target_transform is not None:
                        forecast = target_transform.inverse_transform(forecast)
                    flat_pred.append(forecast)
                    flat_true.append(actual)
            n_forecasts = len(flat_pred)
            scores.append(float(metric(flat_true, flat_pred)))
            if verbose:
                print(f"  {variant:9s} seed {seed}: {metric_name} {scores[-1]:.2f} ({fit_times[-1]:.1f} s fit)")
        rows.append({
            "variant": variant,
            "mean": float(np.mean(scores)),
            "std": float(np.std(scores)),
            "runs": scores,
            "n_forecasts": n_forecasts,
            "fit_s": float(np.mean(fit_times)),
            "text_used": f"{sum(text_used)}/{len(text_used)}" if text_used else "",
        })
    table = pd.DataFrame(rows)
    table.attrs.update(metric=metric_name, model=type(model).__name__, start=start, forecast_horizon=forecast_horizon)
    return table


def _row(table: pd.DataFrame, variant: str):
    found = table[table["variant"] == variant]
    return None if found.empty else found.iloc[0]


def describe_comparison(table: pd.DataFrame, lower_is_better: bool = True) -> str:
    """What a :func:`compare_text` table says, in sentences computed from its numbers.

    The real text *helps* when its mean beats the best control (shuffled, constant, no text) by more than the
    larger of the two standard deviations, *hurts* when it is worse by more than that, and is *within seed noise*
    otherwise; with a single run there is no verdict.

    Parameters
    ----------
    table
        The result of :func:`compare_text`.
    lower_is_better
        Whether lower metric values are better (errors such as WAPE: ``True``).
    """
    metric = table.attrs.get("metric", "metric")
    real = _row(table, "real")
    if real is None:
        return "The table has no run with the real text."
    controls = [r for r in (_row(table, v) for v in ("shuffled", "constant", "no text")) if r is not None]
    if not controls:
        return f"Real text: {metric} {real['mean']:.1f} ± {real['std']:.1f}; no control was run."
    sign = 1.0 if lower_is_better else -1.0
    best = min(controls, key=lambda r: sign * r["mean"])
    margin = max(real["std"], best["std"])
    gap = sign * (best["mean"] - real["mean"])  # > 0: the real text is better
    parts = [f"{r['variant']} {r['mean']:.1f} ± {r['std']:.1f}" for r in controls]
    head = f"{metric} with the real text: {real['mean']:.1f} ± {real['std']:.1f} (" + ", ".join(parts) + ")."
    if min(len(r["runs"]) for r in (real, best)) < 2:
        return (f"{head} One run each: the seed spread is unknown, so a gap of {abs(gap):.1f} cannot be told from "
                f"noise; run several seeds.")
    if gap > margin:
        verdict = (f"The real text beats the best control ({best['variant']}) by {gap:.1f}, more than the seed "
                   f"spread ({margin:.1f}): the text helps.")
    elif -gap > margin:
        verdict = (f"The real text is worse than {best['variant']} by {-gap:.1f}, more than the seed spread "
                   f"({margin:.1f}): the text hurts here.")
    else:
        verdict = (f"The real text and the best control ({best['variant']}) differ by {abs(gap):.1f}, within the "
                   f"seed spread ({margin:.1f}): no measurable effect of the text.")
    return f"{head} {verdict}{_check_sentence(real)}"


def _check_sentence(real) -> str:
    """What the text check did in the real-text runs (text models with ``text_entry="residual"``)."""
    used = str(real.get("text_used", "") or "")
    if "/" not in used:
        return ""
    kept, runs = (int(x) for x in used.split("/"))
    if kept == 0:
        return (f" The text check kept the text in none of the {runs} runs: there the model is its no-text twin, "
                f"exactly.")
    return f" The text check kept the text in {kept} of {runs} runs."


def plot_text_comparison(table: pd.DataFrame, ax=None):
    """A bar per variant (mean over seeds, with the standard deviation as error bar).

    Parameters
    ----------
    table
        The result of :func:`compare_text`.
    ax
        A matplotlib axis (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    colors = {"real": "tab:blue", "shuffled": "tab:orange", "constant": "tab:gray", "no text": "tab:green"}
    ax.bar(table["variant"], table["mean"], yerr=table["std"], capsize=4,
           color=[colors.get(v, "tab:purple") for v in table["variant"]])
    for x, (mean, std, runs) in enumerate(zip(table["mean"], table["std"], table["runs"])):
        ax.scatter([x] * len(runs), runs, color="black", s=8, zorder=3)
        top = max([mean + std, *runs])
        ax.annotate(f"{mean:.1f}", (x, top), ha="center", va="bottom", fontsize=8, xytext=(0, 3),
                    textcoords="offset points")
    ax.set_ylabel(table.attrs.get("metric", "metric"))
    ax.set_title(f"{table.attrs.get('model', 'model')}: real vs controls")
    return ax
