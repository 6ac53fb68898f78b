"""The product panel: every product's weekly sales on one common axis (the one panel matrix of the benchmarks)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from darts import TimeSeries

from darts_llm.evaluation import ABLATION_MODES, replace_texts

#: The development data of this repository, beside the clone (override with ``--data`` or the env variable).
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
DATA_ENV = "DARTS_LLM_ONLINE_RETAIL"


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """``--data``: the Online Retail file (default ``$DARTS_LLM_ONLINE_RETAIL``, else the development copy)."""
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(DATA_ENV) or DEFAULT_DATA),
                        help=f"Online Retail file (default: ${DATA_ENV}, else {DEFAULT_DATA})")


@dataclass
class Panel:
    """All products on the common weekly axis.

    ``values[i, t]`` is product ``i``'s units in week ``times[t]``, NaN before its first sale (``launch[i]``).
    ``texts[mode]`` holds one description per product for each ablation mode (real / shuffled / constant).
    """

    times: pd.DatetimeIndex
    values: np.ndarray
    launch: np.ndarray
    censored: np.ndarray  # on sale when the data begin: launch date unknown
    texts: dict[str, list[str]]
    price: np.ndarray
    series: list[TimeSeries] = field(repr=False, default_factory=list)

    def week(self, t: pd.Timestamp) -> int:
        """Position of week ``t`` on the axis."""
        return int(self.times.get_loc(t))

    @property
    def log_price(self) -> np.ndarray:
        return np.log1p(self.price)

    def history(self, i: int, end: int) -> np.ndarray:
        """Product ``i``'s sales from its launch up to (not including) week ``end``."""
        return self.values[i, self.launch[i] : end]


def panel_from_series(series: list[TimeSeries], censored_weeks: int = 0, shuffle_seed: int = 0) -> Panel:
    """The panel of weekly product series (``description`` and ``price`` static covariates).

    Parameters
    ----------
    series
        One univariate series per product, starting at its first sale.
    censored_weeks
        Products first sold in the first ``censored_weeks`` weeks of the data count as on sale before the data
        begin (their launch is not observed).
    shuffle_seed
        Seed of the shuffled-descriptions ablation.
    """
    start = min(s.start_time() for s in series)
    end = max(s.end_time() for s in series)
    times = pd.date_range(start, end, freq=series[0].freq)
    values = np.full((len(series), len(times)), np.nan)
    for i, s in enumerate(series):
        values[i, times.get_indexer(s.time_index)] = s.univariate_values()
    launch = np.array([times.get_loc(s.start_time()) for s in series])
    descriptions = [str(s.static_covariates["description"].iloc[0]) for s in series]
    texts = {mode: replace_texts(descriptions, mode, seed=shuffle_seed) for mode in ABLATION_MODES}
    price = np.array([float(s.static_covariates["price"].iloc[0]) for s in series])
    return Panel(times, values, launch, launch < censored_weeks, texts, price, series)


def load_panel(path: Path, censored_weeks: int = 0, shuffle_seed: int = 0) -> Panel:
    """:func:`panel_from_series` of :func:`darts_llm.datasets.load_online_retail` (weekly) read from ``path``."""
    from darts_llm.datasets import load_online_retail

    return panel_from_series(load_online_retail(path, freq="W", download=False), censored_weeks, shuffle_seed)
