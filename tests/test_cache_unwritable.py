"""A cache directory that cannot be written degrades to memory with one warning; nothing computed is lost.

Tests run as root, which ignores permission bits, so read-only storage is simulated: a path under a regular file,
or ``os.replace`` raising ``EROFS`` as a read-only mount does.
"""

from __future__ import annotations

import errno
import logging
import os

import numpy as np
import pytest

import darts_llm.cache as cache_module
from darts_llm import EmbeddingCache, TextEncoder, default_cache


class StubEncoder(TextEncoder):
    def __init__(self):
        self.seen: list[str] = []

    @property
    def dim(self):
        return 3

    @property
    def encoder_id(self):
        return "stub:3"

    def _encode(self, texts, batch_size, show_progress):
        self.seen.extend(texts)
        return np.array([[len(t), sum(map(ord, t)) % 101, 1.0] for t in texts], dtype=np.float32)


def _cache_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Cannot write to the embedding cache" in r.getMessage()]


@pytest.fixture
def read_only_mount(monkeypatch):
    """Every ``os.replace`` fails as on a read-only file system."""

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cache_module.os, "replace", refuse)


def test_path_under_a_file_degrades_to_memory_with_one_warning(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    cache, enc = EmbeddingCache(blocker / "cache"), StubEncoder()
    with caplog.at_level(logging.WARNING, logger="darts_llm.cache"):
        first = cache.encode(enc, ["red candle", "blue chair"])
        second = cache.encode(enc, ["blue chair", "green mug"])
        third = cache.encode(enc, ["red candle", "green mug"])
    np.testing.assert_array_equal(first, StubEncoder().encode(["red candle", "blue chair"]))
    np.testing.assert_array_equal(third, StubEncoder().encode(["red candle", "green mug"]))
    assert second.shape == (2, 3)
    assert enc.seen == ["red candle", "blue chair", "green mug"]  # kept in memory, never recomputed
    assert len(_cache_warnings(caplog)) == 1 and not cache.writable
    assert str(blocker / "cache") in _cache_warnings(caplog)[0]


def test_read_only_mount_still_serves_existing_files(tmp_path, caplog, monkeypatch):
    EmbeddingCache(tmp_path).encode(StubEncoder(), ["red candle"])
    before = sorted(os.listdir(tmp_path / os.listdir(tmp_path)[0]))

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cache_module.os, "replace", refuse)
    cache, enc = EmbeddingCache(tmp_path), StubEncoder()
    with caplog.at_level(logging.WARNING, logger="darts_llm.cache"):
        out = cache.encode(enc, ["red candle", "new text", "another new text"])
        cache.encode(enc, ["yet another"])
    assert enc.seen == ["new text", "another new text", "yet another"]  # the stored text came from disk
    np.testing.assert_array_equal(out, StubEncoder().encode(["red candle", "new text", "another new text"]))
    assert len(_cache_warnings(caplog)) == 1
    assert sorted(os.listdir(tmp_path / os.listdir(tmp_path)[0])) == before  # no temporary files left behind


def test_default_cache_on_a_read_only_cache_dir(tmp_path, monkeypatch, caplog, read_only_mount):
    monkeypatch.setenv("DARTS_LLM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache_module, "_default_cache", None)
    enc = StubEncoder()
    with caplog.at_level(logging.WARNING, logger="darts_llm.cache"):
        out = default_cache().encode(enc, ["red candle", "blue chair"])
        again = default_cache().encode(enc, ["blue chair"])
    np.testing.assert_array_equal(again[0], out[1])
    assert enc.seen == ["red candle", "blue chair"]
    assert len(_cache_warnings(caplog)) == 1


def test_unpickled_cache_tries_the_directory_again(tmp_path, read_only_mount):
    import pickle

    cache = EmbeddingCache(tmp_path)
    cache.encode(StubEncoder(), ["a"])
    assert not cache.writable
    assert pickle.loads(pickle.dumps(cache)).writable


def test_stored_vectors_cannot_be_changed_through_the_caller(tmp_path):
    cache = EmbeddingCache()
    vectors = np.ones((1, 3), dtype=np.float32)
    cache.put_many("stub:3", ["a"], vectors)
    vectors[:] = 5.0
    np.testing.assert_array_equal(cache.get("stub:3", "a", 3), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError):
        cache.get("stub:3", "a", 3)[0] = 9.0
    with pytest.raises(ValueError, match="one row per text"):
        cache.put_many("stub:3", ["a", "b"], np.ones((1, 3)))
