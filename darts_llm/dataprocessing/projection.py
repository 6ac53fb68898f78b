"""Texts -> k numbers: encoder embeddings (through the cache), optionally projected by a PCA fitted on training texts.

:class:`TextProjection` is the fitted piece shared by the dataprocessing transformers. It keeps a table of the
projected vectors of every text seen at fit time, so that a fitted (or unpickled) object turns those texts into
numbers without touching the encoder; only new texts load the encoder.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from darts.logging import raise_log

from darts_llm.cache import EmbeddingCache, default_cache
from darts_llm.encoders.base import TextEncoder, clean_texts

logger = logging.getLogger(__name__)

#: Accepted values of ``projection``.
PROJECTIONS = ("pca", None)


def check_projection(projection: str | None, n_components: int | None) -> None:
    """Raise a ``ValueError`` naming the parameter when ``projection`` / ``n_components`` are invalid."""
    if projection not in PROJECTIONS:
        raise_log(
            ValueError(
                f"`projection` must be 'pca' (PCA fitted on the training texts) or None (raw embeddings), "
                f"got {projection!r}."
            )
        )
    if projection == "pca" and (
        isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1
    ):
        raise_log(
            ValueError(f"`n_components` must be a positive integer when projection='pca', got {n_components!r}.")
        )


def check_cache(cache: EmbeddingCache | None) -> None:
    if cache is not None and not isinstance(cache, EmbeddingCache):
        raise_log(
            ValueError(
                f"`cache` must be a darts_llm.EmbeddingCache or None (the process-wide default), got {cache!r}."
            )
        )


def cache_to_state(cache: EmbeddingCache | None) -> str | None:
    """What is pickled for a cache: its directory (a disk cache), else ``None`` (the default cache on load)."""
    if cache is None or cache.directory is None:
        return None
    return str(cache.directory)


def cache_from_state(state: str | None) -> EmbeddingCache | None:
    return None if state is None else EmbeddingCache(directory=Path(state))


class TextProjection:
    """Maps texts to ``n_out`` float32 numbers: encoder embedding, then (optionally) a PCA fitted on training texts.

    Parameters
    ----------
    encoder
        Encoder spec resolved by :func:`darts_llm.get_encoder` (``None`` for the default MiniLM, an alias, a Hugging
        Face id, a local directory) or a :class:`~darts_llm.TextEncoder` instance.
    n_components
        Output size with ``projection="pca"``. When the training set has fewer distinct texts than
        ``n_components``, the PCA keeps what it can and the remaining outputs are 0 (a warning says so).
    projection
        ``"pca"`` or ``None`` (raw embeddings, ``encoder.dim`` outputs; ``n_components`` is ignored).
    cache
        The :class:`~darts_llm.EmbeddingCache`; ``None`` uses :func:`darts_llm.default_cache` (resolved at use time).
    batch_size
        Texts per encoder forward pass.
    name
        Used in error messages (e.g. the column the texts come from).

    Notes
    -----
    Pickling stores the fitted PCA, the table of projected training texts and the encoder *spec*: a
    :class:`~darts_llm.HuggingFaceEncoder` pickles without its weights and reloads them only when a new text
    must be encoded. An in-memory cache is not pickled (the default cache is used after loading); a disk cache
    is stored as its directory.
    """

    def __init__(
        self,
        encoder: str | TextEncoder | None = None,
        n_components: int | None = 8,
        projection: str | None = "pca",
        cache: EmbeddingCache | None = None,
        batch_size: int = 64,
        name: str = "texts",
    ):
        check_projection(projection, n_components)
        check_cache(cache)
        self.encoder = encoder
        self.n_components = None if n_components is None else int(n_components)
        self.projection = projection
        self.cache = cache
        self.batch_size = batch_size
        self.name = name
        self._encoder: TextEncoder | None = encoder if isinstance(encoder, TextEncoder) else None
        self.pca_ = None
        self.n_out_: int | None = None
        self.table_: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------------------------------------ helpers
    @property
    def fitted(self) -> bool:
        return self.table_ is not None

    def get_encoder(self) -> TextEncoder:
        """The resolved encoder (created once; Hugging Face weights load on first encode)."""
        if self._encoder is None:
            from darts_llm.registry import get_encoder

            self._encoder = get_encoder(self.encoder)
        return self._encoder

    def _cache(self) -> EmbeddingCache:
        return self.cache if self.cache is not None else default_cache()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Raw encoder embeddings of clean strings, through the cache (each unique text encoded once)."""
        return self._cache().encode(self.get_encoder(), list(texts), batch_size=self.batch_size)

    def _project(self, embeddings: np.ndarray) -> np.ndarray:
        if self.pca_ is None:
            return embeddings.astype(np.float32, copy=False)
        out = np.zeros((len(embeddings), self.n_out_), dtype=np.float32)
        if len(embeddings):
            reduced = self.pca_.transform(embeddings.astype(np.float64))
            out[:, : reduced.shape[1]] = reduced
        return out

    # ------------------------------------------------------------------------------------------------ fit
    def fit(self, texts: Sequence[object]) -> "TextProjection":
        """Encode the (unique) training texts and fit the projection on them.

        Parameters
        ----------
        texts
            Training texts; ``None``/NaN count as the empty string, other non-strings raise
            :class:`~darts_llm.errors.TextInputError` naming :attr:`name`.
        """
        clean = clean_texts(texts, name=self.name)
        unique = list(dict.fromkeys(clean))
        if not unique:
            raise_log(
                ValueError(
                    f"No training texts for {self.name}: fit needs at least one text (two distinct ones for PCA)."
                )
            )
        embeddings = self.embed(unique)
        if self.projection == "pca":
            if len(unique) < 2:
                raise_log(
                    ValueError(
                        f"PCA needs at least 2 distinct training texts for {self.name}, got {len(unique)} "
                        f"({unique[0][:40]!r}); fit on more series/texts or pass projection=None."
                    )
                )
            from sklearn.decomposition import PCA

            n_fit = min(self.n_components, len(unique), embeddings.shape[1])
            if n_fit < self.n_components:
                logger.warning(
                    "%s: only %d distinct training texts (embedding size %d) for n_components=%d; "
                    "the last %d outputs are always 0.",
                    self.name, len(unique), embeddings.shape[1], self.n_components, self.n_components - n_fit,
                )
            if not np.any(embeddings.var(axis=0) > 0):
                logger.warning(
                    "%s: all %d distinct training texts have the same embedding (is the encoder's tokenizer "
                    "mapping everything to unknown tokens?); the projected features are constant 0.",
                    self.name, len(unique),
                )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
                self.pca_ = PCA(n_components=n_fit, random_state=0).fit(embeddings.astype(np.float64))
            self.n_out_ = self.n_components
        else:
            self.pca_ = None
            self.n_out_ = int(embeddings.shape[1])
        projected = self._project(embeddings)
        self.table_ = {text: projected[i] for i, text in enumerate(unique)}
        return self

    # ------------------------------------------------------------------------------------------- transform
    def check_fitted(self) -> None:
        if not self.fitted:
            raise_log(ValueError(f"{self.name}: the projection is not fitted; call `fit` first."))

    def unseen(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts (clean strings) not in the fit-time table."""
        self.check_fitted()
        return [t for t in dict.fromkeys(texts) if t not in self.table_]

    def transform(self, texts: Sequence[object]) -> np.ndarray:
        """Project texts: a table lookup for texts seen at fit time, the encoder (via the cache) for the others.

        Returns
        -------
        np.ndarray
            float32 array of shape ``(len(texts), n_out_)``.
        """
        self.check_fitted()
        clean = clean_texts(texts, name=self.name)
        new = self.unseen(clean)
        found = dict(self.table_)
        if new:
            for text, vector in zip(new, self._project(self.embed(new))):
                found[text] = vector
        if not clean:
            return np.zeros((0, self.n_out_), dtype=np.float32)
        return np.stack([found[t] for t in clean]).astype(np.float32, copy=False)

    # -------------------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["cache"] = cache_to_state(self.cache)
        if not isinstance(self.encoder, TextEncoder):
            # re-resolved from the spec after loading; HuggingFaceEncoder instances pickle without weights anyway
            state["_encoder"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["cache"] = cache_from_state(state.get("cache"))
        self.__dict__.update(state)

    def __repr__(self) -> str:
        proj = f"pca({self.n_components})" if self.projection == "pca" else "raw"
        return f"TextProjection({self.name}, encoder={self.encoder!r}, {proj}, fitted={self.fitted})"
