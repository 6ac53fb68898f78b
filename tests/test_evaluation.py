"""darts_llm.evaluation: pooled metrics against hand computations, text ablations, Markdown tables."""

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm.evaluation import (
    CONSTANT_TEXT,
    markdown_table,
    pooled_mae,
    pooled_wape,
    pooled_wql,
    replace_static_text,
    replace_texts,
)


def _series(values, start=0, text="a"):
    ts = TimeSeries.from_times_and_values(pd.RangeIndex(start, start + len(values)), np.asarray(values, float))
    return ts.with_static_covariates(pd.DataFrame({"description": [text], "price": [1.5]}))


def test_pooled_wape_matches_hand_computation_on_series():
    actual = [_series([10, 0, 5, 5]), _series([1, 1, 2])]
    predicted = [_series([8, 1], start=2), _series([2, 1, 0])]
    # first pair overlaps at steps 2, 3: |5-8| + |5-1|; second: |1-2| + 0 + |2-0|
    expected = 100 * (3 + 4 + 1 + 0 + 2) / (5 + 5 + 1 + 1 + 2)
    assert pooled_wape(actual, predicted) == pytest.approx(expected)


def test_pooled_wape_pools_rather_than_averages_series():
    actual = np.array([[100.0, 100.0], [1.0, 1.0]])
    predicted = np.array([[90.0, 110.0], [2.0, 2.0]])
    # per-series WAPE would be 10% and 100% (mean 55%); pooled: 22 / 202
    assert pooled_wape(actual, predicted) == pytest.approx(100 * 22 / 202)
    assert pooled_wape(_series([100, 100]), _series([90, 110])) == pytest.approx(10.0)


def test_pooled_wape_nan_forecast_is_nan_and_bad_shapes_raise():
    assert np.isnan(pooled_wape(np.array([[1.0, 2.0]]), np.array([[1.0, np.nan]])))
    assert np.isnan(pooled_wape(np.zeros((2, 3)), np.ones((2, 3))))
    with pytest.raises(ValueError, match="actual"):
        pooled_wape(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        pooled_wape([_series([1, 2])], [_series([1, 2]), _series([1, 2])])


def test_pooled_wql_matches_pinball_by_hand():
    actual = np.array([[4.0, 0.0], [2.0, 6.0]])
    q = np.stack([actual - 1, actual, actual + 2], axis=2)  # quantiles 0.1, 0.5, 0.9
    q[0, 0, 1] = 5.0  # one median error of 1
    levels = (0.1, 0.5, 0.9)

    def pinball(a, f, tau):
        d = a - f
        return np.maximum(tau * d, (tau - 1) * d).sum()

    expected = np.mean([2 * pinball(actual, q[:, :, j], t) / actual.sum() for j, t in enumerate(levels)])
    assert pooled_wql(actual, q, levels) == pytest.approx(expected)
    with pytest.raises(ValueError, match="quantile_forecasts"):
        pooled_wql(actual, q[:, :, :2], levels)


def test_replace_texts_is_seeded_and_keeps_the_texts():
    texts = [f"text {i}" for i in range(20)]
    a, b = replace_texts(texts, "shuffled", seed=3), replace_texts(texts, "shuffled", seed=3)
    assert a == b and sorted(a) == sorted(texts) and a != texts
    assert replace_texts(texts, "shuffled", seed=4) != a
    assert replace_texts(texts, "constant") == [CONSTANT_TEXT] * 20
    assert replace_texts(texts, "real") == texts
    with pytest.raises(ValueError, match="mode"):
        replace_texts(texts, "random")


def test_replace_static_text_changes_only_the_text_column():
    series = [_series([1, 2, 3], text=f"item {i}") for i in range(6)]
    out = replace_static_text(series, "description", "constant")
    assert [s.static_covariates["description"].iloc[0] for s in out] == [CONSTANT_TEXT] * 6
    assert all(float(s.static_covariates["price"].iloc[0]) == 1.5 for s in out)
    assert series[0].static_covariates["description"].iloc[0] == "item 0"  # inputs untouched
    shuffled = replace_static_text(series, "description", "shuffled", seed=1)
    assert [s.static_covariates["description"].iloc[0] for s in shuffled] == replace_texts(
        [f"item {i}" for i in range(6)], "shuffled", seed=1
    )
    np.testing.assert_array_equal(shuffled[2].values(), series[2].values())
    with pytest.raises(ValueError, match="title"):
        replace_static_text(series, "title", "constant")


def test_markdown_table_formats_cells():
    frame = pd.DataFrame({"model": ["a", "b"], "WAPE %": [70.4123, float("nan")], "n": [1, 2], "MAE": [1234.5, 0.5]})
    assert markdown_table(frame).splitlines() == [
        "| model | WAPE % | n | MAE |",
        "|---|---|---|---|",
        "| a | 70.4 | 1 | 1,234 |",
        "| b | n/a | 2 | 0.5 |",
    ]
    assert markdown_table([{"x": 1.0}]) == "| x |\n|---|\n| 1 |"


def test_pooled_mae_weighs_every_point_the_same():
    actual = [_series([10, 0, 5, 5]), _series([1, 1, 2])]
    predicted = [_series([8, 1], start=2), _series([2, 1, 0])]
    assert pooled_mae(actual, predicted) == pytest.approx((3 + 4 + 1 + 0 + 2) / 5)
    assert pooled_mae(np.array([[1.0, 3.0]]), np.array([[2.0, 1.0]])) == pytest.approx(1.5)
