"""New products: short and empty histories (``min_input_chunk_length``), masking, history dropout.

Tiny random BERT encoder, tiny backbones, 1-3 epochs on the synthetic panel of ``test_text_models``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from darts import TimeSeries
from darts.utils.data.torch_datasets.utils import TorchTrainingSample
from darts.utils.likelihood_models import QuantileRegression
from test_text_models import DESCRIPTIONS, make_panel, tide, values

from darts_llm.models import (
    TextBlockRNNModel,
    TextTFTModel,
    TextTiDEModel,
    TextTSMixerModel,
    cold_start,
)
from darts_llm.models.cold_start import HistoryDropout, mask_inputs

TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}
ICL, OCL = 8, 4


def new_products(descriptions, skus=None, prices=None) -> pd.DataFrame:
    k = len(descriptions)
    return pd.DataFrame({
        "sku": skus if skus is not None else list(range(k)),
        "description": list(descriptions),
        "price": prices if prices is not None else [2.5] * k,
    })


@pytest.fixture(scope="module")
def panel():
    return make_panel()


@pytest.fixture(scope="module")
def cold_model(tiny_encoder, panel):
    """A TiDE fitted with min_input_chunk_length=1 and history dropout (shared: prediction-only tests)."""
    # the text used unchecked: these tests follow it into the forecasts of products without history
    return tide(tiny_encoder, TRAINER, n_epochs=3, min_input_chunk_length=1, short_history_prob=0.3,
                text_min_gain=None).fit(panel)


# --------------------------------------------------------------------------------------------- short histories
def test_forecasts_from_zero_one_and_two_observations(cold_model, panel):
    model = cold_model
    assert model.min_input_chunk_length == 1 and model.masks_missing_history
    assert model.model.observed_mask is True
    end = panel[0].end_time()
    short = [panel[0][-1:], panel[1][-2:]]  # 1 and 2 observed weeks
    for n in (OCL, 6):  # 6 > output_chunk_length: auto-regression over the padded input
        forecasts = model.predict(n, series=short)
        new = model.predict_new_products(new_products(DESCRIPTIONS[2:4]), start=end + 1, n=n)
        for f in [*forecasts, *new]:
            assert len(f) == n and np.isfinite(f.all_values()).all()
            assert f.start_time() == end + 1
    # the new products' forecasts carry their static covariates
    assert [f.static_covariates["description"].iloc[0] for f in new] == DESCRIPTIONS[2:4]


def test_new_product_series_are_empty_histories(cold_model):
    series = cold_model.new_product_series(new_products(["red heart"]), start=40)
    assert len(series) == 1 and len(series[0]) == 1 and series[0].end_time() == 39
    assert np.isnan(series[0].values()).all()
    assert series[0].static_covariates.columns.tolist() == ["sku", "description", "price"]


def test_description_changes_a_cold_start_forecast(cold_model):
    products = new_products([DESCRIPTIONS[1], DESCRIPTIONS[4], "christmas tree light set"], skus=[7, 7, 7])
    forecasts = values(cold_model.predict_new_products(products, start=30, n=OCL))
    assert not np.allclose(forecasts[0], forecasts[1])
    assert not np.allclose(forecasts[1], forecasts[2])
    # and nothing but the text differs between them: the same text gives the same forecast
    again = values(cold_model.predict_new_products(products.iloc[[1]], start=30, n=OCL))
    np.testing.assert_allclose(again[0], forecasts[1], rtol=1e-5)


def test_masked_padding_differs_from_zero_sales(cold_model, panel):
    series = panel[2]
    two = series[-2:]  # Darts pads 6 steps with NaN
    zeros = np.concatenate([np.zeros(ICL - 2, dtype=np.float32), two.values()[:, 0]])
    times = pd.RangeIndex(series.end_time() - ICL + 1, series.end_time() + 1)
    with_zeros = TimeSeries.from_times_and_values(times, zeros, static_covariates=series.static_covariates)
    with_nans = TimeSeries.from_times_and_values(
        times, np.where(np.arange(ICL) < ICL - 2, np.nan, zeros).astype(np.float32),
        static_covariates=series.static_covariates,
    )
    padded, zero, nan = (values(cold_model.predict(OCL, series=[s]))[0] for s in (two, with_zeros, with_nans))
    assert not np.allclose(padded, zero, atol=1e-4)
    np.testing.assert_allclose(padded, nan, rtol=1e-6)  # NaN in a series = padding: masked alike


def test_no_mask_channel_without_min_input_chunk_length(tiny_encoder, panel, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("masking used")

    monkeypatch.setattr(cold_start, "mask_inputs", fail)
    monkeypatch.setattr("darts_llm.models.fusion.mask_inputs", fail)
    model = tide(tiny_encoder, TRAINER, n_epochs=1).fit(panel)
    assert model.min_input_chunk_length == ICL and not model.masks_missing_history
    assert model.short_history_prob == 0.0
    assert model.model.observed_mask is False and model.model.backbone.past_cov_dim == 0
    model.predict(OCL, series=panel)
    with pytest.raises(ValueError, match="too short"):
        model.predict(OCL, series=panel[0][-2:])


def test_mask_is_the_last_past_covariate_channel(cold_model):
    assert cold_model.model.backbone.past_cov_dim == 1  # no user past covariates: the mask only
    target = torch.tensor([[[np.nan], [np.nan], [2.0], [3.0]]])
    covs = torch.tensor([[[np.nan], [np.nan], [5.0], [6.0]]])
    x_in, observed = mask_inputs(_module_input(target, covs))
    assert observed[0, :, 0].tolist() == [False, False, True, True]
    assert x_in.past_target[0, :, 0].tolist() == [0.0, 0.0, 2.0, 3.0]
    assert x_in.past_covariates[0].tolist() == [[0.0, 0.0], [0.0, 0.0], [5.0, 1.0], [6.0, 1.0]]
    assert torch.isnan(target).sum() == 2  # the caller's tensors are unchanged


def _module_input(target, covs):
    from darts.utils.data.torch_datasets.utils import PLModuleInput

    return PLModuleInput(past_target=target, past_covariates=covs)


# --------------------------------------------------------------------------------------------- training
def test_history_dropout_keeps_the_last_observed_steps():
    past = np.arange(1.0, 9.0, dtype=np.float32)[:, None]
    past[:2] = np.nan  # Darts padding
    sample = TorchTrainingSample(
        past_target=past, past_covariates=past * 10, historic_future_covariates=None,
        future_covariates=None, static_covariates=None, future_target=np.ones((4, 1), dtype=np.float32),
    )
    dropout = HistoryDropout(prob=1.0, max_keep=2, seed=3, n_samples=200)
    kept = []
    for index in range(200):
        out = dropout(index, sample)
        observed = ~np.isnan(out.past_target[:, 0])
        j = int(observed.sum())
        kept.append(j)
        assert j <= 2 and observed[len(observed) - j:].all()  # the last j steps survive
        np.testing.assert_array_equal(np.isnan(out.past_covariates[:, 0]), ~observed)
        np.testing.assert_array_equal(out.future_target, sample.future_target)
    assert set(kept) == {0, 1, 2}
    assert np.isnan(past).sum() == 2  # the sample's arrays are untouched
    # reproducible from the seed; a new visit of an index draws anew
    first = [int(np.isnan(HistoryDropout(1.0, 2, 3, 200)(i, sample).past_target).sum()) for i in range(50)]
    assert first == [8 - j for j in kept[:50]]
    none = HistoryDropout(prob=0.0, max_keep=2, seed=3, n_samples=10)
    assert none(0, sample) is sample


def test_history_dropout_only_on_training_samples_and_reproducible(tiny_encoder, panel, cold_model):
    model = tide(tiny_encoder, TRAINER, n_epochs=3, min_input_chunk_length=1, short_history_prob=0.3,
                 text_min_gain=None)
    _, params = model._setup_for_fit_from_dataset(series=panel, val_series=panel)
    assert params["train_dataset"].history_dropout.prob == 0.3
    assert params["val_dataset"].history_dropout is None
    assert tide(tiny_encoder, TRAINER, min_input_chunk_length=1).short_history_prob == 0.2  # the default
    # the fit is reproducible under random_state (same settings as the shared model)
    model.fit(panel)
    short = [s[-2:] for s in panel]
    np.testing.assert_array_equal(values(model.predict(OCL, series=short)), values(cold_model.predict(OCL, series=short)))


def test_training_includes_padded_launch_samples(tiny_encoder, panel):
    model = tide(tiny_encoder, TRAINER, min_input_chunk_length=2, short_history_prob=0.0)
    _, params = model._setup_for_fit_from_dataset(series=panel)
    train = params["train_dataset"]
    n_nan = [int(np.isnan(train[i].past_target).sum()) for i in range(len(train))]
    assert max(n_nan) == ICL - 2 and min(n_nan) == 0  # windows at each series' start are padded
    assert train.history_dropout is None


# --------------------------------------------------------------------------------------------- backbones
@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (TextTFTModel, dict(hidden_size=8, hidden_continuous_size=4, num_attention_heads=2, add_relative_index=True)),
        (TextTSMixerModel, dict(hidden_size=8, ff_size=8, num_blocks=1)),
        (TextBlockRNNModel, dict(hidden_dim=8)),
    ],
)
def test_each_backbone_forecasts_new_products(cls, kwargs, tiny_encoder, panel):
    model = cls(
        input_chunk_length=ICL, output_chunk_length=OCL, n_epochs=1, batch_size=32, random_state=0,
        text_encoder=tiny_encoder, text_dim=4, pl_trainer_kwargs=TRAINER, min_input_chunk_length=1, **kwargs,
    ).fit(panel)
    assert model.model.observed_mask
    for f in [*model.predict(6, series=[panel[0][-1:], panel[1][-2:]]),
              *model.predict_new_products(new_products(DESCRIPTIONS[:2]), start=30, n=6)]:
        assert len(f) == 6 and np.isfinite(f.all_values()).all()


def test_user_past_covariates_and_likelihood(tiny_encoder, panel):
    rng = np.random.default_rng(0)
    covs = [TimeSeries.from_times_and_values(s.time_index.append(pd.RangeIndex(30, 40)),
                                             rng.normal(size=(40, 2)).astype(np.float32)) for s in panel]
    model = tide(tiny_encoder, TRAINER, n_epochs=1, min_input_chunk_length=1,
                 likelihood=QuantileRegression([0.1, 0.5, 0.9])).fit(panel, past_covariates=covs)
    assert model.model.backbone.past_cov_dim == 3  # two user covariates and the mask
    forecast = model.predict_new_products(new_products(DESCRIPTIONS[:2]), start=30, n=OCL, num_samples=50,
                                          past_covariates=covs[0])
    assert forecast[0].n_samples == 50 and np.isfinite(values(forecast)).all()
    short = model.predict(OCL, series=panel[3][-2:], past_covariates=covs[3], num_samples=50)
    assert np.isfinite(short.all_values()).all()


def test_reversible_instance_norm_on_observed_steps(tiny_encoder, panel):
    model = tide(tiny_encoder, TRAINER, n_epochs=1, min_input_chunk_length=1, use_reversible_instance_norm=True)
    model.fit(panel)
    assert model.model.masked_rin and model.model.backbone.use_reversible_instance_norm is False
    assert model.model.backbone.rin is not None  # its parameters are the masked RIN's
    three = panel[0][-3:]
    small = model.predict(OCL, series=three).values()
    large = model.predict(OCL, series=three * 1000.0).values()
    np.testing.assert_allclose(large, small * 1000.0, rtol=1e-3, atol=1e-2)  # scale-free on 3 observed steps
    for f in [*model.predict(OCL, series=[panel[1][-1:]]),
              *model.predict_new_products(new_products(DESCRIPTIONS[:1]), start=30, n=OCL)]:
        assert np.isfinite(f.values()).all()


# --------------------------------------------------------------------------------------------- persistence
def test_save_load_round_trip(cold_model, panel, tmp_path):
    short = [panel[0][-1:], panel[1][-2:], panel[2]]
    products = new_products(DESCRIPTIONS[3:5])
    expected = values(cold_model.predict(OCL, series=short))
    expected_new = values(cold_model.predict_new_products(products, start=30, n=OCL))
    path = str(tmp_path / "cold.pt")
    cold_model.save(path)
    loaded = TextTiDEModel.load(path)
    assert loaded.min_input_chunk_length == 1 and loaded.short_history_prob == 0.3
    assert loaded.model.observed_mask is True
    np.testing.assert_array_equal(values(loaded.predict(OCL, series=short)), expected)
    np.testing.assert_array_equal(values(loaded.predict_new_products(products, start=30, n=OCL)), expected_new)
    fresh = loaded.untrained_model()
    assert fresh.min_input_chunk_length == 1 and fresh.model is None


# --------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(min_input_chunk_length=9), r"`min_input_chunk_length` \(9\) must be at most `input_chunk_length` \(8\)"),
        (dict(min_input_chunk_length=0), "`min_input_chunk_length` must be a positive integer"),
        (dict(min_input_chunk_length=1.5), "`min_input_chunk_length` must be a positive integer"),
        (dict(short_history_prob=0.2), "needs `min_input_chunk_length`"),
        (dict(min_input_chunk_length=1, short_history_prob=1.5), r"`short_history_prob` must be in \[0, 1\]"),
    ],
)
def test_invalid_parameters(tiny_encoder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tide(tiny_encoder, TRAINER, **kwargs)


def test_errors_of_predict_new_products(tiny_encoder, cold_model, panel):
    plain = tide(tiny_encoder, TRAINER, n_epochs=1)
    with pytest.raises(ValueError, match="must be fitted"):
        plain.predict_new_products(new_products(["red heart"]), start=30, n=OCL)
    plain.fit(panel)
    with pytest.raises(ValueError, match="fitted without `min_input_chunk_length`.*min_input_chunk_length=1"):
        plain.predict_new_products(new_products(["red heart"]), start=30, n=OCL)
    with pytest.raises(ValueError, match=r"lacks the columns \['price'\]"):
        cold_model.predict_new_products(pd.DataFrame({"sku": [1], "description": ["red heart"]}), start=30, n=OCL)
    with pytest.raises(ValueError, match="must be an integer"):
        cold_model.predict_new_products(new_products(["red heart"]), start=pd.Timestamp("2024-01-07"), n=OCL)
    with pytest.raises(ValueError, match="numeric static covariates.*missing"):
        cold_model.predict_new_products(new_products(["red heart"], prices=[np.nan]), start=30, n=OCL)
    with pytest.raises(ValueError, match="one per product"):
        cold_model.predict_new_products(new_products(["a", "b"]), start=30, n=OCL, past_covariates=[panel[0]] * 3)


def test_weekly_datetime_index(tiny_encoder):
    series = [
        s.with_times_and_values(pd.date_range("2024-01-07", periods=len(s), freq="W"), s.values())
        for s in make_panel(length=20)
    ]
    model = tide(tiny_encoder, TRAINER, n_epochs=1, min_input_chunk_length=1).fit(series)
    start = series[0].end_time() + pd.offsets.Week(weekday=6)
    forecast = model.predict_new_products(new_products(["red heart"]), start=start, n=OCL)[0]
    assert forecast.start_time() == start and forecast.freq_str == series[0].freq_str
    with pytest.raises(ValueError, match="not on the model's time grid"):
        model.predict_new_products(new_products(["red heart"]), start=start + pd.Timedelta(days=2), n=OCL)
    with pytest.raises(ValueError, match="must be a timestamp"):
        model.predict_new_products(new_products(["red heart"]), start=3, n=OCL)
