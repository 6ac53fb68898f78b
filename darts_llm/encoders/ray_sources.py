"""The texts of a catalogue as :func:`~darts_llm.encoders.ray_catalogue.encode_catalogue_ray` reads them.

A pandas table, a Series or a list is read on the driver; a file or a ``ray.data.Dataset`` is read by Ray Data
(on the cluster), one column only. Either way the result is the number of rows and the distinct texts, with the
column and emptiness checked first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from darts_llm.encoders.base import clean_texts

__all__ = ["COMPRESSIONS", "FILE_FORMATS", "check_file", "distinct_texts", "is_in_memory"]

#: File suffixes Ray Data reads here, and the reader used for each.
FILE_FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json",
                ".txt": "text"}
#: Compression suffixes accepted after a file format (``catalogue.csv.gz``).
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}


def _file_dataset(path: str, text_col: str):
    """A Ray dataset of the one column ``text_col`` of a file (csv/tsv/parquet/json/jsonl/txt, maybe compressed)."""
    import ray.data

    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    kind = FILE_FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None:
        raise ValueError(
            f"`source` {path!r}: cannot tell the file format from its name; use one of {sorted(FILE_FORMATS)} "
            f"(optionally followed by {sorted(COMPRESSIONS)}), or read the file yourself and pass a DataFrame."
        )
    stream = {"compression": compression} if compression else None
    if kind == "text":
        return ray.data.read_text(path, arrow_open_stream_args=stream), "text"
    if kind == "parquet":
        return ray.data.read_parquet(path, columns=[text_col]), text_col
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if kind == "json":
        return ray.data.read_json(path, arrow_open_stream_args=stream), text_col
    # only the text column, as strings: other columns of mixed type cannot break the parse
    convert = pacsv.ConvertOptions(include_columns=[text_col], column_types={text_col: pa.string()})
    parse = pacsv.ParseOptions(delimiter="\t" if suffixes[-1] == ".tsv" else ",", newlines_in_values=True)
    return ray.data.read_csv(path, arrow_open_stream_args=stream, convert_options=convert,
                             parse_options=parse), text_col


def _missing_column(text_col: str, columns, where: str = "`source`") -> ValueError:
    return ValueError(
        f"`text_col` {text_col!r} is not a column of {where}; its columns are {list(columns)}. Pass the name of "
        f"the column that holds the texts."
    )


def _local_file_columns(path: str) -> list[str] | None:
    """The column names of a local csv/tsv/parquet file (read from its header), ``None`` for other sources."""
    if "://" in path or not os.path.isfile(path):
        return None
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    kind = suffixes[-2] if compression and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    import pyarrow as pa

    if kind == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if kind in (".csv", ".tsv"):
        import pyarrow.csv as pacsv

        with pa.input_stream(path, compression=compression) as stream:
            parse = pacsv.ParseOptions(delimiter="\t" if kind == ".tsv" else ",")
            return list(pacsv.open_csv(stream, parse_options=parse).schema.names)
    return None


def check_file(source: str | os.PathLike, text_col: str) -> str:
    """The path of ``source``, checked: a local file must exist, and a csv/tsv/parquet one have ``text_col``."""
    path = os.fspath(source)
    if "://" not in path and not os.path.exists(path):
        raise FileNotFoundError(f"`source` {path!r} does not exist; pass a file, a DataFrame or a list of texts.")
    columns = _local_file_columns(path)
    if columns is not None and text_col not in columns:
        raise _missing_column(text_col, columns, where=f"the file {path!r}")
    return path


def is_in_memory(source) -> bool:
    """Whether ``source`` is read on the driver (a table or list) rather than by Ray Data (a file or dataset)."""
    return not (isinstance(source, (str, os.PathLike)) or type(source).__module__.startswith("ray.data"))


def _source_batches(source, text_col: str) -> Iterator[Sequence]:
    """The texts of ``source``, batch by batch (missing values as they are)."""
    import pandas as pd

    if isinstance(source, pd.Series):
        yield source.tolist()
        return
    if isinstance(source, pd.DataFrame):
        if text_col not in source.columns:
            raise _missing_column(text_col, source.columns)
        yield source[text_col].tolist()
        return
    if isinstance(source, (str, os.PathLike)):
        path = check_file(source, text_col)
        dataset, column = _file_dataset(path, text_col)
    elif type(source).__module__.startswith("ray.data"):
        dataset, column = source, text_col
        columns = dataset.columns()
        if columns is not None and column not in columns:
            raise _missing_column(column, columns, where="the Ray dataset")
    elif isinstance(source, Sequence) or isinstance(source, np.ndarray):
        yield list(source)
        return
    else:
        raise ValueError(
            f"`source` must be a pandas DataFrame or Series, a list of texts, a ray.data.Dataset or a file path, "
            f"got {type(source).__name__}."
        )
    for batch in dataset.select_columns([column]).iter_batches(batch_size=65_536, batch_format="pandas"):
        yield batch[column].tolist()


def distinct_texts(source, text_col: str) -> tuple[int, list[str]]:
    """(rows read, distinct texts in order of appearance) of ``source``."""
    n_rows, distinct = 0, {}
    for values in _source_batches(source, text_col):
        n_rows += len(values)
        distinct.update(dict.fromkeys(clean_texts(values, name=f"source[{text_col!r}]")))
    if n_rows == 0:
        raise ValueError("`source` holds no texts (no rows); pass a table, file or list with at least one text.")
    return n_rows, list(distinct)
