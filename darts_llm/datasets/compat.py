"""Guards for library combinations that load data fine but cannot forecast it.

Darts 0.48.1 allows pandas 3, but with pandas 3 it cannot fit or backtest *daily* series: pandas 3 no longer
treats the ``Day`` offset as a fixed-length ``Tick``, and ``darts.utils.utils.n_steps_between`` then fails
(``TypeError: unsupported operand type(s) for //: 'Timedelta' and 'Day'``) in every regression and torch
model's training-set builder and in ``historical_forecasts``. Weekly, monthly and hourly series are not
affected. The check probes Darts itself, so it lifts as soon as a Darts release handles the case.
"""

from __future__ import annotations

import functools

import pandas as pd

__all__ = ["check_frequency_supported", "darts_handles_daily_series"]


@functools.lru_cache(maxsize=1)
def darts_handles_daily_series() -> bool:
    """Whether the installed Darts counts steps of a daily frequency (false: Darts 0.48 with pandas 3)."""
    from darts.utils.utils import n_steps_between

    start = pd.Timestamp("2000-01-01")
    try:
        return n_steps_between(start + pd.Timedelta(days=3), start, freq=pd.offsets.Day()) == 3
    except TypeError:
        return False


def check_frequency_supported(freq, parameter: str = "freq") -> None:
    """Raise a ``ValueError`` naming ``parameter`` and the fix if Darts cannot forecast at ``freq``.

    Parameters
    ----------
    freq
        A pandas frequency string or offset (``"D"``, ``"W-SUN"``, ``pd.offsets.Day()``, ...).
    parameter
        The name of the argument that carried ``freq``, for the message.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, pd.offsets.Day) and not darts_handles_daily_series():
        import darts

        raise ValueError(
            f"`{parameter}` {offset.freqstr!r} makes daily series, which Darts {darts.__version__} cannot fit or "
            f"backtest with pandas {pd.__version__} (darts.utils.utils.n_steps_between fails on the 'D' "
            f"offset). Use weekly or monthly data (e.g. {parameter}='W' or 'MS'), or install pandas 2: "
            "`pip install 'pandas>=2.2,<3'`."
        )
