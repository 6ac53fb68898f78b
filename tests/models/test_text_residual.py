"""``text_entry="residual"``: the no-text twin first, then a text correction kept only where it helps.

Tiny random BERT encoder and tiny TiDE backbones. The text-helps panel hides each product's level behind heavy
noise and a 2-step input window, while its description names the level: the twin cannot see it, the text can.
"""

from __future__ import annotations

import pickle

import numpy as np
import torch
import pandas as pd
import pytest
from darts import TimeSeries
from darts.models import TiDEModel
from darts.utils.likelihood_models import PoissonLikelihood, QuantileRegression

from darts_llm.models import TextTiDEModel
from darts_llm.models.text_residual import GAIN_Z
from tests.models.test_text_models import make_panel, with_description

OCL = 2


def tide_params(trainer, **kwargs) -> dict:
    return dict(input_chunk_length=2, output_chunk_length=OCL, hidden_size=8, decoder_output_dim=4,
                temporal_decoder_hidden=8, n_epochs=3, batch_size=32, random_state=0, pl_trainer_kwargs=trainer,
                **kwargs)


def text_tide(encoder, trainer, **kwargs) -> TextTiDEModel:
    return TextTiDEModel(**tide_params(trainer, text_encoder=encoder, text_dim=4, text_components=2, **kwargs))


