"""Synthetic catalogue: format, determinism, cold starts, and text that really drives demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darts_llm.datasets import first_sale_dates, make_synthetic_catalog
from darts_llm.datasets.synthetic import SYNTHETIC_THEMES


def _description(series) -> str:
    return series.static_covariates["description"].iloc[0]


def _month_means(series_list) -> pd.Series:
    values = pd.concat([s.to_series() for s in series_list], axis=1)
    return values.groupby(values.index.month).mean().mean(axis=1)


def test_format_matches_online_retail():
    series = make_synthetic_catalog(n_products=20, n_periods=60, seed=1)
    assert len(series) == 20
    end = series[0].end_time()
    for s in series:
        assert s.freq_str == "W-SUN" and s.time_index[-1].dayofweek == 6
        assert s.dtype == np.float32
        assert list(s.components) == ["quantity"]
        assert list(s.static_covariates.columns) == ["description", "price"]
        assert pd.api.types.is_string_dtype(s.static_covariates["description"])
        assert s.static_covariates["price"].iloc[0] > 0
        assert s.end_time() == end
        assert s.values()[0, 0] > 0  # starts at the first sale
        assert (s.values() >= 0).all()
        assert s.metadata["synthetic"] is True
    assert end == pd.Timestamp("2011-12-04")
    assert first_sale_dates(series).index[0] == "SYN0001"


def test_deterministic_per_seed():
    a = make_synthetic_catalog(n_products=15, n_periods=30, seed=3)
    b = make_synthetic_catalog(n_products=15, n_periods=30, seed=3)
    c = make_synthetic_catalog(n_products=15, n_periods=30, seed=4)
    assert [_description(s) for s in a] == [_description(s) for s in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.values(), y.values())
        assert x.time_index.equals(y.time_index)
    assert [_description(s) for s in a] != [_description(s) for s in c]


def test_late_launches_are_cold_starts():
    series = make_synthetic_catalog(n_products=80, n_periods=104, seed=0, launch_fraction=0.25)
    axis_start = pd.Timestamp("2011-12-04") - pd.Timedelta(weeks=103)
    late = [s for s in series if s.metadata["launch"] > axis_start]
    assert len(late) == 20
    assert all(s.start_time() >= s.metadata["launch"] for s in late)
    assert all(len(s) <= 0.8 * 104 + 1 for s in late)  # launched after 20% of the axis
    assert sum(len(s) >= 100 for s in series) >= 55
    none_late = make_synthetic_catalog(n_products=10, launch_fraction=0.0)
    assert all(s.metadata["launch"] == axis_start for s in none_late)


def test_words_drive_seasonality():
    series = make_synthetic_catalog(n_products=300, n_periods=104, seed=0, launch_fraction=0.0)

    def with_words(words):
        return [s for s in series if set(_description(s).split()) & set(words)]

    christmas = _month_means(with_words(SYNTHETIC_THEMES["christmas"][0]))
    garden = _month_means(with_words(SYNTHETIC_THEMES["garden"][0]))
    everyday = _month_means(with_words(SYNTHETIC_THEMES["everyday"][0]))
    assert christmas[[11, 12]].mean() > 4 * christmas[[5, 6, 7]].mean()
    assert garden[[6, 7]].mean() > 4 * garden[[11, 12, 1]].mean()
    assert everyday.max() < 1.5 * everyday.min()
    # the text is the only thing that names the theme: it agrees with the ground truth
    for s in series:
        theme_words = SYNTHETIC_THEMES[s.metadata["theme"]][0]
        assert set(_description(s).split()) & set(theme_words)


def test_items_drive_price_and_level():
    series = make_synthetic_catalog(n_products=300, n_periods=52, seed=2, launch_fraction=0.0)
    singles = [s for s in series if not _description(s).startswith("SET OF")]
    napkins = [s for s in singles if _description(s).endswith("PAPER NAPKINS")]
    parasols = [s for s in singles if _description(s).endswith("PARASOL")]
    assert napkins and parasols
    assert np.mean([s.values().mean() for s in napkins]) > 5 * np.mean([s.values().mean() for s in parasols])
    assert all(s.static_covariates["price"].iloc[0] < 1 for s in napkins)


def test_other_frequencies():
    daily = make_synthetic_catalog(n_products=5, n_periods=60, freq="D")
    assert daily[0].freq_str == "D" and daily[0].end_time() == pd.Timestamp("2011-12-04")
    monthly = make_synthetic_catalog(n_products=5, n_periods=24, freq="MS")
    assert monthly[0].freq_str == "MS" and monthly[0].end_time() == pd.Timestamp("2011-12-01")


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_products": 0}, "n_products"), ({"n_periods": 3}, "n_periods"),
     ({"launch_fraction": 1.5}, "launch_fraction"), ({"freq": "W-XYZ"}, "freq")],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_synthetic_catalog(**kwargs)
