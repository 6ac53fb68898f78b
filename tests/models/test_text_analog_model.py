"""TextAnalogModel and LaunchCurveModel: launch forecasts from age-aligned analogs, without look-ahead."""

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from darts_llm import EmbeddingCache
from darts_llm.models import LaunchCurveModel, TextAnalogModel

TIMES = pd.date_range("2021-01-03", periods=40, freq="W")
GROUPS = {"alpha garden lamp": 40.0, "omega paper napkin": 2.0}


def catalogue(seed: int = 0, n: int = 40) -> list[TimeSeries]:
    """Products of two kinds launched over time: the text says which kind (and so how much it sells)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        text = list(GROUPS)[i % 2]
        start = 1 + (i * 29) // n  # launches spread over the first 30 weeks, none at the first week
        age = np.arange(len(TIMES) - start)
        units = rng.poisson(GROUPS[text] * np.exp(-age / 12.0) + 0.2).astype(np.float32)
        units[0] = max(units[0], 1.0)  # the series starts at the first sale
        static = pd.DataFrame({"description": [text], "price": [5.0 + i % 3]})
        out.append(TimeSeries.from_times_and_values(TIMES[start:], units[:, None], static_covariates=static))
    return out


@pytest.fixture
def model_kwargs(tiny_encoder):
    return {"text_encoder": tiny_encoder, "n_analogs": 5, "cache": EmbeddingCache()}


def products(texts, launch) -> pd.DataFrame:
    return pd.DataFrame({"description": texts, "price": [6.0] * len(texts), "launch": [launch] * len(texts)})


def test_forecast_follows_the_text_of_a_new_product(model_kwargs):
    model = TextAnalogModel(**model_kwargs).fit(catalogue())
    high, low = model.predict_new_products(products(list(GROUPS), TIMES[-2]), n=4, launch_col="launch")
    assert high.start_time() == TIMES[-2] and len(high) == 4
    assert high.values().mean() > 5 * low.values().mean()
    # the same product with the other kind's description gets the other kind's forecast
    swapped = model.predict_new_products(products(list(GROUPS)[::-1], TIMES[-2]), n=4, launch_col="launch")
    np.testing.assert_allclose(swapped[0].values(), low.values(), rtol=1e-5)


def test_first_weeks_update_the_scale(model_kwargs):
    series = catalogue()
    model = TextAnalogModel(**model_kwargs).fit(series)
    static = series[0].static_covariates
    start = TIMES[-6]
    strong = TimeSeries.from_times_and_values(TIMES[-8:-6], np.array([[90.0], [80.0]], np.float32), static_covariates=static)
    weak = TimeSeries.from_times_and_values(TIMES[-8:-6], np.array([[1.0], [0.0]], np.float32), static_covariates=static)
    f_strong, f_weak = model.predict(4, series=[strong, weak])
    assert f_strong.start_time() == start
    assert f_strong.values().mean() > 3 * f_weak.values().mean()


def test_save_and_load_give_identical_forecasts(model_kwargs, tmp_path):
    series = catalogue()
    model = TextAnalogModel(**model_kwargs).fit(series)
    expected = model.predict(3, series=[s[:2] for s in series[-4:]])
    path = tmp_path / "analog.pkl"
    model.save(str(path))
    loaded = TextAnalogModel.load(str(path))
    for a, b in zip(expected, loaded.predict(3, series=[s[:2] for s in series[-4:]])):
        np.testing.assert_array_equal(a.values(), b.values())


def test_no_look_ahead_in_analog_curves(model_kwargs):
    """Sales after the forecast's first step, of any training product, do not change the forecast."""
    series = catalogue()
    cutoff = TIMES[32]
    changed = [
        s.drop_after(cutoff).append_values(s.drop_before(cutoff - TIMES.freq).values() * 50)
        if s.end_time() >= cutoff
        else s
        for s in series
    ]
    query = products(list(GROUPS), cutoff)
    a = TextAnalogModel(scale="analogs", **model_kwargs).fit(series)
    b = TextAnalogModel(scale="analogs", **model_kwargs).fit(changed)
    for x, y in zip(a.predict_new_products(query, 4, start=cutoff), b.predict_new_products(query, 4, start=cutoff)):
        np.testing.assert_allclose(x.values(), y.values(), rtol=1e-6)
    cov_a = a.launch_covariates([s.drop_after(cutoff) for s in series[-3:]], 4)
    cov_b = b.launch_covariates([s.drop_after(cutoff) for s in series[-3:]], 4)
    for x, y in zip(cov_a, cov_b):
        assert x.end_time() == series[-1].drop_after(cutoff).end_time() + 4 * TIMES.freq
        np.testing.assert_allclose(x.values(), y.values(), rtol=1e-6)


