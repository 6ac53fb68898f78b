"""Errors pooled over all series and steps, computed with :mod:`darts.metrics`.

Darts' ``wmape`` weights each series by its own actuals and then averages the series; a *pooled* WAPE instead
divides the sum of the absolute errors over every series and step by the sum of the absolute actuals over the
same points, so a series with large sales weighs as much as its sales. Both functions accept Darts series or
plain arrays of shape ``(n_forecasts, horizon)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from darts import TimeSeries
from darts.logging import raise_log
from darts.metrics import ae, mae, ql
from darts.utils.likelihood_models.base import likelihood_component_names, quantile_names

SeriesLike = TimeSeries | Sequence[TimeSeries] | np.ndarray


def _as_series(values: SeriesLike, name: str) -> TimeSeries | list[TimeSeries]:
    """Darts series unchanged; an array ``(n_forecasts, horizon)`` becomes one series with a component per row."""
    if isinstance(values, TimeSeries):
        return values
    if isinstance(values, np.ndarray):
        if values.ndim != 2:
            raise_log(
                ValueError(
                    f"`{name}` as an array must have shape (n_forecasts, horizon); got shape {values.shape}. "
                    "Pass one row per forecast, or Darts TimeSeries."
                )
            )
        return TimeSeries.from_values(values.T.astype(np.float64))
    return list(values)


def _total(metric, actual, predicted, **kwargs) -> float:
    """``metric`` summed over steps, components and series."""
    kwargs.update(time_reduction=np.sum, component_reduction=np.sum)
    if isinstance(actual, list):
        kwargs["series_reduction"] = np.sum
    return float(metric(actual, predicted, **kwargs))


def _filled(series, value: float):
    """``series`` (or each of a list) with every value set to ``value``."""
    if isinstance(series, list):
        return [_filled(s, value) for s in series]
    return series.with_values(np.full_like(series.all_values(copy=False), value))


def _check_pair(actual, predicted) -> None:
    if isinstance(actual, list) != isinstance(predicted, list) or (
        isinstance(actual, list) and len(actual) != len(predicted)
    ):
        raise_log(
            ValueError(
                "`actual` and `predicted` must both be one series, both sequences of the same length, or both "
                "arrays of the same shape."
            )
        )


def pooled_wape(actual: SeriesLike, predicted: SeriesLike) -> float:
    """Weighted absolute percentage error pooled over every series and step, in percent.

    ``100 * sum |actual - predicted| / sum |actual|``, both sums over all the forecast points (the steps where
    each forecast and its actual series overlap).

    Parameters
    ----------
    actual
        The actual series (one, a sequence, or an array ``(n_forecasts, horizon)``).
    predicted
        The forecasts, in the same shape as ``actual`` (a sequence pairs each forecast with the actual series at
        the same position). Probabilistic forecasts are scored by their median.

    Returns
    -------
    float
        The pooled WAPE in percent; NaN when any forecast value is NaN or every actual is zero.
    """
    actual, predicted = _as_series(actual, "actual"), _as_series(predicted, "predicted")
    _check_pair(actual, predicted)
    error = _total(ae, actual, predicted)
    scale = _total(ae, actual, _filled(predicted, 0.0))
    return 100.0 * error / scale if scale > 0 else float("nan")


def pooled_mae(actual: SeriesLike, predicted: SeriesLike) -> float:
    """Mean absolute error over every forecast point of every series (each point weighs the same).

    Parameters
    ----------
    actual
        The actual series (one, a sequence, or an array ``(n_forecasts, horizon)``).
    predicted
        The forecasts, in the same shape as ``actual``.

    Returns
    -------
    float
        The pooled MAE in the units of the series; NaN when any forecast value is NaN.
    """
    actual, predicted = _as_series(actual, "actual"), _as_series(predicted, "predicted")
    _check_pair(actual, predicted)
    error = _total(ae, actual, predicted)
    points = _total(ae, _filled(actual, 1.0), _filled(predicted, 0.0))  # 1 per overlapping point
    return error / points if points > 0 else float("nan")


def pooled_wql(actual: SeriesLike, quantile_forecasts: SeriesLike, quantiles: Sequence[float]) -> float:
    """Weighted quantile loss pooled over every series and step, averaged over ``quantiles``.

    For each quantile level ``q``: ``sum ql_q / sum |actual|``, where ``ql_q`` is Darts' quantile loss
    (twice the pinball loss, so the 0.5 level equals the absolute error); the result is the mean over the levels.

    Parameters
    ----------
    actual
        The actual series (one, a sequence, or an array ``(n_forecasts, horizon)``).
    quantile_forecasts
        Forecasts holding the quantiles as components (what ``predict(..., predict_likelihood_parameters=True)``
        returns for a quantile model), in the same shape as ``actual``; or an array
        ``(n_forecasts, horizon, len(quantiles))``.
    quantiles
        The quantile levels to score, e.g. ``(0.1, 0.5, 0.9)``.

    Returns
    -------
    float
        The pooled weighted quantile loss (a fraction, not a percentage); NaN when any value is NaN.
    """
    quantiles = [float(q) for q in quantiles]
    if isinstance(quantile_forecasts, np.ndarray):
        if quantile_forecasts.ndim != 3 or quantile_forecasts.shape[2] != len(quantiles):
            raise_log(
                ValueError(
                    "`quantile_forecasts` as an array must have shape (n_forecasts, horizon, len(quantiles)); got "
                    f"shape {quantile_forecasts.shape} for {len(quantiles)} quantiles."
                )
            )
        n, horizon, _ = quantile_forecasts.shape
        columns = likelihood_component_names([str(i) for i in range(n)], quantile_names(quantiles))
        values = quantile_forecasts.transpose(1, 0, 2).reshape(horizon, n * len(quantiles))
        quantile_forecasts = TimeSeries.from_values(values.astype(np.float64), columns=columns)
    actual, quantile_forecasts = _as_series(actual, "actual"), _as_series(quantile_forecasts, "quantile_forecasts")
    _check_pair(actual, quantile_forecasts)
    scale = _total(ae, actual, _filled(actual, 0.0))
    if not scale > 0:
        return float("nan")
    return float(np.mean([_total(ql, actual, quantile_forecasts, q=q) / scale for q in quantiles]))
