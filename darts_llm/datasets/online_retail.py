"""UCI Online Retail: one weekly (or daily, monthly) sales series per product, with its description.

The data set (Chen, 2015, UCI Machine Learning Repository id 352, CC BY 4.0,
https://doi.org/10.24432/C5BW33) holds 541,909 transactions of a UK gift-ware web shop from
2010-12-01 to 2011-12-09. Each product (``StockCode``) has a short English ``Description``, which makes
it a natural test bed for text as a static covariate, above all for products launched during the year.

Three steps, each usable on its own:

1. :func:`load_online_retail_transactions` finds and reads the raw file (``.csv``, ``.csv.gz`` or
   ``.xlsx``), downloading the official UCI file when nothing local is found.
2. :func:`clean_online_retail` keeps real product sales and gives every product one description.
3. :func:`load_online_retail` turns the sales into one Darts ``TimeSeries`` per product.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from darts import TimeSeries

from darts_llm.datasets.periods import check_freq, first_sale_dates, period_labels, period_last_day
from darts_llm.datasets.retail_files import COLUMNS, RETAIL_II_COLUMNS, read_retail_file, require_openpyxl

__all__ = [
    "ONLINE_RETAIL_URL",
    "clean_online_retail",
    "first_sale_dates",
    "load_online_retail",
    "load_online_retail_transactions",
]

#: Official UCI download (a zip holding ``Online Retail.xlsx``).
ONLINE_RETAIL_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
#: Environment variable naming a local copy of the file.
ENV_PATH = "DARTS_LLM_ONLINE_RETAIL"
#: Environment variable overriding the cache directory (default ``~/.cache/darts_llm``).
ENV_CACHE_DIR = "DARTS_LLM_CACHE_DIR"

_CACHE_NAME = "online_retail.csv.gz"
# The zip's hash cannot be pinned offline, so a download is verified on its *content* instead.
_EXPECTED_ROWS = 541_909
_EXPECTED_QUANTITY = 5_176_450

#: Stock codes that are fees, postage, discounts or manual entries, not products. Codes without any
#: digit, and codes starting with one of ``NON_PRODUCT_PREFIXES``, are dropped as well.
NON_PRODUCT_CODES = frozenset(
    {"POST", "D", "M", "C2", "DOT", "BANK CHARGES", "AMAZONFEE", "PADS", "B", "S", "CRUK"}
)
NON_PRODUCT_PREFIXES = ("DCGS", "GIFT_0001_")
#: The two huge orders (80,995 and 74,215 units, (InvoiceNo, StockCode)) that were cancelled at once by
#: C581484 and C541433. Their cancellations go with the other cancellations; the orders go here.
OUTLIER_ORDERS = frozenset({("581483", "23843"), ("541431", "23166")})
#: Descriptions of services sold under numeric codes (``23444`` "Next Day Carriage", ``23702``
#: "High Resolution Image", gift vouchers); they are ignored like stock notes.
SERVICE_DESCRIPTION = re.compile(
    r"(CARRIAGE|POSTAGE)$|GIFT VOUCHER|^HIGH RESOLUTION IMAGE$", flags=re.IGNORECASE
)

_FIX_HINT = (
    "Fix it in one of three ways: pass `path=` to a local copy ('.csv', '.csv.gz' or '.xlsx' with the "
    f"columns {', '.join(COLUMNS)}, or the Online Retail II columns {', '.join(RETAIL_II_COLUMNS)}); or set "
    f"the environment variable {ENV_PATH} to that file; or go online (with the `xlsx` extra installed: "
    f"`pip install 'darts-llm[xlsx]'`) so the official file {ONLINE_RETAIL_URL} can be downloaded "
    "into the cache directory (~/.cache/darts_llm, or the directory in "
    f"{ENV_CACHE_DIR})."
)


# --------------------------------------------------------------------------------------------------
# 1. Finding and reading the raw file
# --------------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """Directory where the downloaded file is kept: ``$DARTS_LLM_CACHE_DIR`` or ``~/.cache/darts_llm``."""
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "darts_llm"


def load_online_retail_transactions(
    path: str | os.PathLike | None = None, download: bool = True
) -> pd.DataFrame:
    """Read the raw UCI Online Retail transactions.

    The file is looked up in this order: the ``path`` argument; the environment variable
    ``DARTS_LLM_ONLINE_RETAIL``; ``online_retail.csv.gz`` in the cache directory
    (``$DARTS_LLM_CACHE_DIR`` or ``~/.cache/darts_llm``); and finally, if ``download`` is true, the
    official UCI zip (:data:`ONLINE_RETAIL_URL`). A download needs ``openpyxl`` to read its ``.xlsx``; it
    is checked on its *content* (541,909 rows, sum of ``Quantity`` 5,176,450), because the zip's hash
    cannot be known in advance, and then stored in the cache directory as ``online_retail.csv.gz``.

    Parsed files are kept in memory per (path, modification time, size), so a second call is cheap.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.xlsx`` file of *Online Retail* (columns ``InvoiceNo, StockCode,
        Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``) or of *Online Retail II*
        (``Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country``; its
        ``.xlsx`` has the sheets 2009-2010 and 2010-2011, and both are read). The layout is chosen by the
        columns found; see :mod:`darts_llm.datasets.retail_files`. An ``.xlsx`` needs the ``xlsx`` extra
        (``openpyxl``).
    download
        Whether to download the official file when no local copy is found.

    Returns
    -------
    pandas.DataFrame
        One row per transaction line, the *Online Retail* columns (whatever the file's layout) with dtypes ``str`` (InvoiceNo, StockCode,
        Description, Country), ``int64`` (Quantity), ``datetime64`` (InvoiceDate), ``float64``
        (UnitPrice) and ``Int64`` (CustomerID). Values are exactly as in the file (no cleaning).

    Raises
    ------
    FileNotFoundError
        If no file can be found or downloaded; the message says how to fix it.
    """
    resolved = _resolve_path(path, download)
    stat = resolved.stat()
    return _read_cached(str(resolved), stat.st_mtime_ns, stat.st_size).copy()


def _resolve_path(path, download: bool) -> Path:
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"`path` {str(p)!r} is not a file. {_FIX_HINT}")
        return p
    env = os.environ.get(ENV_PATH)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise FileNotFoundError(
                f"The environment variable {ENV_PATH}={env!r} does not name a file. {_FIX_HINT}"
            )
        return p
    cached = cache_dir() / _CACHE_NAME
    if cached.is_file():
        return cached
    if not download:
        raise FileNotFoundError(
            f"The Online Retail data was not found (no `path`, no {ENV_PATH}, nothing at {cached}) "
            f"and `download=False`. {_FIX_HINT}"
        )
    try:
        _download(cached)
    except Exception as err:  # network, zip, openpyxl or content problems all end here
        raise FileNotFoundError(
            f"The Online Retail data was not found (no `path`, no {ENV_PATH}, nothing at {cached}) "
            f"and downloading {ONLINE_RETAIL_URL} failed: {err}. {_FIX_HINT}"
        ) from err
    return cached


def _download(dest: Path) -> None:
    """Download the UCI zip, check its content and store it as a ``.csv.gz`` at ``dest``."""
    require_openpyxl()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        zip_path = Path(tmp) / "online_retail.zip"
        with urllib.request.urlopen(ONLINE_RETAIL_URL, timeout=120) as resp, open(zip_path, "wb") as fh:
            shutil.copyfileobj(resp, fh)
        with zipfile.ZipFile(zip_path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(".xlsx")]
            if not members:
                raise ValueError(f"the zip holds no .xlsx file (members: {zf.namelist()})")
            xlsx = Path(zf.extract(members[0], tmp))
        df = read_retail_file(xlsx)
        if len(df) != _EXPECTED_ROWS or int(df["Quantity"].sum()) != _EXPECTED_QUANTITY:
            raise ValueError(
                f"the downloaded file has {len(df)} rows and sum(Quantity)={int(df['Quantity'].sum())}, "
                f"expected {_EXPECTED_ROWS} and {_EXPECTED_QUANTITY}"
            )
        part = Path(tmp) / _CACHE_NAME
        df.to_csv(part, index=False, compression="gzip")
        os.replace(part, dest)  # atomic: a half-written cache file is never seen


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return read_retail_file(Path(path))


# --------------------------------------------------------------------------------------------------
# 2. Cleaning
# --------------------------------------------------------------------------------------------------
def clean_online_retail(df: pd.DataFrame) -> pd.DataFrame:
    """Keep the real product sales and give each product one description.

    Rules, in order:

    1. ``StockCode`` is stripped and upper-cased (``85123a`` and ``85123A`` are one product).
    2. Cancellations (``InvoiceNo`` starting with ``C``) and bad-debt adjustments (``A``) are dropped.
    3. Lines with ``Quantity <= 0`` or ``UnitPrice <= 0`` are dropped (returns, write-offs, free items).
    4. The two huge orders of :data:`OUTLIER_ORDERS` (80,995 and 74,215 units, each cancelled in full
       minutes later) are dropped.
    5. Non-product codes are dropped: :data:`NON_PRODUCT_CODES` (postage, discount, manual, fees, ...),
       codes starting with :data:`NON_PRODUCT_PREFIXES` (``DCGS*``, ``gift_0001_*``) and any code with
       no digit.
    6. Descriptions are stripped and inner whitespace collapsed. Those that are missing, look like a
       stock note (no upper-case letter: ``"damaged"``, ``"?"``, ``"check"``) or name a service
       (:data:`SERVICE_DESCRIPTION`: carriage, postage, gift vouchers) are ignored; each product
       gets the most frequent remaining description among its sales lines (ties: alphabetical). Products
       with no such description are dropped.

    Fully duplicated lines (5,268 in the original file) are kept: they may be separate scans of the
    same item, and nothing in the data tells them apart.

    Parameters
    ----------
    df
        Raw transactions as returned by :func:`load_online_retail_transactions`.

    Returns
    -------
    pandas.DataFrame
        The kept lines with the same columns; ``Description`` holds the product's description.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"`df` lacks the Online Retail columns {missing}.")
    df = df.copy()
    # String work is done once per distinct value (a few thousand), not per line (half a million).
    upper = _map_unique(df["StockCode"], lambda c: _strip(c).upper())
    df["StockCode"] = pd.Series(upper, index=df.index, dtype="str")
    df["InvoiceNo"] = pd.Series(_map_unique(df["InvoiceNo"], _strip), index=df.index, dtype="str")
    code = df["StockCode"]

    keep = ~_map_unique(df["InvoiceNo"], lambda c: _strip(c).upper().startswith(("C", "A"))).astype(bool)
    keep &= ((df["Quantity"] > 0) & (df["UnitPrice"] > 0)).to_numpy()
    keep &= ~pd.MultiIndex.from_arrays([df["InvoiceNo"], code]).isin(list(OUTLIER_ORDERS))
    keep &= _map_unique(code, _is_product_code).astype(bool)
    df = df[keep]

    desc = _map_unique(df["Description"], _normalise_description)
    valid = pd.notna(desc)
    counts = (
        pd.DataFrame({"code": df["StockCode"].to_numpy()[valid], "desc": desc[valid]})
        .value_counts()
        .rename("n")
        .reset_index()
        .sort_values(["code", "n", "desc"], ascending=[True, False, True])
        .drop_duplicates("code")
    )
    best = pd.Series(counts["desc"].to_numpy(), index=counts["code"].to_numpy())
    df = df[df["StockCode"].isin(best.index)].copy()
    df["Description"] = df["StockCode"].map(best).astype("str")
    return df.reset_index(drop=True)


