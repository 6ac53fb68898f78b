"""tune_encoder_on_demand: the saved folder is an encoder of its own, training learns a toy demand signal, bad input."""

from __future__ import annotations

import json
import logging
import os
import sys

import numpy as np
import pandas as pd
import pytest

from darts_llm import EmbeddingCache, get_encoder, tune_encoder_on_demand
from darts_llm.encoders import HuggingFaceEncoder

OTHER_WORDS = ("christmas tree light red blue green white heart candle holder bag lunch box paper cup vintage retro "
               "garden chair kitchen mug tea glass metal sign wooden star").split()


def toy_launches(n: int = 120, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts of three random words; every other one also has "jumbo", and only those sold (target 1, else 0)."""
    rng = np.random.default_rng(seed)
    texts, sold = [], []
    for i in range(n):
        words = list(rng.choice(OTHER_WORDS, 3, replace=False))
        if i % 2:
            words.insert(int(rng.integers(0, 4)), "jumbo")
        texts.append(" ".join(words))
        sold.append(float(i % 2))
    return texts, np.array(sold)


def curves(sold: np.ndarray) -> np.ndarray:
    """A 2-D target: a 4-week launch curve per text whose level follows ``sold``."""
    return np.log1p(np.outer(1 + 9 * sold, [1.0, 0.8, 0.6, 0.5]))


def similarity_gap(encoder, texts, sold) -> float:
    """Mean cosine similarity among the texts that sold, minus that between them and the ones that did not."""
    vectors = encoder.encode(texts)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims, hot = vectors @ vectors.T, sold == 1
    return float(sims[hot][:, hot].mean() - sims[hot][:, ~hot].mean())


@pytest.fixture(scope="module")
def base(tiny_bert_dir):
    return HuggingFaceEncoder(tiny_bert_dir, max_length=32, normalize=True, device="cpu")


@pytest.fixture(scope="module")
def data():
    return toy_launches()


@pytest.fixture(scope="module")
def lora_result(base, data, tmp_path_factory):
    texts, sold = data
    return tune_encoder_on_demand(texts, curves(sold), tmp_path_factory.mktemp("lora") / "model", text_encoder=base,
                                  mode="lora", epochs=6, learning_rate=1e-2, neighbour_weight=1.0, batch_size=16,
                                  device="cpu")


@pytest.fixture(scope="module")
def full_result(base, data, tmp_path_factory):
    texts, sold = data
    return tune_encoder_on_demand(texts, sold, tmp_path_factory.mktemp("full") / "model", text_encoder=base,
                                  mode="full", epochs=5, learning_rate=1e-4, batch_size=16, patience=5, device="cpu")


# ---------------------------------------------------------------------------------------------- the saved folder
@pytest.mark.parametrize("which", ["lora_result", "full_result"])
def test_folder_loads_as_an_encoder_of_its_own(which, request, base, data):
    result = request.getfixturevalue(which)
    texts, _ = data
    tuned = get_encoder(result.path)  # what text_encoder="<path>" resolves to
    assert isinstance(tuned, HuggingFaceEncoder)
    assert (tuned.pooling, tuned.normalize, tuned.max_length) == (base.pooling, base.normalize, base.max_length)
    assert tuned.encoder_id != base.encoder_id
    ours, theirs = tuned.encode(texts[:10]), base.encode(texts[:10])
    assert ours.shape == theirs.shape
    assert not np.allclose(ours, theirs, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)  # keeps the base's normalisation
    cache = EmbeddingCache()  # keyed by encoder id: the two encoders' vectors never mix
    np.testing.assert_allclose(cache.encode(base, texts[:10]), theirs, atol=1e-6)
    np.testing.assert_allclose(cache.encode(tuned, texts[:10]), ours, atol=1e-6)
    record = json.loads((result.encoder().location.folder / "demand_tuning.json").read_text())
    assert record["settings"]["mode"] == result.mode and record["base_encoder_id"] == base.encoder_id


def test_static_text_embedder_and_neighbours_take_the_folder(lora_result, data):
    from darts import TimeSeries

    from darts_llm.dataprocessing import StaticTextEmbedder, TextNeighbours

    texts, _ = data
    series = [TimeSeries.from_values(np.arange(6.0) + i).with_static_covariates(pd.DataFrame({"description": [text]}))
              for i, text in enumerate(texts[:6])]
    numeric = StaticTextEmbedder(text_cols="description", n_components=2, encoder=lora_result.path).fit_transform(series)
    assert numeric[0].static_covariates.shape[1] == 2
    neighbours = TextNeighbours(k=2, encoder=lora_result.path).fit(series)
    assert neighbours.past_covariates(series[:1])[0].n_components == 3


def test_lora_folder_is_a_plain_merged_model(lora_result):
    folder = os.listdir(lora_result.path)
    assert "adapter_config.json" not in folder and "model.safetensors" in folder
    assert {"modules.json", "sentence_bert_config.json", "tokenizer.json", "README.md"} <= set(folder)


def test_same_vectors_through_sentence_transformers(lora_result, data):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts, _ = data
    reference = sentence_transformers.SentenceTransformer(lora_result.path, device="cpu")
    np.testing.assert_allclose(lora_result.encoder().encode(texts[:8]), reference.encode(texts[:8]),
                               rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------- training
def test_head_training_lowers_the_loss(full_result):
    assert full_result.best_epoch > 0
    assert min(full_result.validation_loss) < 0.7 * full_result.validation_loss[0]
    assert full_result.train_loss[-1] < full_result.train_loss[0]
    assert len(full_result.seconds_per_epoch) == len(full_result.train_loss) - 1


def test_neighbour_loss_makes_similarity_track_demand(lora_result, base, data):
    texts, sold = data
    assert lora_result.validation_loss[lora_result.best_epoch] < 0.5 * lora_result.validation_loss[0]
    assert similarity_gap(lora_result.encoder(), texts, sold) > similarity_gap(base, texts, sold) + 0.1


def test_seeded_runs_write_the_same_weights(base, tmp_path):
    texts, sold = toy_launches(40)
    runs = [tune_encoder_on_demand(texts, sold, tmp_path / name, text_encoder=base, epochs=2, learning_rate=1e-2,
                                   batch_size=8, device="cpu") for name in ("a", "b")]
    a, b = ((tmp_path / name / "model.safetensors").read_bytes() for name in ("a", "b"))
    assert a == b and runs[0].validation_loss == runs[1].validation_loss
    other = tune_encoder_on_demand(texts, sold, tmp_path / "c", text_encoder=base, epochs=2, learning_rate=1e-2,
                                   batch_size=8, random_state=1, device="cpu")
    assert (tmp_path / "c" / "model.safetensors").read_bytes() != a and other.n_train == runs[0].n_train


def test_early_stopping_keeps_the_best_epoch(base, tmp_path, caplog):
    texts, sold = toy_launches(40)
    with caplog.at_level(logging.WARNING, logger="darts_llm.encoders.demand_tuning"):
        result = tune_encoder_on_demand(texts, sold, tmp_path / "m", text_encoder=base, mode="full", epochs=8,
                                        learning_rate=0.5, patience=1, batch_size=8, device="cpu")
    # a learning rate far too large: no epoch beats the frozen encoder, training stops, the base weights are saved
    assert result.best_epoch == 0 and len(result.validation_loss) == 2
    assert "holds the base weights" in caplog.text
    np.testing.assert_allclose(result.encoder().encode(texts[:5]), base.encode(texts[:5]), atol=1e-5)
    assert result.encoder().encoder_id != base.encoder_id


def test_without_validation_the_last_epoch_is_saved(base, tmp_path):
    texts, sold = toy_launches(20)
    result = tune_encoder_on_demand(texts, sold, tmp_path / "m", text_encoder=base, epochs=2, validation_fraction=0,
                                    batch_size=8, device="cpu")
    assert result.best_epoch == 2 and result.validation_loss == [] and result.n_train == 20


def test_repeated_texts_train_once_with_their_mean_target(base, tmp_path):
    texts, sold = toy_launches(20)
    result = tune_encoder_on_demand(texts + texts[:5], np.concatenate([sold, 1 - sold[:5]]), tmp_path / "m",
                                    text_encoder=base, epochs=1, validation_fraction=0, device="cpu")
    assert result.n_train == 20
    record = json.loads((tmp_path / "m" / "demand_tuning.json").read_text())
    np.testing.assert_allclose(record["target_mean"], [(sold[5:].sum() + 5 * 0.5) / 20])


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("texts", "targets", "match"),
    [
        (["a red box"] * 3 + ["blue cup"], [1.0, 2.0, 3.0], "same length"),
        (["red box", "blue cup", "star"], [1.0, np.nan, 2.0], "NaN or infinite.*position 1"),
        ([f"red box {i}" for i in range(5)], np.arange(5.0), "Too few texts"),
        (["red box", "blue cup"], np.zeros((2, 2, 2)), "1-D array"),
        (["red box", "blue cup", "star"], [1.0, 1.0, 1.0], "same value for every text"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(base, tmp_path, texts, targets, match):
    with pytest.raises(ValueError, match=match):
        tune_encoder_on_demand(texts, targets, tmp_path / "m", text_encoder=base)
    assert not (tmp_path / "m").exists()


def test_too_few_texts_for_a_validation_part(base, tmp_path):
    texts, sold = toy_launches(9)
    with pytest.raises(ValueError, match="validation_fraction"):
        tune_encoder_on_demand(texts, sold, tmp_path / "m", text_encoder=base)


def test_output_dir_must_be_new_or_empty_and_writable(base, tmp_path):
    texts, sold = toy_launches(20)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "weights.bin").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        tune_encoder_on_demand(texts, sold, tmp_path / "used", text_encoder=base)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        tune_encoder_on_demand(texts, sold, tmp_path / "file", text_encoder=base)
    with pytest.raises(ValueError, match="cannot be written"):
        tune_encoder_on_demand(texts, sold, tmp_path / "file" / "sub", text_encoder=base)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"mode": "frozen"}, "`mode`"), ({"epochs": 0}, "`epochs`"), ({"learning_rate": -1.0}, "`learning_rate`"),
     ({"validation_fraction": 1.0}, "`validation_fraction`"), ({"lora_r": 0}, "`lora_r`"),
     ({"text_encoder": "no-such-encoder"}, "Unknown encoder")],
)
def test_bad_settings_name_the_parameter(base, tmp_path, kwargs, match):
    texts, sold = toy_launches(20)
    with pytest.raises((ValueError, OSError), match=match):
        tune_encoder_on_demand(texts, sold, tmp_path / "m", **{"text_encoder": base, **kwargs})


def test_lora_without_peft_says_how_to_install_it(base, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` now fails as if it were not installed
    texts, sold = toy_launches(20)
    with pytest.raises(ImportError, match=r"darts-llm\[lora\]"):
        tune_encoder_on_demand(texts, sold, tmp_path / "m", text_encoder=base, mode="lora")
    full = tune_encoder_on_demand(texts, sold, tmp_path / "full", text_encoder=base, mode="full", epochs=1,
                                  device="cpu")
    assert full.mode == "full"
