"""compare_text: the same model backtested with real, shuffled, constant and no text."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.dataprocessing.transformers import InvertibleMapper
from darts.models import LinearRegressionModel

import darts_llm
from darts_llm.evaluation import describe_comparison, plot_text_comparison
from darts_llm.models import TextTiDEModel

from models.test_text_models import DESCRIPTIONS, make_panel


def small_model(encoder, trainer_kwargs, **kwargs):
    return TextTiDEModel(input_chunk_length=8, output_chunk_length=4, hidden_size=8, decoder_output_dim=4,
                         temporal_decoder_hidden=8, n_epochs=2, batch_size=16, text_encoder=encoder, text_dim=4,
                         pl_trainer_kwargs=trainer_kwargs, **kwargs)


def test_compare_text_runs_every_variant_over_seeds(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel(length=30)
    log = InvertibleMapper(np.log1p, np.expm1)
    table = darts_llm.compare_text(small_model(tiny_encoder, cpu_trainer_kwargs), [s.map(np.abs) for s in panel],
                                   start=22, forecast_horizon=4, seeds=(0, 1), target_transform=log)
    assert list(table["variant"]) == ["real", "shuffled", "constant", "no text"]
    assert all(len(runs) == 2 for runs in table["runs"])
    assert (table["n_forecasts"] == 2 * len(panel)).all()  # two non-overlapping 4-week forecasts per series
    assert np.isfinite(table["mean"]).all() and (table["std"] >= 0).all()
    # the no-text twin is the text model without its text: the same numbers exactly where the check dropped it
    by = table.set_index("variant")
    real, none = by.loc[["real", "no text"], "mean"]
    kept = int(by.loc["real", "text_used"].split("/")[0])
    assert by.loc["real", "text_used"].endswith("/2") and by.loc["no text", "text_used"] == ""
    assert (real == none) == (kept == 0)
    static = darts_llm.compare_text(small_model(tiny_encoder, cpu_trainer_kwargs, text_entry="static"),
                                    [s.map(np.abs) for s in panel], start=22, forecast_horizon=4, seeds=(0,),
                                    target_transform=log, variants=("real", "no text"))
    assert static["mean"].iloc[0] != static["mean"].iloc[1]  # the static entry changes the network itself
    assert table.attrs["model"] == "TextTiDEModel" and table.attrs["metric"] == "WAPE %"
    ax = plot_text_comparison(table)
    assert len(ax.patches) == 4


def test_compare_text_for_a_model_without_a_twin():
    """A Darts model that ignores the static covariates: one run per variant, no "no text" twin, equal results."""
    rng = np.random.default_rng(0)
    series = [
        TimeSeries.from_values(rng.normal(size=30).astype(np.float32) + 5,
                               static_covariates=pd.DataFrame({"description": [d], "price": [1.0 + i]}))
        for i, d in enumerate(DESCRIPTIONS)
    ]
    model = LinearRegressionModel(lags=4, output_chunk_length=2, use_static_covariates=False)
    table = darts_llm.compare_text(model, series, start=24, forecast_horizon=2)
    assert list(table["variant"]) == ["real", "shuffled", "constant"]
    assert all(len(runs) == 1 for runs in table["runs"])
    assert table["mean"].nunique() == 1  # the model reads no text, so no variant changes anything


def test_describe_comparison_follows_the_numbers():
    def table(real, shuffled, std, runs=2):
        t = pd.DataFrame([
            {"variant": "real", "mean": real, "std": std, "runs": [real] * runs, "n_forecasts": 1, "fit_s": 0.0},
            {"variant": "shuffled", "mean": shuffled, "std": std, "runs": [shuffled] * runs, "n_forecasts": 1,
             "fit_s": 0.0},
        ])
        t.attrs["metric"] = "WAPE %"
        return t

    assert "the text helps" in describe_comparison(table(50.0, 60.0, 1.0))
    assert "the text hurts" in describe_comparison(table(60.0, 50.0, 1.0))
    assert "no measurable effect" in describe_comparison(table(50.0, 50.5, 1.0))
    assert "seed spread is unknown" in describe_comparison(table(50.0, 60.0, 0.0, runs=1))


def test_compare_text_errors(tiny_encoder, cpu_trainer_kwargs):
    panel = make_panel()
    model = small_model(tiny_encoder, cpu_trainer_kwargs)
    with pytest.raises(ValueError, match=r"`variants` \['none'\] are not among"):
        darts_llm.compare_text(model, panel, start=22, forecast_horizon=4, variants=("none",))
    with pytest.raises(ValueError, match="No series has history before"):
        darts_llm.compare_text(model, panel, start=-5, forecast_horizon=4)
    with pytest.raises(ValueError, match="`forecast_horizon` must be a positive integer"):
        darts_llm.compare_text(model, panel, start=22, forecast_horizon=0)
