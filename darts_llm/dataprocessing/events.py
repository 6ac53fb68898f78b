"""Validation of a text events table: texts, times (int64, nanoseconds for datetimes), keys, known-in-advance flags."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from darts.logging import raise_log

from darts_llm.dataprocessing.alignment import as_int64
from darts_llm.encoders.base import clean_texts


@dataclass
class ParsedEvents:
    """Validated events: one entry per row, times as int64 (ns for datetimes)."""

    keys: np.ndarray | None
    start: np.ndarray
    end: np.ndarray
    texts: list[str]
    known: np.ndarray
    is_datetime: bool
    tz: Any
    groups: dict[Hashable, np.ndarray] | None

    def rows_for(self, key: Hashable) -> np.ndarray:
        if self.groups is None:
            return np.arange(len(self.texts))
        return self.groups.get(key, np.zeros(0, dtype=np.int64))


def bad_rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    labels = frame.index[np.asarray(mask)].tolist()
    more = f" and {len(labels) - 5} more" if len(labels) > 5 else ""
    return f"{labels[:5]}{more}"


def parse_times(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, bool, Any]:
    values = frame[col]
    missing = values.isna().to_numpy()
    if missing.any():
        raise_log(
            ValueError(
                f"events[{col!r}] has {int(missing.sum())} missing timestamp(s) (rows {bad_rows(frame, missing)}); "
                f"drop those rows or fill them."
            )
        )
    if pd.api.types.is_bool_dtype(values):
        raise_log(ValueError(f"events[{col!r}] holds booleans; it must hold timestamps or integer time steps."))
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64), False, None
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float)
        if not np.all(arr == np.round(arr)):
            raise_log(
                ValueError(f"events[{col!r}] holds non-integer numbers; use integers for a RangeIndex target "
                           f"or timestamps for a DatetimeIndex target.")
            )
        return arr.astype(np.int64), False, None
    if not pd.api.types.is_datetime64_any_dtype(values):
        try:
            values = pd.to_datetime(values)
        except (ValueError, TypeError) as err:
            raise_log(
                ValueError(
                    f"events[{col!r}] could not be read as timestamps ({err}); pass datetimes (`pd.to_datetime`) "
                    f"for a DatetimeIndex target or integers for a RangeIndex target."
                )
            )
    index = pd.DatetimeIndex(values)
    return as_int64(index), True, index.tz


def parse_events(
    events: pd.DataFrame,
    text_col: str,
    time_col: str | None,
    start_col: str | None,
    end_col: str | None,
    key_col: str | None,
    known_in_advance: bool | str,
) -> ParsedEvents:
    """Validate an events table (see :class:`~darts_llm.dataprocessing.TextEventsEmbedder` for the columns).

    Every error names the column (and the parameter that set it) and the offending rows.
    """
    if not isinstance(events, pd.DataFrame):
        raise_log(ValueError(f"`events` must be a pandas DataFrame, got {type(events).__name__}."))
    needed = {"text_col": text_col}
    if time_col is not None:
        needed["time_col"] = time_col
    else:
        needed.update(start_col=start_col, end_col=end_col)
    if key_col is not None:
        needed["key_col"] = key_col
    if isinstance(known_in_advance, str):
        needed["known_in_advance"] = known_in_advance
    for param, col in needed.items():
        if col not in events.columns:
            raise_log(
                ValueError(
                    f"`events` has no column {col!r} (set by `{param}`); its columns are {list(events.columns)}."
                )
            )
    texts = clean_texts(events[text_col].tolist(), name=f"events[{text_col!r}]")
    if time_col is not None:
        start, is_dt, tz = parse_times(events, time_col)
        end = start
    else:
        start, is_dt, tz = parse_times(events, start_col)
        end, is_dt_end, tz_end = parse_times(events, end_col)
        if is_dt != is_dt_end or str(tz) != str(tz_end):
            raise_log(ValueError(f"events[{start_col!r}] and events[{end_col!r}] must hold the same "
                                 f"kind of time (both datetimes with the same time zone, or both integers)."))
        bad = end < start
        if bad.any():
            raise_log(
                ValueError(
                    f"{int(bad.sum())} event(s) end before they start (events[{end_col!r}] < "
                    f"events[{start_col!r}] in rows {bad_rows(events, bad)}); swap or fix them."
                )
            )
    if isinstance(known_in_advance, str):
        flags = events[known_in_advance]
        if flags.isna().any() or not pd.api.types.is_bool_dtype(flags):
            raise_log(
                ValueError(
                    f"events[{known_in_advance!r}] (the `known_in_advance` column) must hold only "
                    f"True/False, got dtype {flags.dtype} with {int(flags.isna().sum())} missing value(s)."
                )
            )
        known = flags.to_numpy(dtype=bool)
    else:
        known = np.full(len(events), bool(known_in_advance))
    keys, groups = None, None
    if key_col is not None:
        key_values = events[key_col]
        if key_values.isna().any():
            raise_log(
                ValueError(
                    f"events[{key_col!r}] (the `key_col`) has missing keys in rows "
                    f"{bad_rows(events, key_values.isna().to_numpy())}; drop or fill them."
                )
            )
        keys = key_values.to_numpy(dtype=object)
        groups = {k: np.asarray(v, dtype=np.int64) for k, v in pd.Series(np.arange(len(keys))).groupby(keys).groups.items()}
        groups = {k: np.sort(v) for k, v in groups.items()}
    return ParsedEvents(keys, start, end, texts, known, is_dt, tz, groups)
