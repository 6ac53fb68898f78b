"""Property-based test of EmbeddingCache: whatever the writes, reads and corruptions, no wrong vector comes back.

Several cache objects share one directory; shard files are truncated, overwritten with garbage, emptied, rewritten
for another encoder or with the wrong width, or copied into another encoder's folder. Every vector a cache returns
is compared with a deterministic stub encoder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darts_llm import EmbeddingCache, TextEncoder
from darts_llm.cache import text_key


class StubEncoder(TextEncoder):
    """Deterministic vectors that differ per encoder (salt) and per text."""

    def __init__(self, salt: str, dim: int):
        self.salt, self._dim = salt, dim

    @property
    def dim(self):
        return self._dim

    @property
    def encoder_id(self):
        return f"stub:{self.salt}:{self._dim}"

    def _encode(self, texts, batch_size, show_progress):
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = zlib.crc32(f"{self.salt}|{text}".encode())
            out[i] = np.random.default_rng(seed).standard_normal(self._dim)
        return out


ENCODERS = [StubEncoder("a", 3), StubEncoder("b", 3), StubEncoder("c", 5)]
TEXTS = ["", "red candle", "café", "圣诞" * 20]
TEXT_OF_KEY = {text_key(t): t for t in TEXTS}
texts_strategy = st.lists(st.sampled_from(TEXTS), min_size=0, max_size=6)


def expected(encoder: StubEncoder, texts: list[str]) -> np.ndarray:
    return encoder._encode(list(texts), 64, False).reshape(len(texts), encoder.dim)


def _shards(directory: str) -> list[str]:
    return sorted(
        os.path.join(root, name) for root, _, names in os.walk(directory) for name in names if name.endswith(".npz")
    )


def _rewrite(
    path: str, *, owner: StubEncoder | None = None, extra_dim: int = 0, drop_key: bool = False, nan: bool = False
) -> None:
    """Rewrite a readable shard with one thing made wrong: a well-formed shard of another encoder (``owner``, its
    vectors for the same texts), a wrong width, fewer keys than rows, or a NaN in the vectors."""
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
    except Exception:  # noqa: BLE001 - already corrupt: leave it
        return
    if owner is not None:
        texts = [TEXT_OF_KEY[str(k)] for k in fields["keys"]]
        fields["encoder_id"] = np.array(owner.encoder_id)
        fields["vectors"] = expected(owner, texts)
    if extra_dim:
        vectors = fields["vectors"]
        fields["vectors"] = np.concatenate([vectors, np.zeros((vectors.shape[0], extra_dim), np.float32)], axis=1)
    if nan and fields["vectors"].size:
        fields["vectors"] = fields["vectors"].copy()
        fields["vectors"].flat[0] = np.nan
    if drop_key and len(fields["keys"]):
        fields["keys"] = fields["keys"][1:]
    with open(path, "wb") as fh:
        np.savez(fh, **fields)


#: Memory-backed scratch space where there is one: thousands of tiny folders are made and removed.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

#: Ways a shard file gets damaged.
CORRUPTIONS = [
    "truncate", "garbage", "empty", "foreign_owner", "wrong_dim", "keys_mismatch", "non_finite", "copy_elsewhere",
]


@pytest.fixture(autouse=True)
def quiet_cache_log():
    """Every corruption logs a warning; thousands of them only slow the run down."""
    logger = logging.getLogger("darts_llm.cache")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def corrupt(directory: str, pick: int, kind: str, cut: int) -> None:
    """Damage one shard file of ``directory`` in the way ``kind`` says."""
    files = _shards(directory)
    if not files:
        return
    path = files[pick % len(files)]
    if kind == "truncate":
        with open(path, "r+b") as fh:
            fh.truncate(min(cut, max(os.path.getsize(path) - 1, 0)))
    elif kind == "garbage":
        with open(path, "wb") as fh:
            fh.write(np.random.default_rng(cut).bytes(cut + 1))
    elif kind == "empty":
        open(path, "wb").close()
    elif kind == "foreign_owner":
        _rewrite(path, owner=ENCODERS[cut % len(ENCODERS)])
    elif kind == "wrong_dim":
        _rewrite(path, extra_dim=1 + cut % 3)
    elif kind == "keys_mismatch":
        _rewrite(path, drop_key=True)
    elif kind == "non_finite":
        _rewrite(path, nan=True)
    else:  # a valid shard of one encoder dropped into another encoder's folder
        folders = sorted({os.path.dirname(f) for f in files})
        target = os.path.join(folders[cut % len(folders)], f"copied-{cut}.npz")
        if target != path:
            shutil.copy(path, target)


max_items_strategy = st.sampled_from([None, 1, 3])
encode_op = st.tuples(
    st.just("encode"), st.integers(0, 2), st.booleans(), st.sampled_from(ENCODERS), texts_strategy
)
corrupt_op = st.tuples(st.just("corrupt"), st.integers(0, 50), st.sampled_from(CORRUPTIONS), st.integers(0, 400))
other_op = st.one_of(
    st.tuples(st.just("get"), st.integers(0, 2), st.sampled_from(ENCODERS), st.sampled_from(TEXTS)),
    st.tuples(st.just("clear"), st.integers(0, 2)),
)


class Run:
    """Up to three cache objects on one directory, with the checks every read must pass."""

    def __init__(self, directory: str, max_items):
        self.directory, self.max_items = directory, max_items
        self.caches = [EmbeddingCache(directory, max_items=max_items)]

    def reader(self, which: int, fresh: bool) -> EmbeddingCache:
        if fresh or which >= len(self.caches):  # a reader that has not seen the files (another process, a later run)
            cache = EmbeddingCache(self.directory, max_items=self.max_items)
            if len(self.caches) < 3:
                self.caches.append(cache)
            else:
                self.caches[which] = cache
            return cache
        return self.caches[which]

    def apply(self, op: tuple) -> None:
        kind = op[0]
        if kind == "encode":
            _, which, fresh, enc, texts = op
            out = self.reader(which, fresh).encode(enc, texts)
            assert out.shape == (len(texts), enc.dim) and out.dtype == np.float32
            np.testing.assert_array_equal(out, expected(enc, texts))
        elif kind == "get":
            _, which, enc, text = op
            vector = self.reader(which, False).get(enc.encoder_id, text, enc.dim)
            if vector is not None:
                np.testing.assert_array_equal(vector, expected(enc, [text])[0])
        elif kind == "clear":
            self.reader(op[1], False).clear()
        else:
            corrupt(self.directory, *op[1:])


@settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    max_items=max_items_strategy,
    writes=st.lists(encode_op, min_size=1, max_size=2),
    mixed=st.lists(st.one_of(encode_op, corrupt_op, other_op), min_size=0, max_size=4),
    damage=st.lists(corrupt_op, min_size=1, max_size=2),
)
def test_cache_never_returns_a_wrong_vector(max_items, writes, mixed, damage):
    """Writes, a random mix, corruptions, then every (encoder, text) read back through old and fresh caches."""
    with tempfile.TemporaryDirectory(prefix="cache-prop-", dir=SCRATCH) as directory:
        run = Run(directory, max_items)
        for op in [*writes, *mixed, *damage]:
            run.apply(op)
        for enc in ENCODERS:
            run.apply(("get", 0, enc, TEXTS[-1]))
            for which, fresh in ((0, False), (1, True)):
                run.apply(("encode", which, fresh, enc, TEXTS))