def test_samples_give_quantiles_around_the_point_forecast(model_kwargs):
    model = TextAnalogModel(**model_kwargs).fit(catalogue())
    query = products([list(GROUPS)[0]], TIMES[-3])
    point = model.predict_new_products(query, 3, start=TIMES[-3])[0]
    samples = model.predict_new_products(query, 3, start=TIMES[-3], num_samples=300, random_state=0)[0]
    assert samples.n_samples == 300
    low, high = samples.quantile(0.1).values(), samples.quantile(0.9).values()
    assert (low <= point.values() + 1e-6).all() and (point.values() <= high + 1e-6).all() and (high > low).all()
    again = model.predict_new_products(query, 3, start=TIMES[-3], num_samples=300, random_state=0)[0]
    np.testing.assert_array_equal(samples.all_values(), again.all_values())


def test_historical_forecasts_and_backtest(model_kwargs):
    from darts.metrics import mae

    series = catalogue()
    model = TextAnalogModel(**model_kwargs).fit(series)
    late = [s for s in series if s.start_time() > TIMES[20]][:2]
    forecasts = model.historical_forecasts(late, start=2, start_format="position", forecast_horizon=2, retrain=False)
    assert len(forecasts) == 2 and all(len(f) > 0 for f in forecasts)
    errors = model.backtest(late, start=2, start_format="position", forecast_horizon=2, retrain=False, metric=mae)
    assert np.isfinite(errors).all()


def test_launch_curve_model_by_category_and_by_price():
    series = catalogue()
    for s_i, s in enumerate(series):
        static = s.static_covariates.assign(kind=s.static_covariates["description"].str.split().str[0])
        series[s_i] = s.with_static_covariates(static)
    by_kind = LaunchCurveModel(by="kind", n_analogs=5).fit(series)
    query = pd.DataFrame({"kind": ["alpha", "omega"], "price": [6.0, 6.0]})
    high, low = by_kind.predict_new_products(query, 4, start=TIMES[-4])
    assert high.values().mean() > 5 * low.values().mean()
    everything = LaunchCurveModel().fit(series).predict_new_products(query, 4, start=TIMES[-4])
    np.testing.assert_allclose(everything[0].values(), everything[1].values())
    assert low.values().mean() < everything[0].values().mean() < high.values().mean()
    by_price = LaunchCurveModel(by="price", n_analogs=5).fit(series)
    assert len(by_price.predict_new_products(query, 2, start=TIMES[-4])) == 2


def test_launch_covariates_feed_another_darts_model(model_kwargs):
    from darts.models import LinearRegressionModel

    series = catalogue()
    model = TextAnalogModel(**model_kwargs).fit(series)
    train = [s.drop_after(TIMES[30]) for s in series[:20]]
    covariates = model.launch_covariates(train, 4)
    assert covariates[0].components.tolist() == ["analog_level", "launched", "age"]
    regression = LinearRegressionModel(
        lags=1, lags_future_covariates=[0, 1], output_chunk_length=4, use_static_covariates=False
    )
    regression.fit(train, future_covariates=covariates)
    assert len(regression.predict(4, series=train[:2], future_covariates=covariates[:2])[0]) == 4


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, s: m.predict(2, series=s[0]), "must be fitted"),
        (lambda m, s: m.fit(s, future_covariates=s), "does not use `future_covariates`"),
        (lambda m, s: m.fit([s[0].stack(s[0])]), "univariate"),
        (lambda m, s: m.fit([x.with_static_covariates(None) for x in s]), "no string static covariate"),
        (lambda m, s: m.fit(s[:1]), "launch"),
    ],
)
def test_bad_input_is_refused_with_the_fix(model_kwargs, call, message):
    with pytest.raises(ValueError, match=message):
        call(TextAnalogModel(**model_kwargs), catalogue())


