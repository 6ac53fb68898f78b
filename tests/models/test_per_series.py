"""Tests of PerSeriesModel: a Darts local model fit per series, used as a global model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.models import (
    ARIMA,
    ExponentialSmoothing,
    LinearRegressionModel,
    NaiveEnsembleModel,
    RegressionEnsembleModel,
)
from darts.models.forecasting.forecasting_model import GlobalForecastingModel
from darts.utils.serialization import get_safe_globals

from darts_llm.models.per_series import PerSeriesModel, SeriesFitError

# Hourly data: with pandas 3, Darts 0.48 regression models fail on daily ("D") series (Timedelta // Day).
FREQ = "h"
N = 4


def simple_es() -> ExponentialSmoothing:
    """Simple exponential smoothing: the fastest statsmodels-backed local model."""
    return ExponentialSmoothing(trend=None, seasonal=None)


def make_series(i: int, length: int, seed: int = 0) -> TimeSeries:
    rng = np.random.default_rng(seed + i)
    t = np.arange(length)
    values = 10 + i + 0.05 * t + (1 + i / 3) * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.2, length)
    times = pd.date_range("2024-01-01", periods=length, freq=FREQ) + pd.Timedelta(hours=i)
    return TimeSeries.from_times_and_values(times, values)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels convergence / frequency warnings
        yield


@pytest.fixture(scope="module")
def panel() -> list[TimeSeries]:
    return [make_series(i, 30 + 3 * i) for i in range(6)]


@pytest.fixture(scope="module")
def fitted(panel) -> PerSeriesModel:
    return PerSeriesModel(simple_es()).fit(panel)


def assert_same(a: TimeSeries, b: TimeSeries) -> None:
    assert a.time_index.equals(b.time_index)
    np.testing.assert_allclose(a.all_values(), b.all_values())


def test_is_a_global_model_with_template_capabilities():
    es, arima = PerSeriesModel(simple_es()), PerSeriesModel(ARIMA(p=1, d=0, q=0))
    assert isinstance(es, GlobalForecastingModel)
    assert es.supports_probabilistic_prediction and not es.supports_multivariate
    assert not es.supports_future_covariates and arima.supports_future_covariates
    assert not es.supports_past_covariates and not es.supports_sample_weight
    assert es.min_train_series_length == simple_es().min_train_series_length
    assert es.extreme_lags == simple_es().extreme_lags
    assert arima.extreme_lags == ARIMA(p=1, d=0, q=0).extreme_lags


def test_fit_predict_equals_separate_local_models(panel, fitted):
    forecasts = fitted.predict(N, series=panel)
    assert isinstance(forecasts, list) and len(forecasts) == len(panel)
    for s, forecast in zip(panel, forecasts):
        assert_same(forecast, simple_es().fit(s).predict(N))


def test_single_series_and_default_predict(panel):
    model = PerSeriesModel(simple_es()).fit(panel[0])
    assert_same(model.predict(N), simple_es().fit(panel[0]).predict(N))
    assert isinstance(model.predict(N, series=panel[0]), TimeSeries)


def test_n_jobs_2_gives_same_result(panel, fitted):
    parallel = PerSeriesModel(simple_es(), n_jobs=2).fit(panel)
    # the panel's first three series are seen; the last three are refit in parallel at predict time
    mixed = panel[:3] + [s[:-2] for s in panel[3:]]
    for a, b in zip(parallel.predict(N, series=mixed), fitted.predict(N, series=mixed)):
        assert_same(a, b)


def test_probabilistic_forecasts_are_forwarded(panel):
    template = ExponentialSmoothing(seasonal_periods=7)
    model = PerSeriesModel(template).fit(panel[:2])
    forecasts = model.predict(N, series=panel[:2], num_samples=20, random_state=1)
    assert forecasts[1].n_samples == 20
    expected = ExponentialSmoothing(seasonal_periods=7).fit(panel[1]).predict(N, num_samples=20, random_state=1)
    assert_same(forecasts[1], expected)


def test_future_covariates_per_series(panel):
    series = panel[:3]
    covs = [
        TimeSeries.from_times_and_values(
            pd.date_range(s.start_time(), periods=len(s) + N, freq=FREQ), np.cos(np.arange(len(s) + N) / 3)
        )
        for s in series
    ]
    model = PerSeriesModel(ARIMA(p=1, d=0, q=0)).fit(series, future_covariates=covs)
    forecasts = model.predict(N, series=series, future_covariates=covs)
    for s, c, forecast in zip(series, covs, forecasts):
        expected = ARIMA(p=1, d=0, q=0).fit(s, future_covariates=c).predict(N, future_covariates=c)
        assert_same(forecast, expected)
    with pytest.raises(ValueError, match="future_covariates"):
        model.predict(N, series=series)


def test_unseen_series_is_refit(panel, fitted):
    new = make_series(0, 35, seed=99)
    assert_same(fitted.predict(N, series=new), simple_es().fit(new).predict(N))
    # a training series cut short is unseen too
    assert_same(fitted.predict(N, series=panel[2][:-3]), simple_es().fit(panel[2][:-3]).predict(N))


def test_refit_unseen_false(panel):
    model = PerSeriesModel(simple_es(), refit_unseen=False).fit([s[5:] for s in panel])
    # a series that ends with a fitted series (more history at the start) is seen: no refit
    assert_same(model.predict(N, series=panel)[4], simple_es().fit(panel[4][5:]).predict(N))
    with pytest.raises(ValueError, match="index 1 .*not seen"):
        model.predict(N, series=[panel[0], panel[1][:-1]])


def test_regression_ensemble_on_panel(panel):
    with pytest.raises(ValueError, match="LocalForecastingModel"):  # what PerSeriesModel works around
        RegressionEnsembleModel([simple_es(), LinearRegressionModel(lags=7)], regression_train_n_points=6).fit(panel)

    ensemble = RegressionEnsembleModel(
        [PerSeriesModel(simple_es()), LinearRegressionModel(lags=7)], regression_train_n_points=6
    )
    ensemble.fit(panel)
    forecasts = ensemble.predict(N, series=panel)
    assert len(forecasts) == len(panel)
    for s, forecast in zip(panel, forecasts):
        assert len(forecast) == N and forecast.start_time() == s.end_time() + s.freq
        assert np.isfinite(forecast.values()).all()


def test_naive_ensemble_on_panel(panel, fitted):
    ensemble = NaiveEnsembleModel([PerSeriesModel(simple_es()), LinearRegressionModel(lags=7)])
    ensemble.fit(panel)
    forecasts = ensemble.predict(N, series=panel)
    linear = LinearRegressionModel(lags=7).fit(panel).predict(N, series=panel)
    for es, lin, forecast in zip(fitted.predict(N, series=panel), linear, forecasts):
        np.testing.assert_allclose(forecast.values(), (es.values() + lin.values()) / 2)


def test_historical_forecasts_and_backtest(panel):
    model = PerSeriesModel(simple_es())
    hfc = model.historical_forecasts(panel[0], start=0.8, forecast_horizon=2, retrain=True)
    assert_same(hfc, simple_es().historical_forecasts(panel[0], start=0.8, forecast_horizon=2, retrain=True))
    # retrain=False refits the shortened (unseen) series at each point: same forecasts
    no_retrain = model.fit(panel[0]).historical_forecasts(panel[0], start=0.8, forecast_horizon=2, retrain=False)
    assert_same(no_retrain, hfc)
    errors = PerSeriesModel(simple_es()).backtest(panel[:2], start=0.8, forecast_horizon=2)
    assert len(errors) == 2 and all(np.isfinite(errors))


def test_save_load(tmp_path, panel, fitted):
    assert PerSeriesModel in get_safe_globals()
    path = tmp_path / "per_series.pkl"
    fitted.save(str(path))
    loaded = PerSeriesModel.load(str(path))  # Darts' restricted (safe) unpickler
    for a, b in zip(loaded.predict(N, series=panel), fitted.predict(N, series=panel)):
        assert_same(a, b)

    ensemble = RegressionEnsembleModel([PerSeriesModel(simple_es()), LinearRegressionModel(lags=7)], 6)
    ensemble.fit(panel)
    ensemble.save(str(tmp_path / "ensemble.pkl"))
    loaded = RegressionEnsembleModel.load(str(tmp_path / "ensemble.pkl"))
    assert_same(loaded.predict(N, series=panel)[3], ensemble.predict(N, series=panel)[3])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_too_short_series_names_index_and_minimum(panel, n_jobs):
    series = panel[:3] + [panel[3][:9]]
    with pytest.raises(SeriesFitError, match=r"index 3 has 9 time steps.*at least 14"):
        PerSeriesModel(ExponentialSmoothing(seasonal_periods=7), n_jobs=n_jobs).fit(series)


def test_invalid_arguments(panel, fitted):
    with pytest.raises(TypeError, match="LocalForecastingModel"):
        PerSeriesModel(LinearRegressionModel(lags=2))
    with pytest.raises(TypeError, match="LocalForecastingModel"):
        PerSeriesModel(ExponentialSmoothing)
    with pytest.raises(ValueError, match="n_jobs"):
        PerSeriesModel(simple_es(), n_jobs=0)
    with pytest.raises(ValueError, match="past_covariates"):
        PerSeriesModel(simple_es()).fit(panel, past_covariates=panel)
    with pytest.raises(ValueError, match="future_covariates"):
        PerSeriesModel(simple_es()).fit(panel, future_covariates=panel)
    with pytest.raises(ValueError, match="pass the `series`"):
        fitted.predict(N)
    with pytest.raises(ValueError, match="fit"):
        PerSeriesModel(simple_es()).predict(N, series=panel)
