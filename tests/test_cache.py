"""EmbeddingCache: hits, duplicates, disk persistence, corruption, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle

import numpy as np
import pytest

from darts_llm import EmbeddingCache, TextEncoder


class CountingEncoder(TextEncoder):
    """Deterministic toy encoder that records every text it is asked to encode."""

    def __init__(self, dim: int = 4, salt: str = ""):
        self._dim = dim
        self.salt = salt
        self.seen: list[str] = []

    @property
    def dim(self):
        return self._dim

    @property
    def encoder_id(self):
        return f"counting:{self._dim}:{self.salt}"

    def _encode(self, texts, batch_size, show_progress):
        self.seen.extend(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = [len(t), sum(map(ord, t)) % 97, len(self.salt), 1.0][: self._dim]
        return out


def test_duplicates_encoded_once_and_order_kept():
    enc, cache = CountingEncoder(), EmbeddingCache()
    out = cache.encode(enc, ["b", "a", "b", "b", None, ""])
    assert enc.seen == ["b", "a", ""]
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[4], out[5])
    assert out[1][0] == 1.0 and out.dtype == np.float32
    cache.encode(enc, ["a", "c"])
    assert enc.seen == ["b", "a", "", "c"]
    assert cache.hits == 4 and cache.misses == 4


def test_keys_include_the_encoder():
    cache = EmbeddingCache()
    a, b = CountingEncoder(salt="a"), CountingEncoder(salt="bb")
    va = cache.encode(a, ["x"])
    vb = cache.encode(b, ["x"])
    assert b.seen == ["x"]
    assert va[0][2] != vb[0][2]


def test_memory_bound_evicts_oldest():
    enc, cache = CountingEncoder(), EmbeddingCache(max_items=2)
    cache.encode(enc, ["a", "b", "c"])
    assert len(cache) == 2
    cache.encode(enc, ["a"])
    assert enc.seen.count("a") == 2


def test_disk_cache_persists_across_instances(tmp_path):
    enc = CountingEncoder()
    first = EmbeddingCache(tmp_path).encode(enc, ["a", "b"])
    enc2 = CountingEncoder()
    second = EmbeddingCache(tmp_path).encode(enc2, ["b", "a"])
    assert enc2.seen == []
    np.testing.assert_array_equal(second[::-1], first)


def _files(directory):
    return [os.path.join(r, f) for r, _, fs in os.walk(directory) for f in fs]


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: open(p, "wb").write(b"not a numpy file"),
        lambda p: open(p, "r+b").truncate(20),
        lambda p: open(p, "wb").close(),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_corrupt_file_is_recomputed(tmp_path, damage):
    enc = CountingEncoder()
    good = EmbeddingCache(tmp_path).encode(enc, ["hello"])
    (path,) = _files(tmp_path)
    damage(path)
    enc2 = CountingEncoder()
    again = EmbeddingCache(tmp_path).encode(enc2, ["hello"])
    assert enc2.seen == ["hello"]
    np.testing.assert_array_equal(again, good)
    # the bad file was replaced by a good one
    enc3 = CountingEncoder()
    EmbeddingCache(tmp_path).encode(enc3, ["hello"])
    assert enc3.seen == []


def test_foreign_file_is_not_trusted(tmp_path):
    """A shard written for another encoder, copied into this encoder's folder, is detected and recomputed."""
    mine, other = CountingEncoder(salt="mine"), CountingEncoder(salt="other")
    cache = EmbeddingCache(tmp_path)
    cache.encode(other, ["two"])
    (other_path,) = _files(tmp_path)
    cache.encode(mine, ["one"])
    (mine_path,) = [p for p in _files(tmp_path) if p != other_path]
    os.replace(other_path, os.path.join(os.path.dirname(mine_path), "copied.npz"))
    enc2 = CountingEncoder(salt="mine")
    out = EmbeddingCache(tmp_path).encode(enc2, ["two", "one"])
    assert enc2.seen == ["two"]
    assert out[0][2] == 4.0  # len("mine"), not len("other")


def _writer(directory, seed, barrier):
    enc = CountingEncoder()
    barrier.wait(30)
    texts = [f"text {i}" for i in range(200)]
    rng = np.random.default_rng(seed)
    rng.shuffle(texts)
    EmbeddingCache(directory).encode(enc, texts)


def test_concurrent_writers_leave_only_valid_files(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), s, barrier)) for s in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    files = _files(tmp_path)
    assert 1 <= len(files) <= 3 and not any(os.path.basename(f).startswith(".tmp") for f in files)
    enc = CountingEncoder()
    out = EmbeddingCache(tmp_path).encode(enc, [f"text {i}" for i in range(200)])
    assert enc.seen == []
    np.testing.assert_array_equal(out, CountingEncoder().encode([f"text {i}" for i in range(200)]))


def test_cache_pickles(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.encode(CountingEncoder(), ["a"])
    again = pickle.loads(pickle.dumps(cache))
    enc = CountingEncoder()
    again.encode(enc, ["a"])
    assert enc.seen == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_items"):
        EmbeddingCache(max_items=0)


def test_each_shard_is_read_once_per_call(tmp_path, monkeypatch):
    """Many shards (e.g. one per batch of a distributed encoding job): a reader loads each file once per call."""
    enc = CountingEncoder()
    texts = [f"text {i}" for i in range(60)]
    for start in range(0, 60, 3):  # 20 shards, more than the shards held in memory
        EmbeddingCache(tmp_path).encode(enc, texts[start : start + 3])
    loads = []
    original = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: loads.append(a[0]) or original(*a, **k))
    interleaved = [texts[shard * 3 + j] for j in range(3) for shard in range(20)]  # shard 0, 1, ..., 19, 0, 1, ...
    reader = EmbeddingCache(tmp_path, max_items=5)
    out = reader.encode(CountingEncoder(), interleaved)
    np.testing.assert_array_equal(out, CountingEncoder().encode(interleaved))
    assert reader.misses == 0
    assert len(loads) <= 2 * 20  # the index pass, then at most one more read per evicted shard