def test_bad_catalogue_is_refused(model_kwargs):
    model = TextAnalogModel(**model_kwargs).fit(catalogue())
    with pytest.raises(ValueError, match="lacks the columns"):
        model.predict_new_products(pd.DataFrame({"description": ["x"]}), 2, start=TIMES[-1])
    with pytest.raises(ValueError, match="exactly one of"):
        model.predict_new_products(products(["x"], TIMES[-1]), 2)
    with pytest.raises(ValueError, match="not on the training series' frequency"):
        model.predict_new_products(products(["x"], TIMES[-1] + pd.Timedelta(days=2)), 2, launch_col="launch")
    with pytest.raises(ValueError, match="`n_analogs`"):
        TextAnalogModel(n_analogs=0)
    with pytest.raises(ValueError, match="`scale`"):
        TextAnalogModel(scale="linear")


def test_analogs_are_the_similar_earlier_launches_known_before_the_forecast(model_kwargs):
    model = TextAnalogModel(**model_kwargs).fit(catalogue())
    start = TIMES[30]
    series = model.new_product_series(products([list(GROUPS)[0]], start), launch_col="launch")
    (frame,) = model.analogs(series, top=3)
    assert len(frame) == 3 and (frame["description"] == list(GROUPS)[0]).all()
    assert frame["similarity"].is_monotonic_decreasing and (frame["weight"] > 0).all()
    (everything,) = model.analogs(series)
    assert np.isclose(everything["weight"].sum(), 1.0) and len(everything) >= 5
    for launch, curve in zip(frame["launch"], frame["curve"]):
        ages_known = np.flatnonzero(np.isfinite(curve))
        assert launch + ages_known.max() * TIMES.freq < start  # nothing at or after the forecast start


def test_a_second_fit_reads_its_own_columns(model_kwargs):
    model = TextAnalogModel(**model_kwargs).fit(catalogue())
    without_price = [s.with_static_covariates(s.static_covariates[["description"]]) for s in catalogue(seed=1)]
    model.fit(without_price)
    (forecast,) = model.predict_new_products(pd.DataFrame({"description": [list(GROUPS)[0]]}), 2, start=TIMES[-2])
    assert len(forecast) == 2


def test_launch_curve_model_without_static_covariates_and_with_a_missing_price():
    plain = [s.with_static_covariates(None) for s in catalogue()]
    (forecast,) = LaunchCurveModel().fit(plain).predict(2, series=[plain[-1][:2]])
    assert len(forecast) == 2 and np.isfinite(forecast.values()).all()
    model = LaunchCurveModel(scale="ridge").fit(catalogue())
    with pytest.raises(ValueError, match=r"\['price'\] have missing values"):
        model.predict_new_products(pd.DataFrame({"price": [np.nan], "description": ["x"]}), 2, start=TIMES[-2])
    with pytest.raises(ValueError, match="`launch_col` value"):
        model.predict_new_products(pd.DataFrame({"price": [1.0], "launch": [pd.NaT]}), 2, launch_col="launch")


