"""The pandas 3 / daily-data guard: why the pandas cap could be lifted, and what is refused instead."""

from __future__ import annotations

import darts
import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm.datasets import compat

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
DARTS_048 = darts.__version__.startswith("0.48.")


def _fit_daily_regression() -> int:
    from darts.models import LinearRegressionModel

    series = TimeSeries.from_times_and_values(
        pd.date_range("2020-01-05", periods=40, freq="D"), np.arange(40.0, dtype=np.float32)
    )
    model = LinearRegressionModel(lags=3).fit(series[:30])
    return len(model.historical_forecasts(series, start=32, forecast_horizon=2, retrain=False))


def test_probe_agrees_with_darts_itself():
    """The probe says what a real fit on daily data does, in whatever environment runs the tests."""
    compat.darts_handles_daily_series.cache_clear()
    if compat.darts_handles_daily_series():
        assert _fit_daily_regression() == 7
    else:
        with pytest.raises(TypeError, match="Day"):
            _fit_daily_regression()


@pytest.mark.skipif(not (PANDAS_3 and DARTS_048), reason="the breakage needs pandas >= 3 with Darts 0.48")
def test_darts_048_cannot_fit_daily_series_with_pandas_3():
    compat.darts_handles_daily_series.cache_clear()
    assert not compat.darts_handles_daily_series()
    with pytest.raises(ValueError, match="pandas>=2.2,<3"):
        compat.check_frequency_supported("D")
    compat.check_frequency_supported("W-SUN")  # weekly and monthly data are fine
    compat.check_frequency_supported("MS")


@pytest.mark.skipif(PANDAS_3, reason="pandas 2 handles daily data")
def test_pandas_2_handles_daily_series():
    compat.darts_handles_daily_series.cache_clear()
    assert compat.darts_handles_daily_series()
    compat.check_frequency_supported("D")


def test_guard_names_the_parameter_and_the_fix(monkeypatch):
    monkeypatch.setattr(compat, "darts_handles_daily_series", lambda: False)
    with pytest.raises(ValueError) as err:
        compat.check_frequency_supported(pd.offsets.Day(), "series.freq")
    message = str(err.value)
    assert message.startswith("`series.freq` 'D'") and "'W'" in message and "pip install" in message
    compat.check_frequency_supported("h")  # only the Day offset is affected
