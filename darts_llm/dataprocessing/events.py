"""A table of timestamped texts: :class:`TextEvents` names its columns; parsing gives texts, int64 times, keys, flags.

Times are int64: nanoseconds since the epoch for datetimes, the values themselves for integer time steps.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
import warnings
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


class TextEvents:
    """Timestamped texts (reviews, reports, promotion notes) and the names of the columns that hold them.

    Every column is named explicitly, nothing is guessed. The table is validated at construction; every error
    names the column and the parameter that set it.

    Parameters
    ----------
    data
        One row per text.
    text_col
        Column with the text. Missing text (``None``/NaN/``pd.NA``) is an event with the empty string.
    time_col
        Column with one timestamp per text: datetimes (or strings ``pd.to_datetime`` reads, in one time zone) for
        ``DatetimeIndex`` targets, integers for ``RangeIndex`` targets. Give either ``time_col`` or both
        ``start_col`` and ``end_col``.
    start_col, end_col
        Columns with the start and end (inclusive) of the period each text is about (a monthly report).
    key_col
        Column naming the series each text belongs to (matched to a series by the builder's ``series_key``).
        ``None``: every text belongs to every series (market news, or a single target series).
    known_in_advance
        ``False`` (default), ``True`` (every text is known in advance, e.g. planned promotions), or the name of a
        boolean column saying it per text.

    Examples
    --------
    >>> reviews = TextEvents(frame, text_col="review", time_col="date", key_col="sku")  # doctest: +SKIP
    >>> reports = TextEvents(frame, text_col="fact", start_col="start_date", end_col="end_date")  # doctest: +SKIP
    """

    def __init__(
        self,
        data: pd.DataFrame,
        text_col: str,
        time_col: str | None = None,
        *,
        start_col: str | None = None,
        end_col: str | None = None,
        key_col: str | None = None,
        known_in_advance: bool | str = False,
    ):
        for param, value in (("text_col", text_col), ("time_col", time_col), ("start_col", start_col),
                             ("end_col", end_col), ("key_col", key_col)):
            if value is not None and not isinstance(value, Hashable):
                raise_log(ValueError(f"`{param}` must be a column name, got {value!r}."))
        if not isinstance(known_in_advance, (bool, str)):
            raise_log(ValueError(f"`known_in_advance` must be a bool or a column name, got {known_in_advance!r}."))
        if time_col is not None and (start_col is not None or end_col is not None):
            raise_log(ValueError("Pass either `time_col` (one timestamp per text) or `start_col` and `end_col` "
                                 "(a period per text), not both."))
        if time_col is None and (start_col is None or end_col is None):
            raise_log(
                ValueError(
                    "Say when each text happened: pass `time_col` (one timestamp per text) or both `start_col` and "
                    "`end_col` (a period per text)."
                )
            )
        self.text_col = text_col
        self.time_col = time_col
        self.start_col = start_col
        self.end_col = end_col
        self.key_col = key_col
        self.known_in_advance = known_in_advance
        self.parsed = parse_events(data, text_col, time_col, start_col, end_col, key_col, known_in_advance)

    def with_data(self, data: pd.DataFrame) -> "TextEvents":
        """The same columns on another table (e.g. with the texts that arrived since)."""
        return TextEvents(
            data, self.text_col, self.time_col, start_col=self.start_col, end_col=self.end_col,
            key_col=self.key_col, known_in_advance=self.known_in_advance,
        )

    def __len__(self) -> int:
        return len(self.parsed.texts)

    def __repr__(self) -> str:
        when = f"time_col={self.time_col!r}" if self.time_col is not None else (
            f"start_col={self.start_col!r}, end_col={self.end_col!r}")
        return (f"TextEvents(n={len(self)}, text_col={self.text_col!r}, {when}, key_col={self.key_col!r}, "
                f"known_in_advance={self.known_in_advance!r})")


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
        values = _to_datetimes(values, col)
    index = pd.DatetimeIndex(values)
    return as_int64(index), True, index.tz


def _to_datetimes(values: pd.Series, col: str) -> pd.Series:
    """``pd.to_datetime`` with errors that name the column: unreadable values, mixed UTC offsets or zones."""
    fix_zones = (
        f"convert them to one zone first, e.g. `events[{col!r}] = pd.to_datetime(events[{col!r}], utc=True)`, "
        f"then `.dt.tz_convert(<zone>).dt.tz_localize(None)` for a time-zone-naive Darts series."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas warns before returning mixed offsets as objects
            parsed = pd.to_datetime(values)
    except (ValueError, TypeError, OverflowError) as err:
        message = str(err)
        if "tz" in message.lower() or "utc" in message.lower() or "offset" in message.lower():
            raise_log(
                ValueError(
                    f"events[{col!r}] mixes time zones or UTC offsets (or aware and naive times), which pandas cannot "
                    f"hold in one column; {fix_zones}"
                )
            )
        raise_log(
            ValueError(
                f"events[{col!r}] could not be read as timestamps ({message}); pass datetimes (`pd.to_datetime`) "
                f"for a DatetimeIndex target or integers for a RangeIndex target."
            )
        )
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        offsets = sorted({str(getattr(v, "tzinfo", None)) for v in parsed})
        raise_log(
            ValueError(
                f"events[{col!r}] mixes UTC offsets ({', '.join(offsets[:4])}), so its times are not one pandas "
                f"datetime column; {fix_zones}"
            )
        )
    return parsed


def parse_events(
    events: pd.DataFrame,
    text_col: str,
    time_col: str | None,
    start_col: str | None,
    end_col: str | None,
    key_col: str | None,
    known_in_advance: bool | str,
) -> ParsedEvents:
    """Validate an events table (see :class:`TextEvents` for the columns).

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
