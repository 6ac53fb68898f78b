"""TextEventsEmbedder: timestamped text -> covariates on each target's own index, without look-ahead."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing import TextEvents, TextEventsEmbedder
from darts_llm.encoders.base import TextEncoder
from darts_llm.errors import TextInputError

WORDS = "red blue green white heart candle holder bag lunch box paper cup vintage garden chair".split()


def sentence(i: int) -> str:
    # distinct lengths and words, so texts differ whatever the tiny tokenizer knows
    return " ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + i % 7))


def target(index: pd.Index, static=None) -> TimeSeries:
    values = np.arange(len(index), dtype=np.float32)
    static = None if static is None else pd.DataFrame(static)
    return TimeSeries.from_times_and_values(index, values, static_covariates=static)


@pytest.fixture
def cache():
    return EmbeddingCache()


EVENT_ARGS = ("text_col", "time_col", "start_col", "end_col", "key_col", "known_in_advance")


def as_events(frame: pd.DataFrame, **columns) -> TextEvents:
    """The test tables use a column "text" and either "time" or "start"/"end"."""
    columns.setdefault("text_col", "text")
    if "time_col" not in columns and "start_col" not in columns:
        if "time" in frame.columns:
            columns["time_col"] = "time"
        else:
            columns.update(start_col="start", end_col="end")
    return TextEvents(frame, **columns)


def embedder(events, encoder, cache, **kwargs):
    kwargs.setdefault("n_components", 3)
    columns = {name: kwargs.pop(name) for name in EVENT_ARGS if name in kwargs}
    return TextEventsEmbedder(as_events(events, **columns), encoder=encoder, cache=cache, **kwargs)


def frame(cov: TimeSeries) -> pd.DataFrame:
    return pd.DataFrame(cov.values(copy=True), index=cov.time_index, columns=cov.components)


# ------------------------------------------------------------------------------------------- alignment
INDEXES = {
    "weekly-monday": pd.date_range("2024-01-01", periods=12, freq="W-MON"),
    "weekly-sunday": pd.date_range("2024-01-07", periods=12, freq="W-SUN"),
    "month-start": pd.date_range("2023-01-01", periods=12, freq="MS"),
    "month-end": pd.date_range("2023-01-31", periods=12, freq="ME"),
    "daily": pd.date_range("2024-03-01", periods=20, freq="D"),
    "range": pd.RangeIndex(10, 34, 2),
}


@pytest.mark.parametrize(
    "index_name, when, expected",
    [
        # label = first label >= the text's time
        ("weekly-monday", "2024-01-03", "2024-01-08"),  # Wednesday -> the next Monday's step
        ("weekly-monday", "2024-01-08", "2024-01-08"),  # on the label itself -> that step
        ("weekly-monday", "2024-01-08 12:00", "2024-01-15"),  # after the label's instant -> next step
        ("weekly-sunday", "2024-01-10", "2024-01-14"),  # week-end labels: the week that contains it
        ("month-start", "2023-03-15", "2023-04-01"),  # month-start labels: the next month
        ("month-start", "2023-03-01", "2023-03-01"),
        ("month-end", "2023-03-15", "2023-03-31"),  # month-end labels: the month that contains it
        ("daily", "2024-03-05 14:00", "2024-03-06"),
        ("daily", "2024-03-05", "2024-03-05"),
        ("range", 13, 14),
        ("range", 14, 14),
    ],
)
def test_a_text_lands_at_the_first_label_at_or_after_it(tiny_encoder, cache, index_name, when, expected):
    index = INDEXES[index_name]
    is_dt = isinstance(index, pd.DatetimeIndex)
    times = [pd.Timestamp(when), pd.Timestamp(when)] if is_dt else [when, when]
    events = pd.DataFrame({"time": times, "text": ["red heart", "blue paper cup set"]})
    cov = embedder(events, tiny_encoder, cache).fit(target(index)).past_covariates(target(index))
    df = frame(cov)
    expected = pd.Timestamp(expected) if is_dt else expected
    assert df["text_count"].to_dict() == {t: (2.0 if t == expected else 0.0) for t in index}
    assert df.loc[expected, "text_steps_since"] == 0
    assert cov.time_index.equals(index)


@pytest.mark.parametrize(
    "index_name, expected",
    [
        ("month-start", ["2023-04-01", "2023-06-01"]),  # a month's report is visible from the next month's step
        ("month-end", ["2023-03-31", "2023-05-31"]),  # labels at month end: the month's own step
        ("weekly-monday", ["2024-01-29"]),  # the week of 01-22..01-28 is visible from the next Monday
    ],
)
def test_a_period_is_visible_only_after_its_end(tiny_encoder, cache, index_name, expected):
    index = INDEXES[index_name]
    events = pd.DataFrame(
        {
            "start": pd.to_datetime(["2023-03-01", "2023-05-01", "2024-01-22"]),
            "end": pd.to_datetime(["2023-03-31", "2023-05-31", "2024-01-28"]),
            "text": ["march report on cups", "may report", "a week"],
        }
    )
    cov = embedder(events, tiny_encoder, cache, n_components=2).fit(target(index)).past_covariates(target(index))
    counts = frame(cov)["text_count"]
    assert counts.index[counts > 0].strftime("%Y-%m-%d").tolist() == expected
    assert counts.sum() == len(expected)


def random_events(index: pd.Index, rng: np.random.Generator, n: int, periods: bool) -> pd.DataFrame:
    if isinstance(index, pd.DatetimeIndex):
        lo, hi = index[0] - pd.Timedelta(days=60), index[-1] + pd.Timedelta(days=30)
        times = pd.to_datetime(rng.integers(lo.value, hi.value, n)).as_unit("ns")
        length = pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    else:
        times = rng.integers(index[0] - 10, index[-1] + 10, n)
        length = rng.integers(0, 6, n)
    out = {"text": [sentence(int(i)) for i in rng.integers(0, 50, n)]}
    if periods:
        out.update(start=times, end=times + length)
    else:
        out["time"] = times
    return pd.DataFrame(out)


@pytest.mark.parametrize("index_name", list(INDEXES))
@pytest.mark.parametrize("periods", [False, True])
@pytest.mark.parametrize("decay", [None, 2.0])
def test_no_look_ahead_property(tiny_encoder, cache, index_name, periods, decay):
    """Adding a text stamped after label t leaves every covariate value at and before t unchanged."""
    index = INDEXES[index_name]
    rng = np.random.default_rng(abs(hash((index_name, periods, decay))) % 2**32)
    events = random_events(index, rng, 15, periods)
    emb = embedder(events, tiny_encoder, cache, decay=decay, max_steps_since=5).fit(target(index))
    base = frame(emb.past_covariates(target(index)))
    for pos in rng.choice(len(index) - 1, size=6, replace=False):
        t = index[pos]
        extra = random_events(index, rng, 3, periods)
        when = "end" if periods else "time"
        step = pd.Timedelta(hours=int(rng.integers(1, 24 * 40))) if isinstance(index, pd.DatetimeIndex) else None
        shift = (lambda k: t + step * (k + 1)) if step is not None else (lambda k: t + 1 + int(rng.integers(0, 8)) + k)
        extra[when] = [shift(k) for k in range(len(extra))]
        if periods:  # periods that started before t but end after it are not visible at t either
            extra["start"] = [min(s, e) for s, e in zip([t] * len(extra), extra["end"])]
        extra["text"] = [f"surprise {sentence(40 + k)}" for k in range(len(extra))]
        more = pd.concat([events, extra], ignore_index=True)
        after = frame(emb.past_covariates(target(index), events=as_events(more)))
        pd.testing.assert_frame_equal(base.loc[:t], after.loc[:t], check_exact=True)
        assert not after.loc[index[pos + 1] :].equals(base.loc[index[pos + 1] :]) or extra[when].max() > index[-1]


def test_fit_uses_only_texts_within_the_training_series(tiny_encoder, cache):
    index = INDEXES["month-start"]
    events = pd.DataFrame(
        {"time": pd.to_datetime(["2023-02-10", "2023-04-02", "2023-06-30"]), "text": [sentence(1), sentence(2), sentence(3)]}
    )
    train = target(index[:6])  # ends 2023-06-01: the June 30 text is not visible yet
    a = embedder(events, tiny_encoder, cache).fit(train)
    assert set(a.projection_.table_) == {sentence(1), sentence(2)}
    later = pd.concat([events, pd.DataFrame({"time": [pd.Timestamp("2023-09-09")], "text": ["test period text"]})])
    b = embedder(later, tiny_encoder, cache).fit(train)
    np.testing.assert_array_equal(a.projection_.pca_.components_, b.projection_.pca_.components_)


# ----------------------------------------------------------------------------------- values and keys
def test_counts_steps_since_and_neutral_values(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=8, freq="W-MON")
    events = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-08", "2024-01-10", "2024-01-11", "2024-02-05"]),
            "text": [sentence(0), sentence(1), sentence(2), sentence(3)],
            "item": ["a", "a", "a", "b"],
        }
    )
    series = [target(index, {"item": ["a"]}), target(index, {"item": ["b"]}), target(index, {"item": ["zzz"]})]
    emb = embedder(events, tiny_encoder, cache, key_col="item", series_key="item", max_steps_since=4)
    a, b, none = (frame(c) for c in emb.fit(series).past_covariates(series))
    assert a["text_count"].tolist() == [0, 1, 2, 0, 0, 0, 0, 0]
    assert a["text_steps_since"].tolist() == [4, 0, 0, 1, 2, 3, 4, 4]
    assert b["text_count"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    # mean of the projected texts of a step
    vec = emb.projection_.transform([sentence(1), sentence(2)]).mean(axis=0)
    np.testing.assert_allclose(a.iloc[2, :3].to_numpy(), vec, rtol=1e-6)
    np.testing.assert_array_equal(a.iloc[0, :3].to_numpy(), 0.0)
    # a series without any text: zeros, zero count, steps_since = the cap, never NaN
    assert not none.isna().any().any()
    np.testing.assert_array_equal(none.to_numpy(), np.tile([0, 0, 0, 0, 4], (8, 1)))


def test_texts_before_the_series_start_count_with_their_age(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=6, freq="D")
    events = pd.DataFrame({"time": pd.to_datetime(["2023-12-29", "2024-01-03"]), "text": [sentence(1), sentence(2)]})
    df = frame(embedder(events, tiny_encoder, cache, max_steps_since=10).fit(target(index)).past_covariates(target(index)))
    assert df["text_steps_since"].tolist() == [3, 4, 0, 1, 2, 3]
    assert df["text_count"].tolist() == [0, 0, 1, 0, 0, 0]


def test_decay_spreads_a_text_over_later_steps(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=6, freq="MS")
    events = pd.DataFrame({"time": pd.to_datetime(["2023-06-01", "2024-02-01"]), "text": [sentence(4), sentence(5)]})
    plain = embedder(events, tiny_encoder, cache)
    decayed = embedder(events, tiny_encoder, cache, decay=1.0)
    plain.fit(target(index))
    decayed.fit(target(index))
    old, vec = decayed.projection_.transform([sentence(4), sentence(5)])
    df = frame(decayed.past_covariates(target(index)))
    # sum_j w_j e_j / max(1, sum_j w_j), w_j = 0.5 ** (age_j / decay); the 2023-06 text is 8 steps old at 2024-02
    for pos, age_new in [(1, 0), (2, 1), (4, 3)]:
        w_new, w_old = 0.5**age_new, 0.5 ** (age_new + 8)
        expected = (w_new * vec + w_old * old) / max(1.0, w_new + w_old)
        np.testing.assert_allclose(df.iloc[pos, :3].to_numpy(), expected, rtol=1e-5, atol=1e-7)
    # before the new text only the old one, 7 steps old at 2024-01
    np.testing.assert_allclose(df.iloc[0, :3].to_numpy(), 0.5**7 * old, rtol=1e-5, atol=1e-7)
    p = frame(plain.past_covariates(target(index)))
    np.testing.assert_array_equal(p.iloc[2, :3].to_numpy(), 0.0)
    assert df["text_count"].tolist() == p["text_count"].tolist()


def test_missing_and_empty_text(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=5, freq="D")
    events = pd.DataFrame(
        {"time": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]), "text": [None, "", np.nan, "red heart"]}
    )
    df = frame(embedder(events, tiny_encoder, cache, n_components=2).fit(target(index)).past_covariates(target(index)))
    assert df["text_count"].tolist() == [0, 1, 1, 1, 1]  # a missing text is still an event
    assert not df.isna().any().any()
    np.testing.assert_array_equal(df.iloc[1, :2].to_numpy(), df.iloc[2, :2].to_numpy())  # None == "" embedding
    np.testing.assert_array_equal(df.iloc[3, :2].to_numpy(), df.iloc[2, :2].to_numpy())  # NaN == ""


def test_fitted_projection_is_reused_on_new_series_and_texts(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    events = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-01-16", "2024-01-20"]),
            "text": [sentence(1), sentence(2), sentence(3), sentence(1)],
            "item": [0, 0, 1, 2],
        }
    )
    emb = embedder(events, tiny_encoder, cache, key_col="item").fit([target(index), target(index)], keys=[0, 1])
    assert set(emb.projection_.table_) == {sentence(1), sentence(2), sentence(3)}
    # a new series (key 2) with a text seen at fit time, given by explicit keys
    new = frame(emb.past_covariates(target(index), keys=[2]))
    np.testing.assert_array_equal(new.iloc[3, :3].to_numpy(), emb.projection_.transform([sentence(1)])[0])
    # new texts are projected with the fitted PCA
    fresh = events.assign(text=["brand new text about chairs", sentence(2), sentence(3), "another one"])
    out = frame(emb.past_covariates(target(index), events=as_events(fresh, key_col="item"), keys=[0]))
    pca = emb.projection_.pca_
    expected = pca.transform(tiny_encoder.encode(["brand new text about chairs"]).astype(np.float64))[0]
    np.testing.assert_allclose(out.iloc[1, :3].to_numpy(), expected, rtol=1e-4, atol=1e-5)


def test_pickle_round_trip_without_encoder_weights(tiny_encoder, cache, monkeypatch):
    index = pd.date_range("2023-01-01", periods=12, freq="MS")
    events = pd.DataFrame(
        {"start": index[:8], "end": index[:8] + pd.offsets.MonthEnd(0), "text": [sentence(i) for i in range(8)]}
    )
    emb = embedder(events, tiny_encoder, cache, decay=3.0).fit(target(index))
    expected = emb.past_covariates(target(index))
    blob = pickle.dumps(emb)
    assert len(blob) < 100_000
    loaded = pickle.loads(blob)
    assert loaded.projection_.get_encoder()._model is None

    def no_encoding(*args, **kwargs):
        raise AssertionError("the encoder must not run for texts seen at fit time")

    with monkeypatch.context() as m:
        m.setattr(TextEncoder, "encode", no_encoding)
        m.setattr(EmbeddingCache, "encode", no_encoding)
        got = loaded.past_covariates(target(index))
    np.testing.assert_array_equal(expected.values(), got.values())
    assert expected.time_index.equals(got.time_index)
    assert loaded.projection_.get_encoder()._model is None


# ------------------------------------------------------------------------------------ known in advance
def test_known_in_advance_texts_are_future_covariates(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=8, freq="W-MON")  # ends 2024-02-19
    promos = pd.DataFrame(
        {
            "start": pd.to_datetime(["2023-12-01", "2024-01-10", "2024-03-06"]),
            "end": pd.to_datetime(["2023-12-05", "2024-01-20", "2024-03-12"]),
            "text": ["december gift wrap offer", "winter sale", "spring garden chair promotion"],
        }
    )
    emb = embedder(promos, tiny_encoder, cache, n_components=2, known_in_advance=True).fit(target(index))
    fut = frame(emb.future_covariates(target(index)))
    # labels are week starts: the December promo is before the series; the next one overlaps the weeks of 01-08 and 01-15, the second those of 03-04, 03-11
    active = fut.index[fut["text_count"] > 0].strftime("%Y-%m-%d").tolist()
    assert active == ["2024-01-08", "2024-01-15", "2024-03-04", "2024-03-11"]
    assert fut.index[0] == index[0] and fut.index[-1] == pd.Timestamp("2024-03-11")  # extends beyond the target
    longer = emb.future_covariates(target(index), 10)
    assert longer.end_time() == index[-1] + 10 * index.freq
    with pytest.raises(ValueError, match="future_covariates"):
        emb.past_covariates(target(index))
    # step_label="end": a step covers (previous label, label]
    sunday = pd.date_range("2024-01-07", periods=8, freq="W-SUN")
    emb_end = embedder(promos, tiny_encoder, cache, n_components=2, known_in_advance=True, step_label="end")
    fut_end = frame(emb_end.fit(target(sunday)).future_covariates(target(sunday)))
    active = fut_end.index[fut_end["text_count"] > 0].strftime("%Y-%m-%d").tolist()
    assert active == ["2024-01-14", "2024-01-21", "2024-03-10", "2024-03-17"]


def test_known_in_advance_column_splits_past_and_future(tiny_encoder, cache):
    index = pd.RangeIndex(0, 20)
    events = pd.DataFrame(
        {"time": [3, 5, 25], "text": [sentence(1), sentence(2), sentence(3)], "planned": [False, True, True]}
    )
    emb = embedder(events, tiny_encoder, cache, n_components=2, known_in_advance="planned").fit(target(index))
    past = frame(emb.past_covariates(target(index)))
    fut = frame(emb.future_covariates(target(index), 3))
    assert past.index[past["text_count"] > 0].tolist() == [3]
    assert fut.index[fut["text_count"] > 0].tolist() == [5, 25]
    assert fut.index[-1] == 25
    assert isinstance(emb.future_covariates(target(index)).time_index, pd.RangeIndex)


def test_covariates_work_in_a_darts_model(tiny_encoder, cache):
    from darts.models import LinearRegressionModel

    index = pd.date_range("2022-01-01", periods=40, freq="MS")
    events = pd.DataFrame({"time": index[::3] + pd.Timedelta(days=9), "text": [sentence(i) for i in range(14)]})
    promos = pd.DataFrame({"time": index[::5].append(pd.DatetimeIndex(["2025-06-01"])), "text": "sale"})
    series = target(index)
    train, _ = series.split_after(0.75)
    past = embedder(events, tiny_encoder, cache, n_components=2, decay=2.0)
    future = embedder(promos.assign(text=[sentence(i) for i in range(len(promos))]), tiny_encoder, cache,
                      n_components=2, known_in_advance=True)
    past_train = past.fit(train).past_covariates(train)
    future.fit(train)
    model = LinearRegressionModel(lags=3, lags_past_covariates=2, lags_future_covariates=[0, 1], output_chunk_length=2)
    model.fit(train, past_covariates=past_train, future_covariates=future.future_covariates(train, 2))
    pred = model.predict(
        4, series=train, past_covariates=past.past_covariates(series), future_covariates=future.future_covariates(series, 4)
    )
    assert len(pred) == 4 and np.all(np.isfinite(pred.values()))


# ---------------------------------------------------------------------------------------------- errors
def test_errors_name_the_problem(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=6, freq="D")
    good = pd.DataFrame({"time": pd.to_datetime(["2024-01-02", "2024-01-03"]), "text": ["red", "blue cup"], "item": ["a", "b"]})
    with pytest.raises(TextInputError, match="text"):
        embedder(good.assign(text=["ok", 42]), tiny_encoder, cache)
    with pytest.raises(ValueError, match=r"no column 'date' \(set by `time_col`\)"):
        embedder(good, tiny_encoder, cache, time_col="date")
    with pytest.raises(ValueError, match="'body'"):
        embedder(good, tiny_encoder, cache, text_col="body")
    with pytest.raises(ValueError, match="time_col"):
        TextEvents(good.drop(columns="time"), text_col="text")
    with pytest.raises(ValueError, match="missing timestamp"):
        embedder(good.assign(time=[pd.Timestamp("2024-01-02"), pd.NaT]), tiny_encoder, cache)
    with pytest.raises(ValueError, match="could not be read as timestamps"):
        embedder(good.assign(time=["yesterday", "today"]), tiny_encoder, cache)
    with pytest.raises(ValueError, match="end before they start"):
        embedder(pd.DataFrame({"start": [5], "end": [3], "text": ["x"]}), tiny_encoder, cache)
    with pytest.raises(ValueError, match="known_in_advance"):
        embedder(good.assign(planned=[1, None]), tiny_encoder, cache, known_in_advance="planned")
    with pytest.raises(ValueError, match="decay"):
        embedder(good, tiny_encoder, cache, decay=0)
    with pytest.raises(ValueError, match="step_label"):
        embedder(good, tiny_encoder, cache, step_label="middle")
    # unknown series key: the static covariate is missing, keys of the wrong type, wrong number of keys
    keyed = embedder(good, tiny_encoder, cache, n_components=1, key_col="item", series_key="item")
    with pytest.raises(ValueError, match=r"no static covariate 'item'"):
        keyed.fit(target(index))
    with pytest.raises(ValueError, match="No series key matches"):
        keyed.fit(target(index, {"item": [1]}))
    with pytest.raises(ValueError, match="one key per series"):
        keyed.fit([target(index)], keys=["a", "b"])
    with pytest.raises(ValueError, match="before transforming"):
        keyed.past_covariates(target(index, {"item": ["a"]}))
    # index kinds must match
    with pytest.raises(ValueError, match="integer time steps"):
        embedder(good, tiny_encoder, cache).fit(target(pd.RangeIndex(0, 5)))
    with pytest.raises(ValueError, match="time zone"):
        embedder(good.assign(time=good["time"].dt.tz_localize("UTC")), tiny_encoder, cache).fit(target(index))
    with pytest.raises(ValueError, match="No event text is available"):
        embedder(good, tiny_encoder, cache).fit(target(pd.date_range("2020-01-01", periods=3, freq="D")))
    with pytest.raises(ValueError, match="horizon"):
        embedder(good, tiny_encoder, cache, known_in_advance=True).fit(target(index)).future_covariates(target(index), -1)


def test_events_are_a_table_with_named_columns(tiny_encoder, cache):
    index = pd.date_range("2024-01-01", periods=6, freq="D")
    frame_ = pd.DataFrame({"when": pd.to_datetime(["2024-01-02", "2024-01-04"]), "body": ["red", "blue cup"],
                           "sku": ["a", "b"]})
    with pytest.raises(ValueError, match=r"must be a darts_llm.dataprocessing.TextEvents.*TextEvents\(frame"):
        TextEventsEmbedder(frame_, encoder=tiny_encoder, cache=cache)
    with pytest.raises(TypeError):
        TextEvents(frame_)  # the text column is never guessed
    with pytest.raises(ValueError, match="time_col"):
        TextEvents(frame_, text_col="body")  # nor the time column
    events = TextEvents(frame_, text_col="body", time_col="when", key_col="sku")
    assert len(events) == 2 and "key_col='sku'" in repr(events)
    emb = TextEventsEmbedder(events, n_components=1, encoder=tiny_encoder, cache=cache)
    with pytest.raises(ValueError, match=r"keyed by events\['sku'\].*series_key"):
        emb.fit(target(index))  # which series is which is never guessed from positions
    emb.fit([target(index), target(index)], keys=["a", "b"])
    a, b = (frame(c) for c in emb.past_covariates([target(index), target(index)], keys=["a", "b"]))
    assert a["text_count"].tolist() == [0, 1, 0, 0, 0, 0] and b["text_count"].tolist() == [0, 0, 0, 1, 0, 0]
    more = events.with_data(pd.concat([frame_, frame_.assign(when=pd.Timestamp("2024-01-05"))], ignore_index=True))
    a2 = frame(emb.past_covariates(target(index), events=more, keys=["a"]))
    assert a2["text_count"].tolist() == [0, 1, 0, 0, 1, 0]
    # the key can also live in the series' metadata
    by_meta = TextEventsEmbedder(events, series_key="sku", n_components=1, encoder=tiny_encoder, cache=cache)
    tagged = [target(index).with_metadata({"sku": key}) for key in ("a", "b")]
    meta = by_meta.fit(tagged).past_covariates(tagged[1])
    assert frame(meta)["text_count"].tolist() == b["text_count"].tolist()


@pytest.mark.parametrize(
    "times",
    [
        ["2024-01-02 00:00+01:00", "2024-06-02 00:00+02:00"],  # strings with two UTC offsets (summer time)
        [pd.Timestamp("2024-01-02", tz="Europe/Paris"), pd.Timestamp("2024-01-03", tz="UTC")],  # two zones
        [pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-03")],  # aware and naive
    ],
)
def test_mixed_utc_offsets_name_the_column_and_the_fix(times):
    events = pd.DataFrame({"published": times, "text": ["a", "b"]})
    with pytest.raises(ValueError, match=r"events\['published'\] mixes .*utc=True"):
        TextEvents(events, text_col="text", time_col="published")
    fixed = events.assign(published=pd.to_datetime(events["published"], utc=True))  # the advice works
    assert TextEvents(fixed, text_col="text", time_col="published").parsed.is_datetime
