"""Sentence-transformers model folders: pooling, normalisation, length and prompts come from the folder."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from darts_llm import EncoderLoadError
from darts_llm.encoders import HuggingFaceEncoder

TEXTS = ["red christmas tree light", "blue garden chair", "heart candle holder"]
PROMPTS = {"query": "query: ", "passage": "passage: "}


def write_st_folder(
    source: str,
    target: Path,
    pooling: str = "cls",
    normalize: bool = True,
    prompts: dict | None = None,
    default_prompt: str | None = None,
    max_seq_length: int = 24,
    legacy_pooling: bool = False,
    extra_modules: tuple = (),
) -> str:
    """Copy a tiny BERT and add the files sentence-transformers writes next to it."""
    shutil.copytree(source, target)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    modules += [{"idx": 3 + i, "name": m, "path": f"{3 + i}_{m}", "type": f"sentence_transformers.models.{m}"}
                for i, m in enumerate(extra_modules)]
    (target / "modules.json").write_text(json.dumps(modules))
    (target / "1_Pooling").mkdir()
    if legacy_pooling:
        config = {"word_embedding_dimension": 32, "pooling_mode_cls_token": pooling == "cls",
                  "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max"}
    else:
        config = {"embedding_dimension": 32, "pooling_mode": pooling, "include_prompt": True}
    (target / "1_Pooling" / "config.json").write_text(json.dumps(config))
    (target / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    (target / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": prompts or {}, "default_prompt_name": default_prompt, "similarity_fn_name": "cosine"})
    )
    return str(target)


@pytest.fixture
def e5_like(tiny_bert_dir, tmp_path):
    """A folder like E5's: mean pooling, Normalize, 'query: '/'passage: ' prompts (no default)."""
    return write_st_folder(tiny_bert_dir, tmp_path / "e5", pooling="mean", prompts=PROMPTS)


def test_settings_come_from_the_folder(tiny_bert_dir, tmp_path):
    folder = write_st_folder(tiny_bert_dir, tmp_path / "st", pooling="cls", prompts=PROMPTS, default_prompt="query")
    enc = HuggingFaceEncoder(folder)
    assert (enc.pooling, enc.normalize, enc.max_length, enc.prompt) == ("cls", True, 24, "query: ")
    manual = HuggingFaceEncoder(tiny_bert_dir, pooling="cls", normalize=True, max_length=24, prompt="query: ")
    np.testing.assert_allclose(enc.encode(TEXTS), manual.encode(TEXTS), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(enc.encode(TEXTS), axis=1), 1.0, rtol=1e-5)
    assert 'prompt="query: "' in enc.encoder_id and "pool=cls" in enc.encoder_id and "norm=1" in enc.encoder_id


def test_same_vectors_as_the_sentence_transformers_package(e5_like):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(e5_like, device="cpu")
    for name in ("query", "passage"):
        ours = HuggingFaceEncoder(e5_like, prompt_name=name, device="cpu").encode(TEXTS)
        theirs = reference.encode(TEXTS, prompt_name=name, convert_to_numpy=True)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        HuggingFaceEncoder(e5_like, device="cpu").encode(TEXTS), reference.encode(TEXTS), rtol=1e-4, atol=1e-5
    )


def test_explicit_arguments_override_the_folder(e5_like):
    folder_default = HuggingFaceEncoder(e5_like)
    override = HuggingFaceEncoder(e5_like, pooling="cls", normalize=False, max_length=8, prompt="")
    assert (override.pooling, override.normalize, override.max_length, override.prompt) == ("cls", False, 8, "")
    assert override.encoder_id != folder_default.encoder_id
    assert not np.allclose(override.encode(TEXTS), folder_default.encode(TEXTS))
    with pytest.raises(ValueError, match="prompt_name='title'.*query"):
        HuggingFaceEncoder(e5_like, prompt_name="title").encode(TEXTS)


def test_legacy_pooling_keys_and_unsupported_modes(tiny_bert_dir, tmp_path, caplog):
    legacy = write_st_folder(tiny_bert_dir, tmp_path / "legacy", pooling="cls", legacy_pooling=True, normalize=False)
    assert (HuggingFaceEncoder(legacy).pooling, HuggingFaceEncoder(legacy).normalize) == ("cls", False)
    max_pooled = write_st_folder(tiny_bert_dir, tmp_path / "max", pooling="max", legacy_pooling=True)
    with pytest.raises(EncoderLoadError, match="'max' pooling.*pooling="):
        HuggingFaceEncoder(max_pooled).encode(TEXTS)
    assert HuggingFaceEncoder(max_pooled, pooling="mean").encode(TEXTS).shape == (3, 32)
    dense = write_st_folder(tiny_bert_dir, tmp_path / "dense", extra_modules=("Dense",))
    with caplog.at_level(logging.WARNING, logger="darts_llm.encoders.huggingface"):
        HuggingFaceEncoder(dense).encoder_id
    assert "Dense" in caplog.text and "differ from the model card" in caplog.text


def test_plain_checkpoint_gets_mean_pooling_with_a_log_line(make_tiny_bert, tmp_path, caplog):
    plain = make_tiny_bert(tmp_path / "plain", seed=3)
    with caplog.at_level(logging.WARNING, logger="darts_llm.encoders.huggingface"):
        enc = HuggingFaceEncoder(plain)
        assert (enc.pooling, enc.normalize, enc.max_length, enc.prompt) == ("mean", False, 256, "")
    assert "using mean pooling" in caplog.text


def test_trainable_path_uses_the_same_settings(e5_like):
    """LoRA/full modes call tokenize() and embed() on a fresh transformer: same vectors as encode()."""
    import torch

    enc = HuggingFaceEncoder(e5_like, prompt_name="query", device="cpu")
    batch = enc.tokenize(TEXTS)
    assert enc.tokenizer.decode(batch["input_ids"][0]).startswith("[CLS] query")
    model = enc.load_transformer().eval()
    with torch.no_grad():
        out = enc.embed(model, batch["input_ids"], batch["attention_mask"]).numpy()
    np.testing.assert_allclose(out, enc.encode(TEXTS), rtol=1e-4, atol=1e-5)
    again = HuggingFaceEncoder(**enc.spec)
    assert again.encoder_id == enc.encoder_id and again.spec["pooling"] is None
