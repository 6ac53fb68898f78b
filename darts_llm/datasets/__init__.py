"""Data sets with text: UCI Online Retail, Time-MMD, and a synthetic catalogue.

- :func:`load_online_retail`: one sales series per product with its description (real data).
- :func:`make_synthetic_catalog`: a SYNTHETIC catalogue whose descriptions drive demand.
- :func:`load_time_mmd`: a Time-MMD target series plus its timestamped text events.

The data files are never shipped with the package; the loaders take a path (or an environment
variable), and the Online Retail loader can download the official UCI file.
"""

from darts_llm.datasets.online_retail import (
    clean_online_retail,
    first_sale_dates,
    load_online_retail,
    load_online_retail_transactions,
)
from darts_llm.datasets.synthetic import make_synthetic_catalog
from darts_llm.datasets.time_mmd import ALL_TIME_MMD_DOMAINS, TIME_MMD_DOMAINS, load_time_mmd

__all__ = [
    "ALL_TIME_MMD_DOMAINS",
    "TIME_MMD_DOMAINS",
    "clean_online_retail",
    "first_sale_dates",
    "load_online_retail",
    "load_online_retail_transactions",
    "load_time_mmd",
    "make_synthetic_catalog",
]
