"""Catalogue encoding on a local Ray cluster (two CPU actors, a tiny random BERT), read back through the cache.

One encoding run serves most tests (starting actors costs seconds); the error tests fail before Ray is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

pytest.importorskip("ray.data", reason="Ray Data is in the ray and dev extras: pip install -e '.[ray]'")

import ray  # noqa: E402

import darts_llm.cache as cache_module  # noqa: E402
from darts_llm import EmbeddingCache, EncoderLoadError  # noqa: E402
from darts_llm.encoders import HuggingFaceEncoder, encode_catalogue_ray  # noqa: E402

DESCRIPTIONS = [
    "red heart candle", "blue garden chair", "christmas tree light set", "vintage tea mug of glass",
    "pink party bunting", "jumbo bag of paper", "wooden star decoration", "alarm clock", "hot water bottle",
    "kitchen metal sign", "gift wrap", "cake stand",
]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of two CPUs, for this module only."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    """A table of transactions: descriptions repeat, one is missing, other columns ride along."""
    texts = DESCRIPTIONS + DESCRIPTIONS[:5] + [None]
    return pd.DataFrame({"sku": range(len(texts)), "description": texts, "price": 1.5})


@pytest.fixture(scope="module")
def encoded(cluster, catalogue, tiny_bert_dir, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ray_cache")
    result = encode_catalogue_ray(catalogue, encoder=tiny_bert_dir, cache=directory, num_workers=2,
                                  rows_per_task=3, shard_size=5)
    return result, directory


class CountingEncoder:
    """Counts the forward passes of every HuggingFaceEncoder in this process (the Ray actors are others)."""

    def __init__(self, monkeypatch):
        self.texts = 0
        original = HuggingFaceEncoder._encode

        def counted(encoder, texts, batch_size, show_progress):
            self.texts += len(texts)
            return original(encoder, texts, batch_size, show_progress)

        monkeypatch.setattr(HuggingFaceEncoder, "_encode", counted)


def test_every_distinct_text_is_encoded_once_on_two_workers(encoded, catalogue):
    result, directory = encoded
    distinct = len(DESCRIPTIONS) + 1  # the missing description is the empty text
    counts = (result.n_rows, result.n_unique, result.n_cached, result.n_encoded)
    assert counts == (len(catalogue), distinct, 0, distinct)
    assert result.workers == 2 and result.gpus_per_worker == 0 and result.directory == directory
    assert 0 < result.encode_seconds < result.seconds  # actor start-up is not encoding
    shards = list(directory.glob("*/*.npz"))
    assert len(shards) == 3  # 13 vectors in shards of at most 5, written by the driver in the cache's format
    with np.load(shards[0]) as data:
        assert str(data["encoder_id"]) == result.encoder_id and data["vectors"].shape[1] == 32


def test_vectors_equal_in_process_encode_and_are_read_without_encoding(encoded, tiny_bert_dir, monkeypatch):
    result, directory = encoded
    texts = [*DESCRIPTIONS, ""]
    in_process = HuggingFaceEncoder(tiny_bert_dir).encode(texts)
    counter = CountingEncoder(monkeypatch)
    cache = EmbeddingCache(directory=directory)
    encoder = HuggingFaceEncoder(tiny_bert_dir)
    assert encoder.encoder_id == result.encoder_id
    from_ray = cache.encode(encoder, texts)
    assert counter.texts == 0 and cache.misses == 0
    np.testing.assert_allclose(from_ray, in_process, rtol=0, atol=1e-5)


def test_a_frozen_text_model_and_a_static_text_embedder_make_zero_encoder_calls(encoded, tiny_bert_dir,
                                                                                 cpu_trainer_kwargs, monkeypatch):
    from darts_llm.dataprocessing import StaticTextEmbedder
    from darts_llm.models import TextTiDEModel

    _, directory = encoded
    rows = [{"sku": k, "week": t, "qty": 1.0 + k % 3 + np.sin(t / 2 + k), "description": text, "price": 1.0 + k}
            for k, text in enumerate(DESCRIPTIONS[:6]) for t in range(20)]
    series = TimeSeries.from_group_dataframe(pd.DataFrame(rows), group_cols="sku", time_col="week",
                                             value_cols="qty", static_cols=["description", "price"])
    # what a new process with DARTS_LLM_CACHE_DIR pointing at the directory gets
    monkeypatch.setattr(cache_module, "_default_cache", EmbeddingCache(directory=directory))
    counter = CountingEncoder(monkeypatch)
    model = TextTiDEModel(input_chunk_length=8, output_chunk_length=4, hidden_size=8, n_epochs=1, batch_size=16,
                          random_state=0, text_encoder=tiny_bert_dir, text_dim=4, text_components=4,
                          pl_trainer_kwargs=cpu_trainer_kwargs)
    model.fit(series)
    forecasts = model.predict(4, series=series)
    embedder = StaticTextEmbedder(text_cols="description", n_components=2, encoder=tiny_bert_dir,
                                  cache=EmbeddingCache(directory=directory))
    numeric = embedder.fit_transform(series)
    assert counter.texts == 0
    assert len(forecasts) == len(series) and "description_emb_0" in numeric[0].static_covariates.columns


def test_a_second_run_from_a_file_encodes_nothing(encoded, catalogue, tiny_bert_dir, tmp_path):
    _, directory = encoded
    path = tmp_path / "catalogue.csv.gz"
    catalogue.to_csv(path, index=False)
    again = encode_catalogue_ray(path, encoder=tiny_bert_dir, cache=directory)
    assert (again.n_rows, again.n_cached, again.n_encoded, again.workers) == (len(catalogue), again.n_unique, 0, 0)


# ------------------------------------------------------------------------------------------------------ errors
def test_a_missing_column_is_named_with_the_columns_there(catalogue, tiny_bert_dir, tmp_path):
    with pytest.raises(ValueError, match=r"`text_col` 'title' is not a column.*'description'"):
        encode_catalogue_ray(catalogue, text_col="title", encoder=tiny_bert_dir, cache=tmp_path)
    path = tmp_path / "catalogue.csv"
    catalogue.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"'title' is not a column of the file .*\['sku', 'description', 'price'\]"):
        encode_catalogue_ray(path, text_col="title", encoder=tiny_bert_dir, cache=tmp_path)


def test_an_empty_table_a_missing_file_and_an_unknown_encoder_are_refused(catalogue, tiny_bert_dir, tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        encode_catalogue_ray(catalogue.iloc[:0], encoder=tiny_bert_dir, cache=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        encode_catalogue_ray(tmp_path / "nothing.csv", encoder=tiny_bert_dir, cache=tmp_path)
    with pytest.raises(EncoderLoadError, match="Unknown encoder 'no-such-encoder'"):
        encode_catalogue_ray(catalogue, encoder="no-such-encoder", cache=tmp_path)
    with pytest.raises(ValueError, match="cannot tell the file format"):
        (tmp_path / "catalogue.xml").write_text("<a/>")
        encode_catalogue_ray(tmp_path / "catalogue.xml", encoder=tiny_bert_dir, cache=tmp_path)


def test_bad_settings_are_refused(catalogue, tiny_bert_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_default_cache", EmbeddingCache())  # no DARTS_LLM_CACHE_DIR
    with pytest.raises(ValueError, match="DARTS_LLM_CACHE_DIR"):
        encode_catalogue_ray(catalogue, encoder=tiny_bert_dir)
    with pytest.raises(ValueError, match="`num_workers` must be a positive integer"):
        encode_catalogue_ray(catalogue, encoder=tiny_bert_dir, cache=tmp_path, num_workers=0)
    with pytest.raises(ValueError, match="`cache` must be a directory"):
        encode_catalogue_ray(catalogue, encoder=tiny_bert_dir, cache=3)


def test_more_gpus_than_the_cluster_has_are_refused(cluster, catalogue, tiny_bert_dir, tmp_path):
    with pytest.raises(ValueError, match="`num_gpus_per_worker` is 1 but the Ray cluster has 0 GPU"):
        encode_catalogue_ray(catalogue, encoder=tiny_bert_dir, cache=tmp_path, num_gpus_per_worker=1)