def _strip(text) -> str:
    return "" if text is None else str(text).strip()


def _is_product_code(code) -> bool:
    code = _strip(code)
    return (
        code not in NON_PRODUCT_CODES
        and not code.startswith(NON_PRODUCT_PREFIXES)
        and any(ch.isdigit() for ch in code)
    )


def _normalise_description(text) -> str | None:
    """Stripped, single-spaced description; ``None`` if missing, a stock note or a service."""
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    if not any("A" <= ch <= "Z" for ch in text) or SERVICE_DESCRIPTION.search(text):
        return None
    return text


def _map_unique(values: pd.Series, func) -> np.ndarray:
    """``values.map(func)`` as an object array; ``func`` runs once per distinct value (``None``: missing)."""
    codes, uniques = pd.factorize(values)
    mapped = np.array([func(u) for u in uniques] + [func(None)], dtype=object)
    return mapped[codes]  # missing values have code -1, i.e. func(None)


# --------------------------------------------------------------------------------------------------
# 3. Series per product
# --------------------------------------------------------------------------------------------------
def load_online_retail(
    path: str | os.PathLike | None = None,
    freq: str = "W",
    min_periods_sold: int = 1,
    static_cols: Sequence[str] = ("description", "price"),
    drop_incomplete_last: bool = True,
    download: bool = True,
) -> list[TimeSeries]:
    """Online Retail as one sales ``TimeSeries`` per product, with its description as static covariate.

    Transactions are read with :func:`load_online_retail_transactions`, cleaned with
    :func:`clean_online_retail` and summed per product and period.

    Time index convention: with ``freq="W"`` (same as ``"W-SUN"``) a period is a Monday-to-Sunday week
    *labelled by its Sunday*, as pandas and Darts do for ``W-SUN``; ``"W-<DAY>"`` gives weeks ending on
    another day. ``"D"`` gives days, ``"MS"`` months labelled by their first day and ``"ME"`` months
    labelled by their last day.

    Every series starts at the product's first period with a sale, so its start is the product's
    launch as far as the data can tell (products on sale when the data begins start in the first
    period), and ends at the last period of the data; periods without sales are 0. The data begin on
    Wednesday 2010-12-01, so the first week (ending Sunday 2010-12-05) is short; it is kept. The data
    end on Friday 2011-12-09 at 12:50: with ``drop_incomplete_last=True`` a last period whose final day
    lies after the data's last day is dropped (for weeks, the one ending 2011-12-11, leaving 53 weeks
    2010-12-05..2011-12-04). A last *day* cannot be judged and is kept.

    Parameters
    ----------
    path
        The raw file; see :func:`load_online_retail_transactions` for how it is found otherwise.
    freq
        ``"W"``/``"W-<DAY>"`` (weekly), ``"D"`` (daily), ``"MS"`` or ``"ME"`` (monthly).
    min_periods_sold
        Keep only products with sales in at least this many periods.
    static_cols
        Static covariates to attach, any of ``"description"`` (``str``, the product's description) and
        ``"price"`` (median unit price in GBP; Darts casts it to the series' dtype, float32).
    drop_incomplete_last
        Drop the last period if the data end before it does (see above).
    download
        Whether the raw file may be downloaded when no local copy is found.

    Returns
    -------
    list[TimeSeries]
        One univariate float32 series per product (component ``"quantity"``, units sold), sorted by
        stock code; ``series.metadata["stock_code"]`` holds the product's stock code.
    """
    offset = check_freq(freq)
    bad = [c for c in static_cols if c not in ("description", "price")]
    if isinstance(static_cols, str) or bad:
        raise ValueError(
            f"`static_cols` must be a sequence of 'description' and/or 'price', got {static_cols!r}."
        )
    if not isinstance(min_periods_sold, int) or min_periods_sold < 1:
        raise ValueError(f"`min_periods_sold` must be an integer >= 1, got {min_periods_sold!r}.")

    raw = load_online_retail_transactions(path, download=download)
    sales = clean_online_retail(raw)
    if sales.empty:
        raise ValueError("No product sales are left after cleaning; check the file given in `path`.")

    labels = period_labels(sales["InvoiceDate"], offset)
    start = labels.min()
    data_end = raw["InvoiceDate"].max()
    end = period_labels(pd.Series([data_end]), offset).iloc[0]
    if drop_incomplete_last and data_end.normalize() < period_last_day(end, offset):
        end = end - offset
    if end < start:
        raise ValueError(
            f"No complete period of `freq` {freq!r} is in the data (they end {data_end}); use a shorter "
            "`freq` or `drop_incomplete_last=False`."
        )
    times = pd.date_range(start, end, freq=offset)
    in_range = (labels <= end).to_numpy()
    sales, labels = sales[in_range], labels[in_range]

    codes, code_idx = np.unique(sales["StockCode"].to_numpy(dtype=str), return_inverse=True)
    time_idx = times.get_indexer(pd.DatetimeIndex(labels))
    flat = np.bincount(
        code_idx * len(times) + time_idx,
        weights=sales["Quantity"].to_numpy(dtype="float64"),
        minlength=len(codes) * len(times),
    )
    matrix = flat.reshape(len(codes), len(times)).astype(np.float32)
    sold = matrix > 0
    first = sold.argmax(axis=1)
    keep = sold.sum(axis=1) >= min_periods_sold

    per_code = sales.groupby("StockCode").agg(
        description=("Description", "first"), price=("UnitPrice", "median")
    )
    descriptions = per_code["description"].reindex(codes).to_numpy(dtype=object)
    prices = per_code["price"].reindex(codes).to_numpy(dtype=np.float32)
    series = []
    for i in np.flatnonzero(keep):
        static = None
        if len(static_cols):
            # float32 up front: Darts casts numeric static covariates to the series dtype anyway.
            columns = {"description": pd.array([descriptions[i]], dtype="str"), "price": prices[i : i + 1]}
            static = pd.DataFrame({c: columns[c] for c in static_cols})
        series.append(
            TimeSeries.from_times_and_values(
                times[first[i] :],
                matrix[i, first[i] :, None],
                columns=["quantity"],
                static_covariates=static,
                metadata={"stock_code": str(codes[i])},
                copy=False,
            )
        )
    return series
