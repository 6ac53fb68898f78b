"""Frequency inference that tolerates gaps (unlike pandas.infer_freq)."""

from __future__ import annotations

import pandas as pd
import pytest

from darts_llm.datasets.regular import infer_frequency, regular_series


@pytest.mark.parametrize(
    "dates, freq",
    [(pd.date_range("2020-01-01", periods=9, freq="D").delete([3, 4]), "D"),
     (pd.date_range("2000-01-04", periods=9, freq="W-TUE").delete([2, 5, 6]), "W-TUE"),
     (pd.date_range("2000-01-01", periods=9, freq="MS").delete([1]), "MS"),
     (pd.date_range("2000-01-31", periods=9, freq="ME"), "ME"),
     (pd.date_range("2000-01-01", periods=5, freq="QS"), "QS"),
     (pd.date_range("2000-01-01", periods=5, freq="YS"), "YS")],
)
def test_infer_frequency_with_gaps(dates, freq):
    assert infer_frequency(dates) == freq


def test_infer_frequency_names_the_parameter():
    with pytest.raises(ValueError, match="`freq`"):
        infer_frequency(pd.DatetimeIndex(["2020-01-01", "2020-01-04", "2020-01-07"]))
    with pytest.raises(ValueError, match="`freq`"):
        infer_frequency(pd.DatetimeIndex(["2020-01-01"]))


def test_unreadable_dates_are_dropped(caplog):
    with caplog.at_level("WARNING"):
        series = regular_series(pd.Series(["2020-01-01", "soon", "2020-01-02"]), pd.Series([1, 2, 3]), name="x")
    assert len(series) == 2 and "dropped 1 rows" in caplog.text
