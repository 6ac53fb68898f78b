"""Example darts-llm plugin: a character n-gram hashing encoder that needs no weights.

It shows the two parts of a plugin: a :class:`~darts_llm.TextEncoder` subclass, and a hook implementation
that registers it under a name, exposed through the ``darts_llm`` entry-point group in ``pyproject.toml``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from darts_llm import TextEncoder, hookimpl


class HashingEncoder(TextEncoder):
    """Bag of hashed character n-grams, L2-normalised.

    Parameters
    ----------
    dim
        Number of hash buckets (the embedding size).
    ngram
        Length of the character n-grams.
    """

    def __init__(self, dim: int = 64, ngram: int = 3):
        if dim < 1 or ngram < 1:
            raise ValueError(f"`dim` and `ngram` must be positive, got dim={dim}, ngram={ngram}.")
        self._dim = dim
        self.ngram = ngram

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def encoder_id(self) -> str:
        return f"hashing:dim={self._dim}|ngram={self.ngram}"

    def _encode(self, texts, batch_size, show_progress):
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f" {text.lower()} "
            for i in range(max(len(padded) - self.ngram + 1, 0)):
                gram = padded[i : i + self.ngram].encode("utf-8", "surrogatepass")
                bucket = int.from_bytes(hashlib.blake2b(gram, digest_size=4).digest(), "little")
                out[row, bucket % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


@hookimpl
def darts_llm_register_encoders(register):
    register("hashing", HashingEncoder, description="character 3-gram hashing, no weights (example plugin)")
