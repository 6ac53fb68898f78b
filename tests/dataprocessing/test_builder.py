"""The covariate-builder shape: fit / past_covariates / future_covariates, and a Darts Pipeline through the adapter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.dataprocessing import Pipeline
from darts.dataprocessing.transformers import Scaler

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing import (
    CovariateBuilder,
    CovariateTransformer,
    TextEvents,
    TextEventsEmbedder,
    TextNeighbours,
)
from darts_llm.dataprocessing.builder import series_keys

DESCRIPTIONS = ["red christmas tree candle", "christmas star", "garden chair blue", "lunch box", "paper cup set"]


def panel(n=30) -> list[TimeSeries]:
    index = pd.date_range("2024-01-01", periods=n, freq="W-MON")
    rng = np.random.default_rng(0)
    return [
        TimeSeries.from_times_and_values(index, rng.poisson(3 + i, n).astype(np.float32)).with_static_covariates(
            pd.DataFrame({"description": [text], "sku": [f"S{i}"]})
        )
        for i, text in enumerate(DESCRIPTIONS)
    ]


def events_for(series: list[TimeSeries]) -> TextEvents:
    index = series[0].time_index
    rows = [(f"S{i % len(series)}", index[j] + pd.Timedelta(days=2), f"note {DESCRIPTIONS[(i + j) % 5]}")
            for i in range(len(series)) for j in range(0, len(index), 3)]
    frame = pd.DataFrame(rows, columns=["sku", "date", "note"])
    return TextEvents(frame, text_col="note", time_col="date", key_col="sku")


@pytest.fixture
def builders(tiny_encoder):
    cache = EmbeddingCache()
    series = panel()
    return series, [
        TextEventsEmbedder(events_for(series), series_key="sku", n_components=2, encoder=tiny_encoder, cache=cache),
        TextNeighbours("description", series_key="sku", k=2, exclude_self=True, encoder=tiny_encoder, cache=cache),
    ]


def test_both_builders_share_the_interface(builders):
    series, found = builders
    train = [ts[:20] for ts in series]
    for builder in found:
        assert isinstance(builder, CovariateBuilder)
        assert not builder.fitted
        with pytest.raises(ValueError, match="fit"):
            builder.past_covariates(train)
        assert builder.fit(train) is builder and builder.fitted
        covs = builder.past_covariates(series)
        assert [c.end_time() for c in covs] == [ts.end_time() for ts in series]
        single = builder.past_covariates(train[0])
        assert isinstance(single, TimeSeries)
        np.testing.assert_array_equal(single.values(), builder.past_covariates(train)[0].values())
    with pytest.raises(ValueError, match="past covariates only"):
        found[1].future_covariates(series, 4)


def test_a_builder_sits_in_a_darts_pipeline(builders):
    series, found = builders
    train = [ts[:20] for ts in series]
    for builder in found:
        pipeline = Pipeline([CovariateTransformer(builder), Scaler()])
        scaled_train = pipeline.fit_transform(train)
        scaled_full = pipeline.transform(series)
        raw = builder.past_covariates(series)
        assert [c.end_time() for c in scaled_full] == [ts.end_time() for ts in series]
        assert [list(c.components) for c in scaled_full] == [list(c.components) for c in raw]
        values = np.concatenate([c.values() for c in scaled_train])
        assert values.min() >= -1e-6 and values.max() <= 1 + 1e-6  # the Scaler saw the covariates, not the targets
    with pytest.raises(ValueError, match="CovariateBuilder"):
        CovariateTransformer(Scaler())
    with pytest.raises(ValueError, match="kind"):
        CovariateTransformer(found[0], kind="both")


def test_future_covariates_through_the_adapter(tiny_encoder):
    index = pd.RangeIndex(0, 20)
    frame = pd.DataFrame({"t": [4, 12, 26], "promo": ["spring sale", "garden chair week", "summer sale"]})
    events = TextEvents(frame, text_col="promo", time_col="t", known_in_advance=True)
    target = TimeSeries.from_times_and_values(index, np.arange(20.0))
    embedder = TextEventsEmbedder(events, n_components=2, encoder=tiny_encoder, cache=EmbeddingCache())
    future = CovariateTransformer(embedder, kind="future", n=3).fit_transform(target)
    assert future.end_time() == 26  # as far as the planned texts reach, at least n steps
    np.testing.assert_array_equal(future.values(), embedder.future_covariates(target, 3).values())
    with pytest.raises(ValueError, match="horizon"):
        CovariateTransformer(embedder, kind="future", n=-1)


def test_series_keys_errors():
    ts = TimeSeries.from_values(np.arange(3.0))
    assert series_keys([ts], None) is None
    assert series_keys([ts, ts], None, keys=["a", "b"]) == ["a", "b"]
    with pytest.raises(ValueError, match="one key per series"):
        series_keys([ts], None, keys=["a", "b"])
    with pytest.raises(ValueError, match="one key per series"):
        series_keys([ts], None, keys="a")
    bad = ts.with_static_covariates(pd.DataFrame({"sku": [None]}))
    with pytest.raises(ValueError, match="must hold one key"):
        series_keys([bad], "sku")
