"""StaticTextEmbedder: string static covariates -> numeric static covariates."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing import StaticTextEmbedder
from darts_llm.encoders.base import TextEncoder
from darts_llm.errors import TextInputError

# texts of different lengths, so that they differ whatever the tiny tokenizer knows
DESCRIPTIONS = [
    "red heart candle holder",
    "blue paper cup",
    "vintage retro garden chair with star",
    "tea glass",
    "pink party bunting cake stand jumbo set",
]


def make_series(description, price=1.5, n=12, extra=None):
    static = {"description": [description], "price": [price]}
    static.update(extra or {})
    return TimeSeries.from_times_and_values(
        pd.date_range("2024-01-01", periods=n, freq="W-MON"),
        np.arange(n, dtype=np.float32),
        static_covariates=pd.DataFrame(static),
    )


@pytest.fixture
def cache():
    return EmbeddingCache()


@pytest.fixture
def train(tiny_encoder):
    return [make_series(d, price=float(i)) for i, d in enumerate(DESCRIPTIONS)]


def test_fit_transform_replaces_text_columns_in_place(tiny_encoder, cache, train):
    emb = StaticTextEmbedder(n_components=3, encoder=tiny_encoder, cache=cache)
    out = emb.fit_transform(train)
    assert isinstance(out, list) and len(out) == len(train)
    covs = out[2].static_covariates
    assert list(covs.columns) == ["description_emb_0", "description_emb_1", "description_emb_2", "price"]
    assert covs["price"].iloc[0] == 2.0  # other columns untouched
    values = np.stack([s.static_covariates_values()[0, :3] for s in out]).astype(float)
    assert np.all(np.isfinite(values))
    assert np.abs(values).sum() > 0
    # the series values and index are untouched
    np.testing.assert_array_equal(out[0].values(), train[0].values())
    assert out[0].time_index.equals(train[0].time_index)
    assert emb.text_cols_ == ["description"]


def test_single_series_raw_embeddings(tiny_encoder, cache):
    series = make_series("red heart candle holder")
    emb = StaticTextEmbedder(projection=None, encoder=tiny_encoder, cache=cache)
    out = emb.fit_transform(series)
    assert isinstance(out, TimeSeries)
    cols = [c for c in out.static_covariates.columns if c.startswith("description_emb_")]
    assert len(cols) == tiny_encoder.dim
    expected = tiny_encoder.encode(["red heart candle holder"])[0]
    np.testing.assert_allclose(out.static_covariates[cols].to_numpy()[0], expected, rtol=1e-5, atol=1e-6)


def test_pca_needs_two_distinct_texts(tiny_encoder, cache):
    emb = StaticTextEmbedder(n_components=2, encoder=tiny_encoder, cache=cache)
    with pytest.raises(ValueError, match="projection=None"):
        emb.fit(make_series("only one text"))


def test_projection_is_reused_on_new_series(tiny_encoder, cache, train):
    emb = StaticTextEmbedder(n_components=3, encoder=tiny_encoder, cache=cache).fit(train)
    seen = emb.transform(make_series(DESCRIPTIONS[1], price=99.0))
    train_out = emb.transform(train[1])
    np.testing.assert_array_equal(
        seen.static_covariates_values()[0, :3].astype(float), train_out.static_covariates_values()[0, :3].astype(float)
    )
    new = emb.transform(make_series("new product water bottle hot"))
    vec = new.static_covariates_values()[0, :3].astype(float)
    assert np.all(np.isfinite(vec))
    # the fitted PCA is applied to the new text's embedding (not refitted)
    pca = emb.projections_["description"].pca_
    raw = tiny_encoder.encode(["new product water bottle hot"])
    np.testing.assert_allclose(vec, pca.transform(raw.astype(np.float64))[0], rtol=1e-4, atol=1e-5)


def test_more_components_than_texts_pads_with_zeros(tiny_encoder, cache, train):
    emb = StaticTextEmbedder(n_components=8, encoder=tiny_encoder, cache=cache)
    out = emb.fit_transform(train)  # 5 distinct texts -> 5 PCA components, 3 zero columns
    values = np.stack([s.static_covariates_values()[0, :8].astype(float) for s in out])
    assert values.shape == (5, 8)
    np.testing.assert_array_equal(values[:, 5:], 0.0)


@pytest.mark.parametrize("missing", [None, np.nan, float("nan")])
def test_missing_text_is_the_empty_string(tiny_encoder, cache, train, missing):
    emb = StaticTextEmbedder(n_components=3, encoder=tiny_encoder, cache=cache).fit(train + [make_series("")])
    a = emb.transform(make_series(missing)).static_covariates_values()[0, :3].astype(float)
    b = emb.transform(make_series("")).static_covariates_values()[0, :3].astype(float)
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)


def test_non_string_text_names_the_column(tiny_encoder, cache, train):
    bad = TimeSeries.from_values(
        np.zeros(5, dtype=np.float32), static_covariates=pd.DataFrame({"description": [123], "price": [1.0]})
    )
    bad = bad.with_static_covariates(bad.static_covariates.astype({"description": object}))
    emb = StaticTextEmbedder(text_cols="description", n_components=2, encoder=tiny_encoder, cache=cache)
    with pytest.raises(TextInputError, match=r"description.*series\[5\]|series\[5\].*description"):
        emb.fit(train + [bad])
    emb.fit(train)
    with pytest.raises(TextInputError, match="description"):
        emb.transform(bad)


def test_numeric_column_listed_as_text_is_an_error(tiny_encoder, cache, train):
    emb = StaticTextEmbedder(text_cols=["description", "price"], encoder=tiny_encoder, cache=cache)
    with pytest.raises(TextInputError, match="price"):
        emb.fit(train)


def test_missing_columns_and_static_covariates(tiny_encoder, cache, train):
    emb = StaticTextEmbedder(n_components=2, encoder=tiny_encoder, cache=cache).fit(train)
    other = TimeSeries.from_values(np.zeros(4), static_covariates=pd.DataFrame({"title": ["a b"], "price": [1.0]}))
    with pytest.raises(ValueError, match="'description'"):
        emb.transform(other)
    with pytest.raises(ValueError, match="no static covariates"):
        emb.transform(TimeSeries.from_values(np.zeros(4)))
    with pytest.raises(ValueError, match="No text column"):
        StaticTextEmbedder(encoder=tiny_encoder, cache=cache).fit(
            TimeSeries.from_values(np.zeros(4), static_covariates=pd.DataFrame({"price": [1.0]}))
        )
    with pytest.raises(ValueError, match="fit"):
        StaticTextEmbedder(encoder=tiny_encoder, cache=cache).transform(train[0])


def test_bad_parameters():
    with pytest.raises(ValueError, match="projection"):
        StaticTextEmbedder(projection="umap")
    with pytest.raises(ValueError, match="n_components"):
        StaticTextEmbedder(n_components=0)
    with pytest.raises(ValueError, match="cache"):
        StaticTextEmbedder(cache="/tmp")
    with pytest.raises(ValueError, match="text_cols"):
        StaticTextEmbedder(text_cols=[])


def test_text_cols_inferred_and_several_text_columns(tiny_encoder, cache):
    series = [
        make_series(d, extra={"title": [t], "store": [s]})
        for d, t, s in zip(DESCRIPTIONS, ["a", "b c", "d e f", "g", "h i j k"], ["x", "y", "x", "y", "x"])
    ]
    out = StaticTextEmbedder(n_components=2, encoder=tiny_encoder, cache=cache).fit_transform(series)
    assert list(out[0].static_covariates.columns) == [
        "description_emb_0", "description_emb_1", "price", "title_emb_0", "title_emb_1", "store_emb_0", "store_emb_1",
    ]
    only = StaticTextEmbedder(text_cols="title", n_components=2, encoder=tiny_encoder, cache=cache)
    covs = only.fit_transform(series)[0].static_covariates
    assert list(covs.columns) == ["description", "price", "title_emb_0", "title_emb_1", "store"]
    assert covs["store"].iloc[0] == "x"


def test_multivariate_series_one_text_per_component(tiny_encoder, cache):
    static = pd.DataFrame({"description": ["red heart candle", "blue paper cup set of"]}, index=["a", "b"])
    series = TimeSeries.from_values(np.zeros((6, 2)), columns=["a", "b"], static_covariates=static)
    out = StaticTextEmbedder(n_components=1, encoder=tiny_encoder, cache=cache).fit_transform(series)
    values = out.static_covariates_values().astype(float)
    assert values.shape == (2, 1) and values[0, 0] != values[1, 0]


def test_pickle_round_trip_without_encoder_weights(tiny_encoder, cache, train, monkeypatch):
    emb = StaticTextEmbedder(n_components=3, encoder=tiny_encoder, cache=cache).fit(train)
    expected = [s.static_covariates_values() for s in emb.transform(train)]
    blob = pickle.dumps(emb)
    assert len(blob) < 100_000  # a fitted PCA and a few vectors, no weights
    loaded = pickle.loads(blob)
    projection = loaded.projections_["description"]
    assert projection.get_encoder()._model is None  # weights not pickled

    def no_encoding(*args, **kwargs):
        raise AssertionError("the encoder must not run for texts seen at fit time")

    with monkeypatch.context() as m:
        m.setattr(TextEncoder, "encode", no_encoding)
        m.setattr(EmbeddingCache, "encode", no_encoding)
        got = [s.static_covariates_values() for s in loaded.transform(train)]
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a.astype(float), b.astype(float))
    assert projection.get_encoder()._model is None
    # a new text loads the encoder from the stored spec
    new = loaded.transform(make_series("new product alarm clock"))
    assert np.all(np.isfinite(new.static_covariates_values()[0, :3].astype(float)))
    assert projection.get_encoder()._model is not None


def test_works_with_a_darts_regression_model(tiny_encoder, cache, train):
    from darts.models import LinearRegressionModel

    out = StaticTextEmbedder(n_components=2, encoder=tiny_encoder, cache=cache).fit_transform(train)
    model = LinearRegressionModel(lags=2, use_static_covariates=True)
    model.fit(out)
    pred = model.predict(2, series=out[:2])
    assert len(pred) == 2 and len(pred[0]) == 2


@pytest.mark.parametrize("missing", [pd.NA, pd.NaT, np.float32("nan")], ids=["pd.NA", "pd.NaT", "np.float32-nan"])
def test_pandas_missing_values_are_the_empty_string(tiny_encoder, cache, train, missing):
    emb = StaticTextEmbedder(n_components=3, encoder=tiny_encoder, cache=cache).fit(train + [make_series(missing)])
    a = emb.transform(make_series(missing)).static_covariates_values()[0, :3].astype(float)
    b = emb.transform(make_series("")).static_covariates_values()[0, :3].astype(float)
    np.testing.assert_array_equal(a, b)
    string_dtype = make_series("x").with_static_covariates(
        pd.DataFrame({"description": pd.array([None], dtype="string"), "price": [1.0]})
    )
    np.testing.assert_array_equal(emb.transform(string_dtype).static_covariates_values()[0, :3].astype(float), b)


def test_advice_for_non_text_never_suggests_astype_str(tiny_encoder, cache, train):
    bad = make_series("x").with_static_covariates(pd.DataFrame({"description": [12.5], "price": [1.0]}, dtype=object))
    emb = StaticTextEmbedder(text_cols="description", n_components=2, encoder=tiny_encoder, cache=cache).fit(train)
    with pytest.raises(TextInputError) as info:
        emb.transform(bad)
    message = str(info.value)
    assert "astype('string')" in message and "would embed 'nan'" in message


def test_text_columns_are_found_in_any_series(tiny_encoder, cache, train):
    first_missing = [make_series(np.nan, price=9.0)] + train  # pandas types that group's description as float
    emb = StaticTextEmbedder(n_components=2, encoder=tiny_encoder, cache=cache).fit(first_missing)
    assert emb.text_cols_ == ["description"]
    mixed = train + [make_series("x").with_static_covariates(pd.DataFrame({"description": [3.0], "price": [1.0]}))]
    with pytest.raises(TextInputError, match=r"'description'.*series\[0\].*number in series\[5\]"):
        StaticTextEmbedder(encoder=tiny_encoder, cache=cache).fit(mixed)
