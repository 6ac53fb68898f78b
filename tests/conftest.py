"""Shared fixtures: tiny real checkpoints built locally, never downloaded."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DARTS_LLM_DISABLE_PLUGINS", "")


def pytest_configure(config):
    """Tiny models run faster on one thread than on two contending ones."""
    import torch

    torch.set_num_threads(1)

TINY_WORDS = (
    "christmas tree light red blue green white heart candle holder bag lunch box paper cup set of "
    "vintage retro garden chair kitchen mug tea glass metal sign wooden star decoration gift wrap "
    "pink party bunting cake stand jumbo spot doormat clock alarm bottle water hot new product"
).split()


def build_tiny_bert(directory, hidden_size: int = 32, seed: int = 0) -> str:
    """Save a tiny random BERT (config, weights, WordPiece vocab) to ``directory`` and return its path."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(TINY_WORDS))]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [str(d) for d in range(10)]
    with open(os.path.join(directory, "vocab.txt"), "w") as fh:
        fh.write("\n".join(dict.fromkeys(vocab)) + "\n")
    # the vocab path goes positionally: transformers 5 ignores the `vocab_file` keyword
    BertTokenizerFast(os.path.join(directory, "vocab.txt")).save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(dict.fromkeys(vocab)),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """Path of a tiny random BERT checkpoint loaded through ``from_pretrained``."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_encoder(tiny_bert_dir):
    """A :class:`HuggingFaceEncoder` on the tiny BERT (max_length 32)."""
    from darts_llm.encoders.huggingface import HuggingFaceEncoder

    return HuggingFaceEncoder(tiny_bert_dir, max_length=32)


@pytest.fixture(scope="session")
def minilm_available() -> bool:
    from darts_llm.encoders.huggingface import bundled_model_path

    return bundled_model_path("all-MiniLM-L6-v2") is not None


#: Darts trainer kwargs for fast, quiet CPU tests.
CPU_TRAINER = {
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "logger": False,
}


@pytest.fixture
def cpu_trainer_kwargs() -> dict:
    return dict(CPU_TRAINER)


@pytest.fixture(scope="session")
def make_tiny_bert():
    """The :func:`build_tiny_bert` function, for tests that need several distinct checkpoints."""
    return build_tiny_bert
