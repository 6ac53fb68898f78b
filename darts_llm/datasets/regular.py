"""A dated column as a regular Darts ``TimeSeries``: frequency, duplicate dates, gaps, empty ends.

Public data sets are rarely regular: weeks are missing, a date appears twice (an ISO week 53 and the next
week 1 that start on the same Monday), the first or last values are empty, a ratio is ``inf``. Darts needs
one value per step of a fixed frequency. :func:`regular_series` makes that series and says (in a log
warning) every change it made.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.utils.missing_values import fill_missing_values

logger = logging.getLogger(__name__)

__all__ = ["DUPLICATE_RULES", "infer_frequency", "regular_series"]

#: How values sharing a date can be combined (pandas ``groupby`` aggregations).
DUPLICATE_RULES = ("mean", "sum", "first", "last", "max", "min")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def infer_frequency(dates: pd.DatetimeIndex, parameter: str = "freq") -> str:
    """The pandas frequency of sorted, distinct ``dates``, judged on the most common step between them.

    Gaps do not matter (unlike ``pandas.infer_freq``): a weekly series with missing weeks is still weekly.

    Parameters
    ----------
    dates
        Sorted distinct timestamps (at least two).
    parameter
        The argument to name in the error message when no frequency fits.

    Returns
    -------
    str
        ``"D"``; ``"W-<DAY>"`` (weeks labelled by their most common weekday); ``"MS"``/``"ME"``;
        ``"QS"``/``"QE"``; ``"YS"``/``"YE"``.
    """
    dates = pd.DatetimeIndex(dates)
    if len(dates) < 2:
        raise ValueError(f"Cannot infer a frequency from {len(dates)} date(s); pass `{parameter}`.")
    days = pd.Series(np.diff(dates.normalize()) / pd.Timedelta(days=1)).round().astype(int)
    step = int(days.mode().iloc[0])

    def starts_or_ends(start: str, end: str) -> str | None:
        if bool((dates.is_month_start).all()):
            return start
        if bool((dates.is_month_end).all()):
            return end
        return None

    found = None
    if step == 1:
        found = "D"
    elif step == 7:
        found = f"W-{_WEEKDAYS[int(pd.Series(dates.dayofweek).mode().iloc[0])]}"
    elif 28 <= step <= 31:
        found = starts_or_ends("MS", "ME")
    elif 89 <= step <= 92:
        found = starts_or_ends("QS", "QE")
    elif 365 <= step <= 366:
        found = starts_or_ends("YS", "YE")
    if found is None:
        raise ValueError(
            f"Cannot infer a regular frequency: the most common step between dates is {step} days "
            f"(dates {dates[0].date()} .. {dates[-1].date()}). Pass `{parameter}` (e.g. 'D', 'W-MON', 'MS')."
        )
    return found


def regular_series(
    times: pd.Series,
    values: pd.Series,
    freq: str | None = None,
    duplicates: str = "mean",
    fill_missing: bool = True,
    name: str = "series",
    component: str = "value",
    metadata: dict | None = None,
) -> TimeSeries:
    """One value per step of ``freq``, from dates and values as found in a file.

    In order: unparsable dates are dropped; non-numeric and non-finite values (``inf``) count as
    missing; values sharing a date are combined by ``duplicates``; the frequency is ``freq`` or inferred
    (:func:`infer_frequency`); missing leading and trailing values are cut off; missing dates inside the span
    are added and, with ``fill_missing``, every missing value inside is filled by linear interpolation in time
    (Darts' ``fill_missing_values``). Each of these changes is logged as a warning naming ``name``.

    Parameters
    ----------
    times, values
        The dates and the values, aligned.
    freq
        A pandas frequency; ``None`` infers it.
    duplicates
        How to combine values that share a date: one of :data:`DUPLICATE_RULES`.
    fill_missing
        Interpolate missing values inside the span (else they stay NaN).
    name
        What to call the data in messages, e.g. ``"Time-MMD Health_US"``.
    component, metadata
        The component name and the metadata of the returned series.

    Returns
    -------
    TimeSeries
        A float32 series on a regular index of ``freq``.
    """
    if duplicates not in DUPLICATE_RULES:
        raise ValueError(f"`duplicates` must be one of {DUPLICATE_RULES}, got {duplicates!r}.")
    frame = pd.DataFrame(
        {"time": pd.to_datetime(pd.Series(times).to_numpy(), errors="coerce"),
         "value": pd.to_numeric(pd.Series(values).to_numpy(), errors="coerce")}
    )
    frame.loc[~np.isfinite(frame["value"].to_numpy(dtype=float)), "value"] = np.nan
    bad_dates = int(frame["time"].isna().sum())
    if bad_dates:
        logger.warning("%s: dropped %d rows whose date cannot be read.", name, bad_dates)
        frame = frame.dropna(subset=["time"])
    n_dup = int(frame["time"].duplicated().sum())
    if n_dup:
        example = frame.loc[frame["time"].duplicated(keep=False), "time"].iloc[0]
        logger.warning(
            "%s: %d duplicate dates (e.g. %s); the values sharing a date are combined by their %s.",
            name, n_dup, example.date(), duplicates,
        )
    frame = frame.groupby("time", sort=True)["value"].agg(duplicates).reset_index()

    observed = frame.dropna(subset=["value"])
    if observed.empty:
        raise ValueError(f"{name}: no value can be read (all empty or non-numeric).")
    lead, trail = int(observed.index[0]), len(frame) - 1 - int(observed.index[-1])
    if lead or trail:
        logger.warning("%s: cut %d empty leading and %d empty trailing values.", name, lead, trail)
    frame = frame.loc[observed.index[0] : observed.index[-1]]

    freq = freq or infer_frequency(pd.DatetimeIndex(frame["time"]))
    grid = pd.date_range(frame["time"].iloc[0], frame["time"].iloc[-1], freq=freq)
    off_grid = ~pd.DatetimeIndex(frame["time"]).isin(grid)
    if off_grid.any():
        raise ValueError(
            f"{name}: {int(off_grid.sum())} dates are not on the frequency {freq!r} (e.g. "
            f"{frame['time'][off_grid].iloc[0].date()}); pass the frequency the dates follow as `freq`."
        )
    n_gaps = len(grid) - len(frame)
    n_empty = int(frame["value"].isna().sum())
    series = TimeSeries.from_dataframe(
        frame.astype({"value": np.float32}),
        time_col="time",
        value_cols="value",
        fill_missing_dates=True,
        freq=freq,
        metadata=metadata,
    ).with_columns_renamed("value", component)
    if n_gaps or n_empty:
        action = "filled by linear interpolation" if fill_missing else "left as NaN"
        logger.warning(
            "%s: %d missing %s steps (gaps in the dates) and %d empty or non-finite values inside the "
            "series; %s.", name, n_gaps, freq, n_empty, action,
        )
        if fill_missing:
            series = fill_missing_values(series, fill="auto")
    return series.astype(np.float32)
