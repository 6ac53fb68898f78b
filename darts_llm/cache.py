"""An embedding cache keyed by (encoder fingerprint, sha256 of the text)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from darts_llm.encoders.base import TextEncoder, clean_texts

logger = logging.getLogger(__name__)

_MAGIC = "darts-llm-embedding-v1"


def text_key(text: str) -> str:
    """sha256 hex digest of a text (UTF-8, surrogates escaped)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _safe_name(encoder_id: str) -> str:
    return hashlib.sha256(encoder_id.encode()).hexdigest()[:24]


class EmbeddingCache:
    """Remembers embeddings so that each unique text is encoded once per encoder.

    Parameters
    ----------
    directory
        Optional folder for a persistent cache shared between processes. Each embedding is one small
        ``.npz`` file written atomically (temporary file + ``os.replace``), so concurrent writers never leave a
        partial file behind. A file that is corrupt, truncated, of the wrong shape or written for another
        encoder is ignored and recomputed.
    max_items
        Bound on the number of embeddings kept in memory (least recently used are dropped first).
        ``None`` keeps everything.

    Examples
    --------
    >>> cache = EmbeddingCache(directory="~/.cache/darts_llm/embeddings")  # doctest: +SKIP
    >>> vectors = cache.encode(get_encoder("minilm"), ["RED HEART CANDLE", "RED HEART CANDLE"])  # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike | None = None, max_items: int | None = 100_000):
        if max_items is not None and (not isinstance(max_items, int) or max_items < 1):
            raise ValueError(f"`max_items` must be a positive integer or None, got {max_items!r}.")
        self.directory = Path(os.path.expanduser(directory)) if directory is not None else None
        self.max_items = max_items
        self._memory: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._memory)

    def clear(self) -> None:
        """Forget everything held in memory (files on disk stay)."""
        self._memory.clear()

    # --------------------------------------------------------------------------------------------- disk
    def _path(self, encoder_id: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / _safe_name(encoder_id) / key[:2] / f"{key}.npz"

    def _read(self, encoder_id: str, key: str, dim: int) -> np.ndarray | None:
        path = self._path(encoder_id, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                ok = (
                    str(data["magic"]) == _MAGIC
                    and str(data["encoder_id"]) == encoder_id
                    and str(data["key"]) == key
                )
                vector = np.asarray(data["vector"], dtype=np.float32)
        except Exception as err:  # noqa: BLE001 - any unreadable file is recomputed
            logger.warning("Ignoring unreadable cache file %s (%s); recomputing.", path, err)
            return None
        if not ok or vector.shape != (dim,) or not np.all(np.isfinite(vector)):
            logger.warning("Ignoring cache file %s written for another text or encoder; recomputing.", path)
            return None
        return vector

    def _write(self, encoder_id: str, key: str, vector: np.ndarray) -> None:
        path = self._path(encoder_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, magic=_MAGIC, encoder_id=encoder_id, key=key, vector=vector)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # --------------------------------------------------------------------------------------------- memory
    def _remember(self, entry: tuple[str, str], vector: np.ndarray) -> None:
        self._memory[entry] = vector
        self._memory.move_to_end(entry)
        if self.max_items is not None:
            while len(self._memory) > self.max_items:
                self._memory.popitem(last=False)

    def get(self, encoder_id: str, text: str, dim: int) -> np.ndarray | None:
        """The cached embedding of ``text`` for ``encoder_id``, or ``None``."""
        entry = (encoder_id, text_key(text))
        vector = self._memory.get(entry)
        if vector is not None:
            self._memory.move_to_end(entry)
            return vector
        if self.directory is not None:
            vector = self._read(encoder_id, entry[1], dim)
            if vector is not None:
                self._remember(entry, vector)
        return vector

    def put(self, encoder_id: str, text: str, vector: np.ndarray) -> None:
        """Store one embedding (in memory, and on disk when a directory is set)."""
        vector = np.asarray(vector, dtype=np.float32)
        key = text_key(text)
        self._remember((encoder_id, key), vector)
        if self.directory is not None:
            self._write(encoder_id, key, vector)

    # --------------------------------------------------------------------------------------------- encode
    def encode(
        self,
        encoder: TextEncoder,
        texts: Sequence[str],
        batch_size: int = 64,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts``, encoding only the texts not cached yet (each unique text once).

        Parameters
        ----------
        encoder
            The :class:`~darts_llm.encoders.base.TextEncoder` to use on cache misses.
        texts
            The texts (``None``/NaN count as the empty string).
        batch_size, show_progress
            Passed to :meth:`TextEncoder.encode` for the misses.

        Returns
        -------
        np.ndarray
            float32 array of shape ``(len(texts), encoder.dim)`` in input order.
        """
        clean = clean_texts(texts)
        encoder_id = encoder.encoder_id
        unique = list(dict.fromkeys(clean))
        found: dict[str, np.ndarray] = {}
        missing: list[str] = []
        dim = encoder.dim if unique else 0
        for text in unique:
            vector = self.get(encoder_id, text, dim)
            if vector is None:
                missing.append(text)
            else:
                found[text] = vector
        self.hits += len(clean) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = encoder.encode(missing, batch_size=batch_size, show_progress=show_progress)
            for text, vector in zip(missing, vectors):
                self.put(encoder_id, text, vector)
                found[text] = vector
        if not clean:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.stack([found[t] for t in clean]).astype(np.float32, copy=False)


_default_cache: EmbeddingCache | None = None


def default_cache() -> EmbeddingCache:
    """The process-wide in-memory cache (on disk too when ``DARTS_LLM_CACHE_DIR`` is set)."""
    global _default_cache
    if _default_cache is None:
        directory = os.environ.get("DARTS_LLM_CACHE_DIR")
        _default_cache = EmbeddingCache(
            directory=os.path.join(directory, "embeddings") if directory else None
        )
    return _default_cache
