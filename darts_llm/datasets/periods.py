"""Sales periods: the frequencies a sales loader accepts, the period of a timestamp, first-sale periods.

Convention: a week ``W-<DAY>`` is labelled by its last day (``W-SUN``: Monday to Sunday, labelled by the
Sunday, as pandas and Darts do), a month ``MS`` by its first day and ``ME`` by its last day, a day by itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from darts import TimeSeries

from darts_llm.datasets.compat import check_frequency_supported

__all__ = ["check_freq", "first_sale_dates", "period_labels", "period_last_day"]


def check_freq(freq: str) -> pd.DateOffset:
    """The offset of ``freq`` if it is one of the supported sales frequencies, else a ``ValueError``."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError) as err:
        raise ValueError(f"`freq` {freq!r} is not a pandas frequency; use 'W', 'D', 'MS' or 'ME'.") from err
    ok = offset.n == 1 and (
        isinstance(offset, (pd.offsets.Day, pd.offsets.MonthBegin, pd.offsets.MonthEnd))
        or (isinstance(offset, pd.offsets.Week) and offset.weekday is not None)
    )
    if not ok:
        raise ValueError(f"`freq` {freq!r} is not supported; use 'W' (or 'W-<DAY>'), 'D', 'MS' or 'ME'.")
    check_frequency_supported(offset, "freq")
    return offset


def period_labels(dates: pd.Series, offset: pd.DateOffset) -> pd.Series:
    """Label of the period holding each timestamp (see the module docstring)."""
    days = dates.dt.normalize()
    if isinstance(offset, pd.offsets.Week):
        ahead = (offset.weekday - days.dt.dayofweek) % 7
        return days + pd.to_timedelta(ahead, unit="D")
    if isinstance(offset, pd.offsets.MonthBegin):
        return days - pd.to_timedelta(days.dt.day - 1, unit="D")
    if isinstance(offset, pd.offsets.MonthEnd):
        return days + pd.to_timedelta(days.dt.days_in_month - days.dt.day, unit="D")
    return days


def period_last_day(label: pd.Timestamp, offset: pd.DateOffset) -> pd.Timestamp:
    """The last day of the period labelled ``label``."""
    if isinstance(offset, pd.offsets.MonthBegin):
        return label + pd.offsets.MonthEnd(1)
    return label


def first_sale_dates(series: Sequence[TimeSeries]) -> pd.Series:
    """First sale period (the series' start) of each product, indexed by stock code.

    Parameters
    ----------
    series
        Series from :func:`load_online_retail` or :func:`~darts_llm.datasets.make_synthetic_catalog`.
        Series without a ``stock_code`` in their metadata are indexed by their position.

    Returns
    -------
    pandas.Series
        ``datetime64`` start times, named ``"first_sale"``.
    """
    keys = [(s.metadata or {}).get("stock_code", i) for i, s in enumerate(series)]
    return pd.Series([s.start_time() for s in series], index=keys, name="first_sale")
