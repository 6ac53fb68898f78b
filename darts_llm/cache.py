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
        Optional folder for a persistent cache shared between processes. Each call that encodes new texts
        writes one shard file per encoder (``.npz`` with the encoder id, the text hashes and the vectors),
        atomically (temporary file + ``os.replace``): concurrent writers never leave a partial file behind and
        never overwrite each other. A shard that is corrupt, truncated, of the wrong shape or written for
        another encoder is ignored, and its texts are recomputed. A directory that cannot be written (read-only
        mount, no permission, a path under a file) is still read; the first failed write logs one warning and
        this cache then keeps new embeddings in memory only: nothing computed is lost.
    max_items
        Bound on the number of embeddings kept in memory (least recently used are dropped first).
        ``None`` keeps everything. Shards on disk are read back when needed.

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
        # per encoder id: text key -> shard file, from the shards present when first looked at
        self._disk_index: dict[str, dict[str, Path]] = {}
        self._shards: OrderedDict[Path, dict[str, np.ndarray]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        #: ``False`` once a write to :attr:`directory` failed; new embeddings then stay in memory.
        self.writable = True

    def __len__(self) -> int:
        return len(self._memory)

    def clear(self) -> None:
        """Forget everything held in memory (files on disk stay)."""
        self._memory.clear()
        self._disk_index.clear()
        self._shards.clear()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_disk_index"], state["_shards"] = {}, OrderedDict()
        state["writable"] = True  # the directory may be writable where the cache is unpickled
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("writable", True)

    # --------------------------------------------------------------------------------------------- disk
    def _folder(self, encoder_id: str) -> Path:
        assert self.directory is not None
        return self.directory / _safe_name(encoder_id)

    def _load_shard(self, path: Path, encoder_id: str, dim: int) -> dict[str, np.ndarray]:
        """Vectors of one shard by text key; empty if the shard is unreadable or not for this encoder."""
        if path in self._shards:
            self._shards.move_to_end(path)
            return self._shards[path]
        try:
            with np.load(path, allow_pickle=False) as data:
                magic, owner = str(data["magic"]), str(data["encoder_id"])
                keys = [str(k) for k in data["keys"]]
                vectors = np.asarray(data["vectors"], dtype=np.float32)
        except Exception as err:  # noqa: BLE001 - any unreadable file is recomputed
            logger.warning("Ignoring unreadable cache file %s (%s); recomputing its texts.", path, err)
            shard: dict[str, np.ndarray] = {}
        else:
            valid = (
                magic == _MAGIC
                and owner == encoder_id
                and vectors.shape == (len(keys), dim)
                and bool(np.all(np.isfinite(vectors)))
            )
            if not valid:
                logger.warning("Ignoring cache file %s written for another encoder or shape; recomputing.", path)
            vectors.flags.writeable = False  # callers get views; nobody may change what the cache holds
            shard = dict(zip(keys, vectors)) if valid else {}
        self._shards[path] = shard
        while len(self._shards) > 8:
            self._shards.popitem(last=False)
        return shard

    def _index(self, encoder_id: str, dim: int) -> dict[str, Path]:
        index = self._disk_index.get(encoder_id)
        if index is None:
            index = {}
            folder = self._folder(encoder_id)
            try:
                paths = sorted(folder.glob("*.npz")) if folder.is_dir() else []
            except OSError as err:  # unreadable folder: nothing to reuse
                logger.warning("Cannot list the cache folder %s (%s); its texts are recomputed.", folder, err)
                paths = []
            for path in paths:
                for key in self._load_shard(path, encoder_id, dim):
                    index[key] = path
            self._disk_index[encoder_id] = index
        return index

    def _read(self, encoder_id: str, key: str, dim: int) -> np.ndarray | None:
        path = self._index(encoder_id, dim).get(key)
        return None if path is None else self._load_shard(path, encoder_id, dim).get(key)

    def _write_shard(self, encoder_id: str, keys: list[str], vectors: np.ndarray) -> None:
        folder = self._folder(encoder_id)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, magic=_MAGIC, encoder_id=encoder_id, keys=np.array(keys), vectors=vectors)
            final = folder / f"{os.path.basename(tmp)[5:-5]}-{os.getpid()}.npz"
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        index = self._disk_index.get(encoder_id)
        if index is not None:
            index.update(dict.fromkeys(keys, final))

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

    def missing(self, encoder_id: str, texts: Sequence[str], dim: int) -> list[str]:
        """The ``texts`` that have no embedding for ``encoder_id`` yet (each shard on disk read at most once)."""
        texts = list(texts)
        return [t for t, vector in zip(texts, self._get_many(encoder_id, texts, dim)) if vector is None]

    def _get_many(self, encoder_id: str, texts: list[str], dim: int) -> list[np.ndarray | None]:
        """:meth:`get` for many texts, reading each shard on disk at most once (grouped by shard)."""
        keys = [text_key(t) for t in texts]
        out: list[np.ndarray | None] = []
        on_disk: dict[Path, list[int]] = {}
        index = self._index(encoder_id, dim) if self.directory is not None else {}
        for i, key in enumerate(keys):
            vector = self._memory.get((encoder_id, key))
            if vector is not None:
                self._memory.move_to_end((encoder_id, key))
            elif key in index:
                on_disk.setdefault(index[key], []).append(i)
            out.append(vector)
        for path, rows in on_disk.items():
            shard = self._load_shard(path, encoder_id, dim)
            for i in rows:
                vector = shard.get(keys[i])
                if vector is not None:
                    self._remember((encoder_id, keys[i]), vector)
                out[i] = vector
        return out

    def put_many(self, encoder_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store embeddings of ``texts`` (in memory, and as one shard on disk when a directory is set)."""
        vectors = np.array(vectors, dtype=np.float32)  # a copy: later changes by the caller do not leak in
        vectors.flags.writeable = False
        keys = [text_key(t) for t in texts]
        if vectors.shape[:1] != (len(keys),):
            raise ValueError(f"`vectors` must have one row per text ({len(keys)}), got shape {vectors.shape}.")
        for key, vector in zip(keys, vectors):
            self._remember((encoder_id, key), vector)
        if self.directory is not None and keys and self.writable:
            try:
                self._write_shard(encoder_id, keys, vectors)
            except OSError as err:
                self.writable = False
                logger.warning(
                    "Cannot write to the embedding cache directory %s (%s: %s); this cache keeps new embeddings "
                    "in memory only (existing files are still read). Point `directory` (or DARTS_LLM_CACHE_DIR) "
                    "at a writable folder to keep them across processes.",
                    self.directory, type(err).__name__, err,
                )

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
        for text, vector in zip(unique, self._get_many(encoder_id, unique, dim)):
            if vector is None:
                missing.append(text)
            else:
                found[text] = vector
        self.hits += len(clean) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = encoder.encode(missing, batch_size=batch_size, show_progress=show_progress)
            self.put_many(encoder_id, missing, vectors)
            found.update(zip(missing, vectors))
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
