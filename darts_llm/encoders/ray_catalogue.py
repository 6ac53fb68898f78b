"""Encode a large catalogue of texts on a Ray cluster, into the :class:`~darts_llm.EmbeddingCache` directory format.

:func:`encode_catalogue_ray` reads the texts (a pandas table, a list, a ``ray.data.Dataset`` or a file that Ray
Data reads), keeps the distinct texts that the cache does not hold yet, and encodes them with Ray Data's
``map_batches`` on a pool of actors, one encoder per actor (one GPU each when the cluster has GPUs). The driver
writes the vectors as ordinary cache shards, so every text model and transformer that uses the same cache
directory then reads them without encoding anything.

``ray`` is an optional dependency (``pip install "darts-llm[ray]"``); it is imported when the function runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darts_llm.encoders.base import TextEncoder
from darts_llm.encoders.ray_sources import check_file, distinct_texts, is_in_memory

if TYPE_CHECKING:
    import pandas as pd

    from darts_llm.cache import EmbeddingCache

logger = logging.getLogger(__name__)

__all__ = ["CatalogueEncoding", "encode_catalogue_ray"]


@dataclass(frozen=True)
class CatalogueEncoding:
    """What :func:`encode_catalogue_ray` did.

    Attributes
    ----------
    encoder_id
        The encoder's fingerprint (the cache key of every vector written).
    directory
        The cache directory written to (``None`` for an in-memory cache).
    n_rows
        Rows (texts, with repeats) read from the source.
    n_unique
        Distinct texts among them (missing values count as the empty text).
    n_cached
        Distinct texts the cache already held; they were not encoded again.
    n_encoded
        Distinct texts encoded on the cluster and written to the cache.
    workers
        Actors in the pool (0 when nothing needed encoding).
    gpus_per_worker
        GPUs each actor reserved.
    seconds
        Wall time of the encoding stage: from handing the texts to Ray Data to the last shard written (actor
        start-up included, Ray start-up and reading the source not).
    encode_seconds
        From the first batch an actor started encoding to the last one it finished: the time the pool spent
        encoding once its actors were up (clocks of the cluster's nodes).
    """

    encoder_id: str
    directory: Path | None
    n_rows: int
    n_unique: int
    n_cached: int
    n_encoded: int
    workers: int
    gpus_per_worker: float
    seconds: float
    encode_seconds: float = 0.0


def _require_ray():
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate part of the ray[data] extra
    except ImportError as err:
        raise ImportError(
            'encode_catalogue_ray needs Ray Data, which is not installed. Install it with `pip install '
            '"darts-llm[ray]"` (or `pip install "ray[data]"`), or encode in one process with '
            "darts_llm.EmbeddingCache.encode / `darts-llm encode`."
        ) from err
    return ray


def _resolve_cache(cache) -> EmbeddingCache:
    from darts_llm.cache import EmbeddingCache, default_cache

    if cache is None:
        resolved = default_cache()
        if resolved.directory is None:
            raise ValueError(
                "`cache` is None and the process-wide cache has no directory (DARTS_LLM_CACHE_DIR is not set), "
                "so the embeddings would not outlive this process. Pass `cache=` a directory (or an "
                "EmbeddingCache with one), or set DARTS_LLM_CACHE_DIR before the first use of the cache."
            )
    elif isinstance(cache, EmbeddingCache):
        resolved = cache
    elif isinstance(cache, (str, os.PathLike)):
        resolved = EmbeddingCache(directory=cache)
    else:
        raise ValueError(f"`cache` must be a directory, a darts_llm.EmbeddingCache or None, got {cache!r}.")
    if resolved.directory is not None:  # fail before the cluster works, not after
        try:
            resolved.directory.mkdir(parents=True, exist_ok=True)
            writable = os.access(resolved.directory, os.W_OK)
        except OSError:
            writable = False
        if not writable:
            raise ValueError(
                f"The cache directory {str(resolved.directory)!r} cannot be written; pass `cache=` a writable "
                f"folder (or point DARTS_LLM_CACHE_DIR at one)."
            )
    return resolved


def _resolve_encoder(encoder) -> TextEncoder:
    from darts_llm.encoders.huggingface import HuggingFaceEncoder
    from darts_llm.registry import get_encoder

    if isinstance(encoder, dict):  # the constructor arguments of a HuggingFaceEncoder
        return HuggingFaceEncoder(**encoder)
    return get_encoder(encoder)  # aliases, ids, folders; unknown specs raise EncoderLoadError here


def _check_positive(value, name: str, allow_none: bool = True, real: bool = False):
    if value is None and allow_none:
        return None
    kinds = (int, float, np.integer, np.floating) if real else (int, np.integer)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "a positive number" if real else "a positive integer"
        raise ValueError(f"`{name}` must be {kind}{' or None' if allow_none else ''}, got {value!r}.")
    return value


# ------------------------------------------------------------------------------------------------ sources
# ------------------------------------------------------------------------------------------------ workers
class _EncodeActor:
    """One encoder per Ray actor: encodes a batch of texts and returns them with their vectors."""

    def __init__(self, encoder: TextEncoder, encoder_id: str, batch_size: int, threads: int):
        import torch

        torch.set_num_threads(threads)
        if threads == 1:  # one reserved CPU: no tokenizer thread pool competing with the other actors
            os.environ["TOKENIZERS_PARALLELISM"] = "false"
        self.encoder = encoder
        self.batch_size = batch_size
        found = encoder.encoder_id  # settles the model files on this node
        if found != encoder_id:
            raise RuntimeError(
                f"The encoder resolves to {found!r} on this Ray worker but to {encoder_id!r} on the driver, so its "
                f"vectors would be cached under a key the driver's models never ask for. Either the nodes have "
                f"different model files (install the same model or package version everywhere, or use a model "
                f"folder on a shared file system), or a half-precision `dtype` applies on the worker's GPU but not "
                f"on the driver's CPU (keep float32, the default, or run the driver on a GPU node)."
            )
        # load the weights now, while the actor starts, not inside its first batch
        encoder.encode(["warm-up"], batch_size=1, show_progress=False)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        began = time.time()
        texts = [str(t) for t in batch["text"]]
        vectors = self.encoder.encode(texts, batch_size=self.batch_size, show_progress=False)
        window = np.array([[began, time.time()]] * len(texts))  # per row: Ray Data batches are columns of rows
        return {"text": np.asarray(texts, dtype=object), "vector": np.asarray(vectors, dtype=np.float32),
                "window": window}


def _pool_size(ray, num_workers, cpus_per_worker, gpus_per_worker) -> tuple[int, float]:
    """(actors, GPUs per actor): one per GPU when the cluster has GPUs, else one per ``cpus_per_worker`` CPUs."""
    resources = ray.cluster_resources()
    gpus = float(resources.get("GPU", 0))
    if gpus_per_worker is None:
        gpus_per_worker = 1.0 if gpus >= 1 else 0.0
    if gpus_per_worker > gpus:
        raise ValueError(
            f"`num_gpus_per_worker` is {gpus_per_worker} but the Ray cluster has {gpus:g} GPU(s); pass 0 (CPU) or "
            f"None (GPUs when there are any)."
        )
    if num_workers is None:
        cpus = float(resources.get("CPU", 1))
        by_cpu = max(1, int(cpus // cpus_per_worker))
        num_workers = max(1, int(gpus // gpus_per_worker)) if gpus_per_worker else by_cpu
    return int(num_workers), float(gpus_per_worker)


def encode_catalogue_ray(
    source: pd.DataFrame | Sequence[str] | str | os.PathLike | Any,
    text_col: str = "description",
    encoder: str | TextEncoder | dict | None = None,
    cache: EmbeddingCache | str | os.PathLike | None = None,
    num_workers: int | None = None,
    num_cpus_per_worker: float = 1,
    num_gpus_per_worker: float | None = None,
    batch_size: int = 64,
    rows_per_task: int = 256,
    shard_size: int = 8192,
    address: str | None = None,
    show_progress: bool = False,
) -> CatalogueEncoding:
    """Encode every distinct text of a table or file on a Ray cluster and write the vectors to an embedding cache.

    Texts the cache already holds are skipped. The others go through Ray Data's ``map_batches`` on a pool of
    ``num_workers`` actors, each holding one encoder (on a GPU when it reserved one). The driver writes the
    vectors as shards of ``cache``'s directory, in the format :class:`~darts_llm.EmbeddingCache` reads, so a
    frozen text model, ``StaticTextEmbedder``, ``TextEventsEmbedder`` or ``TextNeighbours`` that uses the same
    cache (e.g. ``DARTS_LLM_CACHE_DIR``) and the same encoder finds every vector without encoding.

    Parameters
    ----------
    source
        The texts: a pandas DataFrame (``text_col`` is read), a Series or list of texts, a ``ray.data.Dataset``,
        or a path (local or any file system Ray Data reads, e.g. ``s3://...``) of a ``.csv``, ``.tsv``,
        ``.parquet``, ``.json``/``.jsonl`` (one object per line) or ``.txt`` file (one text per line), optionally
        ``.gz``/``.bz2``/``.zst`` compressed. Missing values are the empty text, as everywhere in darts-llm.
    text_col
        The column holding the texts (ignored for a list, a Series and ``.txt`` files).
    encoder
        An encoder alias, Hugging Face id or folder (as for :func:`darts_llm.get_encoder`), the constructor
        arguments of a :class:`~darts_llm.HuggingFaceEncoder`, or a picklable :class:`~darts_llm.TextEncoder`.
        ``None``: the default encoder (all-MiniLM-L6-v2). Every node needs the same model files.
    cache
        A directory, an :class:`~darts_llm.EmbeddingCache`, or ``None``: the process-wide
        :func:`darts_llm.default_cache`, which needs ``DARTS_LLM_CACHE_DIR``.
    num_workers
        Actors in the pool. ``None``: one per GPU when the cluster has GPUs, else one per
        ``num_cpus_per_worker`` CPUs of the cluster.
    num_cpus_per_worker
        CPUs each actor reserves; the encoder runs on that many torch threads.
    num_gpus_per_worker
        GPUs each actor reserves (``0.5`` puts two actors on a GPU). ``None``: 1 when the cluster has a GPU, else 0.
    batch_size
        Texts per forward pass of the encoder.
    rows_per_task
        Texts per call of an actor (one Ray Data batch).
    shard_size
        Texts per cache shard the driver writes.
    address
        The Ray cluster to connect to when Ray is not initialised yet (``ray.init(address=...)``; ``None``: the
        ``RAY_ADDRESS`` environment variable, else a new local cluster on this machine, shut down at the end).
        Call ``ray.init(...)`` yourself first to choose anything else (a ``runtime_env``, resources, ...).
    show_progress
        Show Ray Data's progress bars.

    Returns
    -------
    CatalogueEncoding
        Counts, the encoder id, the directory and the time the encoding took.

    Raises
    ------
    ValueError
        When ``source`` has no rows, lacks ``text_col`` or has an unknown file format, the cache directory cannot
        be written, or an argument is out of range.
    FileNotFoundError
        When a local ``source`` file does not exist.
    darts_llm.EncoderLoadError
        When ``encoder`` cannot be resolved (before Ray starts).
    """
    _check_positive(batch_size, "batch_size", allow_none=False)
    _check_positive(rows_per_task, "rows_per_task", allow_none=False)
    _check_positive(shard_size, "shard_size", allow_none=False)
    _check_positive(num_workers, "num_workers")
    _check_positive(num_cpus_per_worker, "num_cpus_per_worker", allow_none=False, real=True)
    if num_gpus_per_worker is not None and num_gpus_per_worker != 0:
        _check_positive(num_gpus_per_worker, "num_gpus_per_worker", real=True)
    if not isinstance(text_col, str) or not text_col:
        raise ValueError(f"`text_col` must be the name of the text column, got {text_col!r}.")
    resolved_cache = _resolve_cache(cache)
    text_encoder = _resolve_encoder(encoder)
    encoder_id = text_encoder.encoder_id
    ray = _require_ray()
    # a table or list is checked (columns, rows) before any Ray process starts
    read_first = is_in_memory(source)
    todo = None
    if read_first:
        n_rows, distinct = distinct_texts(source, text_col)
        todo = resolved_cache.missing(encoder_id, distinct, text_encoder.dim)
    elif isinstance(source, (str, os.PathLike)):
        check_file(source, text_col)
    started_here = not ray.is_initialized() and todo != []  # nothing to encode: no cluster to start
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=show_progress)
    try:
        with _ray_data_output(show_progress):
            if not read_first:
                n_rows, distinct = distinct_texts(source, text_col)
            if todo is None:
                todo = resolved_cache.missing(encoder_id, distinct, text_encoder.dim)
            workers, gpus, encode_seconds = 0, 0.0, 0.0
            start = time.perf_counter()
            if todo:
                workers, gpus = _pool_size(ray, num_workers, num_cpus_per_worker, num_gpus_per_worker)
                encode_seconds = _encode_on_cluster(ray, todo, text_encoder, encoder_id, resolved_cache, workers,
                                                    gpus, num_cpus_per_worker, batch_size, rows_per_task, shard_size)
            seconds = time.perf_counter() - start
    finally:
        if started_here:
            ray.shutdown()
    logger.info("Encoded %d of %d distinct texts on %d Ray worker(s) in %.1f s.", len(todo), len(distinct),
                workers, seconds)
    return CatalogueEncoding(
        encoder_id=encoder_id, directory=resolved_cache.directory, n_rows=n_rows, n_unique=len(distinct),
        n_cached=len(distinct) - len(todo), n_encoded=len(todo), workers=workers, gpus_per_worker=gpus,
        seconds=seconds, encode_seconds=encode_seconds,
    )


@contextlib.contextmanager
def _ray_data_output(show: bool):
    """Ray Data's progress bars and execution log lines on (``show``) or off, restored afterwards."""
    from ray.data import DataContext

    context = DataContext.get_current()
    data_logger = logging.getLogger("ray.data")
    saved = context.enable_progress_bars, data_logger.level
    context.enable_progress_bars = show
    if not show:
        data_logger.setLevel(max(logging.WARNING, data_logger.level))
    try:
        yield
    finally:
        context.enable_progress_bars = saved[0]
        data_logger.setLevel(saved[1])


def _encode_on_cluster(ray, texts, encoder, encoder_id, cache, workers, gpus, cpus, batch_size, rows_per_task,
                       shard_size) -> float:
    """Encode ``texts`` on a pool of ``workers`` actors; the driver writes shards of ``shard_size`` vectors.
    Returns the seconds from the first batch started to the last finished."""
    import pandas as pd
    from ray.data import ActorPoolStrategy

    blocks = max(workers, math.ceil(len(texts) / rows_per_task))
    # texts of similar length in the same batch: less padding in every encoder call (the order does not matter,
    # the cache is keyed by text)
    texts = sorted(texts, key=len, reverse=True)
    # split here: Ray's own split (``override_num_blocks``) turns DataFrames into arrays under pandas 3
    edges = np.linspace(0, len(texts), min(blocks, len(texts)) + 1).astype(int)
    frame = pd.DataFrame({"text": texts})
    dataset = ray.data.from_pandas([frame.iloc[a:b] for a, b in zip(edges[:-1], edges[1:]) if b > a])
    encoded = dataset.map_batches(
        _EncodeActor,
        fn_constructor_kwargs={"encoder": encoder, "encoder_id": encoder_id, "batch_size": batch_size,
                               "threads": max(1, int(cpus))},
        batch_size=rows_per_task,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=2),
        num_cpus=cpus,
        num_gpus=gpus or None,
    )
    written, first, last = 0, np.inf, -np.inf
    for batch in encoded.iter_batches(batch_size=shard_size, batch_format="numpy"):
        cache.put_many(encoder_id, [str(t) for t in batch["text"]], batch["vector"])
        written += len(batch["text"])
        first, last = min(first, float(batch["window"][:, 0].min())), max(last, float(batch["window"][:, 1].max()))
    if written != len(texts):  # pragma: no cover - Ray Data keeps every row of a one-to-one map
        raise RuntimeError(f"Ray returned {written} vectors for {len(texts)} texts.")
    return last - first