def noisy_levels(n_products: int = 24, length: int = 40, seed: int = 0, gap: float = 6.0,
                 own_texts: bool = False) -> list[TimeSeries]:
    """Each product's level is 0 or ``gap`` and its description says which (or, with ``own_texts``, only names
    the product); weekly noise of std 3 hides the level."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_products):
        high = k % 2 == 0
        text = f"item {'word ' * k}" if own_texts else "big seller lamp" if high else "slow mover"
        for t in range(length):
            rows.append({"sku": k, "week": t, "qty": (gap if high else 0.0) + 3.0 * rng.normal(), "description": text})
    frame = pd.DataFrame(rows)
    series = TimeSeries.from_group_dataframe(frame, group_cols="sku", time_col="week", value_cols="qty",
                                             static_cols=["description"])
    return [s.astype(np.float32) for s in series]


def values(forecasts) -> np.ndarray:
    return np.stack([f.all_values() for f in forecasts])


def test_a_rejected_text_leaves_exactly_the_darts_twin(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=0.99).fit(panel)
    assert model.text_check.kept is False and "without text" in model.text_check.reason
    twin_panel = [s.with_static_covariates(s.static_covariates.drop(columns=["description"])) for s in panel]
    twin = TiDEModel(**tide_params(cpu_trainer_kwargs)).fit(twin_panel)
    np.testing.assert_array_equal(values(model.predict(OCL, series=panel)),
                                  values(twin.predict(OCL, series=twin_panel)))
    # the text does not reach the forecast at all
    other = [with_description(s, "a different text") for s in panel]
    np.testing.assert_array_equal(values(model.predict(OCL, series=other)), values(model.predict(OCL, series=panel)))


def test_a_text_that_names_the_level_is_kept_and_lowers_the_error(tiny_encoder, cpu_trainer_kwargs):
    panel = noisy_levels()
    model = text_tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    check = model.text_check
    assert check.kept is True and check.gain > 0.05 and check.z > GAIN_Z, check
    assert check.loss_with_text < check.loss_without_text and check.n_check == 24 * OCL
    # the text now moves the forecast: the two descriptions swapped, the forecasts move apart the other way
    high, low = panel[0], panel[1]
    swapped = [with_description(high, "slow mover"), with_description(low, "big seller lamp")]
    own = values(model.predict(OCL, series=[high, low])).mean(axis=(1, 2, 3))
    other = values(model.predict(OCL, series=swapped)).mean(axis=(1, 2, 3))
    assert own[0] - other[0] > 1.0 and other[1] - own[1] > 1.0


def test_a_text_that_only_names_the_product_is_not_kept(tiny_encoder, cpu_trainer_kwargs):
    # every product has its own description, and the same level: an offset per product learned on the older
    # weeks is noise, and the most recent weeks show it
    panel = noisy_levels(gap=0.0, own_texts=True)
    model = text_tide(tiny_encoder, cpu_trainer_kwargs).fit(panel)
    assert model.text_check.kept is False, model.text_check
    assert model.text_check.gain <= model.text_check.min_gain


def test_the_checked_model_survives_save_and_load(tiny_encoder, cpu_trainer_kwargs, tmp_path):
    panel = noisy_levels(n_products=8)
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(panel)
    assert model.text_check.kept is True
    expected = values(model.predict(OCL, series=panel))
    model.save(str(tmp_path / "m.pt"))
    loaded = TextTiDEModel.load(str(tmp_path / "m.pt"))
    np.testing.assert_array_equal(values(loaded.predict(OCL, series=panel)), expected)
    assert loaded.text_check == model.text_check
    assert pickle.loads(pickle.dumps(model.text_check)) == model.text_check


def test_quantile_forecasts_are_shifted_alike(tiny_encoder, cpu_trainer_kwargs):
    panel = noisy_levels(n_products=8)
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None,
                      likelihood=QuantileRegression([0.1, 0.5, 0.9])).fit(panel)
    module = model.model
    module.set_text(False)
    without = values(model.predict(OCL, series=panel[:2], num_samples=1, predict_likelihood_parameters=True))
    module.set_text(True)
    with_text = values(model.predict(OCL, series=panel[:2], num_samples=1, predict_likelihood_parameters=True))
    shift = with_text - without  # (series, steps, quantiles, 1): one shift per step for all quantiles
    np.testing.assert_allclose(shift, np.repeat(shift[:, :, :1], 3, axis=2), rtol=1e-4, atol=1e-5)
    assert np.abs(shift).max() > 0


def test_too_short_series_forecast_without_text(tiny_encoder, cpu_trainer_kwargs):
    short = [s[:5] for s in make_panel()]  # input 2 + output 2: two windows per series, none older than the check
    model = text_tide(tiny_encoder, cpu_trainer_kwargs).fit(short)
    assert model.text_check.kept is False and model.text_check.loss_with_text is None
    assert "too short" in model.text_check.reason


@pytest.mark.parametrize("bad, match", [({"text_entry": "gate"}, "text_entry"),
                                        ({"text_min_gain": 2.0}, "text_min_gain")])
def test_bad_settings_are_named(bad, match, tiny_encoder, cpu_trainer_kwargs):
    with pytest.raises(ValueError, match=match):
        text_tide(tiny_encoder, cpu_trainer_kwargs, **bad)


def test_a_likelihood_the_correction_cannot_shift_is_refused(tiny_encoder, cpu_trainer_kwargs):
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, likelihood=PoissonLikelihood())
    with pytest.raises(ValueError, match="text_entry='static'"):
        model.fit([s.map(np.abs) for s in make_panel()])


def test_without_a_check_the_text_is_used_and_the_check_still_reported(tiny_encoder, cpu_trainer_kwargs):
    panel = noisy_levels(gap=0.0, own_texts=True)  # a text that says nothing
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(panel)
    check = model.text_check
    assert check.kept is True and check.min_gain is None and "without a check" in check.reason
    assert check.loss_with_text is not None and check.z is not None
    other = [with_description(s, "a different text") for s in panel[:3]]
    assert not np.allclose(values(model.predict(OCL, series=other)), values(model.predict(OCL, series=panel[:3])))
    short = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit([s[:5] for s in panel])
    assert short.text_check.kept is True and short.text_check.loss_with_text is None


def test_a_dropped_text_leaves_a_trainable_encoder_as_the_twin_left_it(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    model = text_tide(tiny_encoder, cpu_trainer_kwargs, encoder_finetuning="full", encoder_lr=1e-2,
                      text_min_gain=0.99).fit(panel)
    assert model.text_check.kept is False
    pretrained = dict(tiny_encoder.load_transformer().named_parameters())
    after = dict(model.model.text_encoder.named_parameters())
    assert all(torch.equal(after[k], pretrained[k]) for k in pretrained)


def test_sample_weights_weigh_the_text_check(tiny_encoder, cpu_trainer_kwargs):
    panel = noisy_levels(n_products=8)
    weights = [s.with_values(np.ones_like(s.values()) * (1.0 + i)) for i, s in enumerate(panel)]
    plain = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(panel)
    weighted = text_tide(tiny_encoder, cpu_trainer_kwargs, text_min_gain=None).fit(panel, sample_weight=weights)
    assert weighted.text_check.loss_without_text != pytest.approx(plain.text_check.loss_without_text)


def test_settings_pickled_before_the_residual_entry_read_as_static():
    from darts_llm.models.text_settings import TextSettings

    settings = TextSettings()
    state = {k: v for k, v in settings.__dict__.items() if k not in ("text_entry", "text_min_gain")}
    old = TextSettings.__new__(TextSettings)
    old.__setstate__(state)
    assert old.text_entry == "static"
    assert pickle.loads(pickle.dumps(settings)).text_entry == "residual"