def test_zero_padding_before_a_launch_changes_nothing(model_kwargs):
    """Weeks of zeros before the first sale (a padded panel) are not sales: the same forecasts as without them."""
    series = catalogue()
    padded = [s.prepend_values(np.zeros(2, dtype=np.float32)) if s.start_time() > TIMES[3] else s for s in series]
    query = products(list(GROUPS), TIMES[-3])
    a = TextAnalogModel(**model_kwargs).fit(series).predict_new_products(query, 3, start=TIMES[-3])
    b = TextAnalogModel(**model_kwargs).fit(padded).predict_new_products(query, 3, start=TIMES[-3])
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.values(), y.values(), rtol=1e-5)


def test_queries_compared_a_chunk_at_a_time_give_the_same_forecasts(model_kwargs, monkeypatch):
    import darts_llm.models.launch_analogs as analogs

    series = catalogue()
    whole = TextAnalogModel(**model_kwargs).fit(series)
    queries = [s[:2] for s in series[-7:]]
    expected = [f.values() for f in whole.predict(3, series=queries)]
    expected_covs = [c.values() for c in whole.launch_covariates(queries, 3)]
    monkeypatch.setattr(analogs, "QUERY_CHUNK", 2)  # fit and forecasts see at most 2 x products similarities
    chunked = TextAnalogModel(**model_kwargs).fit(series)
    for a, b in zip(expected, chunked.predict(3, series=queries)):
        np.testing.assert_allclose(b.values(), a, rtol=1e-10)
    for a, b in zip(expected_covs, chunked.launch_covariates(queries, 3)):
        np.testing.assert_allclose(b.values(), a, rtol=1e-10)
    assert [len(a) for a in chunked.analogs(queries, top=3)] == [len(a) for a in whole.analogs(queries, top=3)]


