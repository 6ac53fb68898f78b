"""Text encoders: the :class:`TextEncoder` interface and its Hugging Face implementation."""

from darts_llm.encoders.base import TextEncoder, clean_texts, is_missing
from darts_llm.encoders.huggingface import DEFAULT_MODEL_ID, HuggingFaceEncoder
from darts_llm.encoders.pooling import POOLING_MODES, pool

__all__ = [
    "DEFAULT_MODEL_ID",
    "POOLING_MODES",
    "HuggingFaceEncoder",
    "TextEncoder",
    "clean_texts",
    "is_missing",
    "pool",
]