def growing_launches(n: int = 30) -> list[TimeSeries]:
    """One kind of product, launched week after week, each launch selling more than the one before."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        start = 1 + i
        units = rng.poisson(1.0 + 2.0 * i, len(TIMES) - start).astype(np.float32)
        units[0] = max(units[0], 1.0)
        static = pd.DataFrame({"description": ["alpha garden lamp"], "price": [5.0]})
        out.append(TimeSeries.from_times_and_values(TIMES[start:], units[:, None], static_covariates=static))
    return out


@pytest.mark.parametrize("scale", ["analogs", "ridge"])
def test_recent_launches_weigh_more_with_a_recency_half_life(scale):
    series = growing_launches()
    catalogue_frame = pd.DataFrame({"price": [5.0], "launch": [TIMES[-2]]})

    def new_product(**kwargs):
        model = LaunchCurveModel(scale=scale, n_analogs=40, **kwargs).fit([s.with_static_covariates(
            s.static_covariates[["price"]]) for s in series])
        return model.predict_new_products(catalogue_frame, n=4, launch_col="launch")[0].values().mean()

    alike, recent = new_product(), new_product(recency_half_life=4)
    if scale == "analogs":  # (the ridge scale also reads the shop's recent sales, which grow with the launches)
        # launches grow over time: weighing the recent ones more forecasts a larger launch
        assert recent > 1.3 * alike
    else:
        assert recent != pytest.approx(alike, rel=1e-3)
    # a half-life far longer than the data weighs every launch alike
    np.testing.assert_allclose(new_product(recency_half_life=1e9), alike, rtol=1e-6)


def test_recency_half_life_survives_save_load_and_old_models_read_without_it(model_kwargs, tmp_path):
    series = catalogue()
    model = TextAnalogModel(recency_half_life=6, **model_kwargs).fit(series)
    expected = model.predict(3, series=[s[:2] for s in series[-4:]])
    path = tmp_path / "recent.pkl"
    model.save(str(path))
    loaded = TextAnalogModel.load(str(path))
    assert loaded.recency_half_life == 6
    for a, b in zip(expected, loaded.predict(3, series=[s[:2] for s in series[-4:]])):
        np.testing.assert_array_equal(a.values(), b.values())


def test_a_model_saved_before_the_options_existed_keeps_forecasting_and_refitting_without_them(model_kwargs):
    series = [s.drop_after(TIMES[34]) for s in growing_launches()]
    queries = [s[:2] for s in series[-4:]]
    corrected = TextAnalogModel(scale="analogs", **model_kwargs).fit(series)
    plain = TextAnalogModel(scale="analogs", recent_launch_correction=False, **model_kwargs).fit(series)
    assert corrected._prior.offset > 0.5  # (so that the two differ)
    # the state such a model pickled: none of the new attributes, parameters or the prior's offset
    state = plain.__getstate__()
    for attribute in ("recency_half_life", "_recency", "recent_launch_correction"):
        state.pop(attribute)
        state["_model_params"].pop(attribute, None)
    del plain._prior.__dict__["offset"]
    old = TextAnalogModel.__new__(TextAnalogModel)
    old.__setstate__(state)
    for a, b in zip(plain.predict(3, series=queries), old.predict(3, series=queries)):
        np.testing.assert_array_equal(a.values(), b.values())
    assert not old.recent_launch_correction and old.recency_half_life is None
    # `untrained_model()` (historical_forecasts with retrain, backtest) rebuilds it as it was: no correction
    assert old.untrained_model().recent_launch_correction is False


@pytest.mark.parametrize("bad", [0, -2.0, True, "13"])
def test_bad_recency_half_life_is_refused(bad):
    with pytest.raises(ValueError, match="`recency_half_life` must be a positive number"):
        LaunchCurveModel(recency_half_life=bad)


def test_recent_launch_correction_follows_launches_that_sell_more_than_earlier_ones():
    series = [s.with_static_covariates(s.static_covariates[["price"]]).drop_after(TIMES[34]) for s in growing_launches()]
    frame = pd.DataFrame({"price": [5.0], "launch": [TIMES[34]]})

    def fitted(correct):
        return LaunchCurveModel(recent_launch_correction=correct).fit(series)

    plain, corrected = fitted(False), fitted(True)
    assert plain._prior.offset == 0.0 and corrected._prior.offset > 0.5
    before, after = (m.predict_new_products(frame, n=4, launch_col="launch")[0].values().mean() for m in (plain, corrected))
    # the launches of the last weeks sell ~60 a week: the corrected forecast is near them, the plain one far below
    assert after > 2 * before and abs(after - 60) < abs(before - 60)


def test_recent_launch_correction_leaves_a_steady_catalogue_nearly_alone(model_kwargs):
    series = [s.drop_after(TIMES[34]) for s in catalogue()]
    corrected = TextAnalogModel(recent_launch_correction=True, **model_kwargs).fit(series)
    # launches of each kind sell alike over time: the measured miss is small and shrunk
    assert abs(corrected._prior.offset) < 0.3


def test_bad_recent_launch_correction_is_refused():
    with pytest.raises(ValueError, match="`recent_launch_correction` must be True or False"):
        TextAnalogModel(recent_launch_correction="yes")


def test_shrunk_mean_trusts_a_mean_only_beyond_its_standard_error():
    from darts_llm.models.launch_scale import shrunk_mean

    steady = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
    assert shrunk_mean(steady, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(1.0, abs=0.02)
    # the same values in one group: no standard error can be estimated, so no shift
    assert shrunk_mean(steady, np.zeros(6)) == 0.0
    # a mean well inside its noise over groups is shrunk to 0
    noisy = np.array([2.0, 2.0, -1.9, -1.9, 0.1, 0.1])
    assert shrunk_mean(noisy, np.array([0, 0, 1, 1, 2, 2])) == 0.0


def test_bad_launches_after_is_refused_with_what_it_must_be():
    series = [s.with_static_covariates(s.static_covariates[["price"]]) for s in catalogue()]
    with pytest.raises(ValueError, match="`launches_after` must be a timestamp"):
        LaunchCurveModel(launches_after="not a date").fit(series)
    ranged = [TimeSeries.from_values(s.values(), static_covariates=s.static_covariates) for s in series]
    with pytest.raises(ValueError, match="`launches_after` must be an integer for series with a range index"):
        LaunchCurveModel(launches_after=TIMES[3]).fit(ranged)
