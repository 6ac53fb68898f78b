"""Online Retail loader: cleaning rules and aggregation on a tiny fake file, plus the real file if present."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darts_llm.datasets import (
    clean_online_retail,
    first_sale_dates,
    load_online_retail,
    load_online_retail_transactions,
)
from darts_llm.datasets import online_retail as orl

COLUMNS = list(orl.COLUMNS)
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REAL_FILE = SHARED_DATA / "online_retail" / "online_retail.csv.gz"


def _row(invoice, code, desc, qty, date, price=1.0, customer=12345.0, country="United Kingdom"):
    return [invoice, code, desc, qty, date, price, customer, country]


# Weeks (W-SUN): Mon 2011-01-03 .. Sun 2011-01-09, .. 01-16, .. 01-23, .. 01-30 (last one incomplete:
# the data end on Friday 2011-01-28).
ROWS = [
    _row("536365", "10001", " RED HEART MUG ", 5, "2011-01-03 09:00:00", 2.0),
    _row("536366", "10001", "RED HEART MUG ", 3, "2011-01-05 10:00:00", 3.0),
    _row("536367", "10001", "HEART MUG RED", 4, "2011-01-20 10:00:00", 4.0),
    _row("536368", "10001", "RED  HEART MUG", 100, "2011-01-28 12:00:00", 2.0),  # trailing partial week
    _row("C536369", "10001", "RED HEART MUG", -2, "2011-01-06 10:00:00", 2.0),  # cancellation
    _row("A536370", "10001", "Adjust bad debt", 1, "2011-01-06 11:00:00", 5.0),  # adjustment
    _row("536371", "10001", "damaged", 7, "2011-01-06 12:00:00", 0.0),  # zero price stock note
    _row("536372", "10001", "RED HEART MUG", -5, "2011-01-07 12:00:00", 2.0),  # negative quantity
    _row("536373", "10002a", "blue bowl", 2, "2011-01-04 12:00:00", 1.5),  # lower-case code variant
    _row("536374", "10002A", "BLUE BOWL", 1, "2011-01-12 12:00:00", 1.5),
    _row("536375", "10002A", "BLUE BOWL", 1, "2011-01-13 12:00:00", 1.5),
    _row("536376", "20001", "GARDEN PARASOL", 6, "2011-01-18 12:00:00", 9.95),  # late launch
    _row("536377", "30001", "?", 3, "2011-01-04 12:00:00", 1.0),  # only a stock-note description
    _row("536378", "30002", "damaged", 3, "2011-01-04 12:00:00", 1.0),
    _row("536379", "30002", "damaged", 3, "2011-01-05 12:00:00", 1.0),
    _row("536380", "30002", "IVORY VASE", 1, "2011-01-06 12:00:00", 1.0),
    _row("536381", "30003", None, 2, "2011-01-06 12:00:00", 1.0),  # missing description only
    _row("536382", "23444", "Next Day Carriage", 1, "2011-01-06 12:00:00", 15.0),  # service
    _row("581483", "23843", "PAPER CRAFT , LITTLE BIRDIE", 80995, "2011-01-10 09:15:00", 2.08),
    _row("536383", "23843", "PAPER CRAFT , LITTLE BIRDIE", 2, "2011-01-10 09:20:00", 2.08),
]
NON_PRODUCTS = ["POST", "M", "m", "D", "C2", "DOT", "BANK CHARGES", "AMAZONFEE", "PADS", "B", "S", "CRUK",
                "DCGS0003", "DCGSSBOY", "gift_0001_10", "XYZ"]
ROWS += [
    _row(f"5364{i:02d}", code, "SOME FEE", 1, "2011-01-04 12:00:00", 3.0) for i, code in enumerate(NON_PRODUCTS)
]


@pytest.fixture
def retail_csv(tmp_path) -> Path:
    path = tmp_path / "retail.csv.gz"
    df = pd.DataFrame(ROWS, columns=COLUMNS)
    df["CustomerID"] = df["CustomerID"].astype("Int64")
    df.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv(orl.ENV_PATH, raising=False)
    monkeypatch.setenv(orl.ENV_CACHE_DIR, str(tmp_path / "cache"))

    def no_network(dest):
        raise AssertionError("tests must not download")

    monkeypatch.setattr(orl, "_download", no_network)


def _by_code(series):
    return {s.metadata["stock_code"]: s for s in series}


def test_transactions_are_read_raw(retail_csv):
    df = load_online_retail_transactions(retail_csv)
    assert list(df.columns) == COLUMNS
    assert len(df) == len(ROWS)
    assert df["Quantity"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(df["InvoiceDate"])
    assert str(df["CustomerID"].dtype) == "Int64"
    assert df["Description"].iloc[0] == " RED HEART MUG "  # raw: not stripped
    # cached per path: the copy handed out can be changed without harm
    df.loc[0, "Quantity"] = -999
    assert load_online_retail_transactions(retail_csv)["Quantity"].iloc[0] == 5


def test_plain_csv_and_env_var(tmp_path, retail_csv, monkeypatch):
    plain = tmp_path / "retail.csv"
    load_online_retail_transactions(retail_csv).to_csv(plain, index=False)
    monkeypatch.setenv(orl.ENV_PATH, str(plain))
    assert len(load_online_retail_transactions()) == len(ROWS)


def test_cache_dir_copy_is_found(tmp_path, retail_csv, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "online_retail.csv.gz").write_bytes(retail_csv.read_bytes())
    assert len(load_online_retail_transactions()) == len(ROWS)


def test_cleaning_rules(retail_csv):
    clean = clean_online_retail(load_online_retail_transactions(retail_csv))
    assert not clean["InvoiceNo"].str.startswith(("C", "A")).any()
    assert (clean["Quantity"] > 0).all() and (clean["UnitPrice"] > 0).all()
    codes = set(clean["StockCode"])
    assert codes == {"10001", "10002A", "20001", "30002", "23843"}
    assert not codes & {c.upper() for c in NON_PRODUCTS}
    assert "581483" not in set(clean["InvoiceNo"])  # the huge outlier order
    desc = clean.groupby("StockCode")["Description"].first()
    assert desc["10001"] == "RED HEART MUG"  # most frequent once stripped and single-spaced
    assert desc["10002A"] == "BLUE BOWL"  # 10002a merged in; lower-case note ignored
    assert desc["30002"] == "IVORY VASE"  # stock note "damaged" ignored though more frequent


def test_clean_names_missing_columns():
    with pytest.raises(ValueError, match="StockCode"):
        clean_online_retail(pd.DataFrame({"InvoiceNo": ["1"]}))


def test_weekly_series(retail_csv):
    series = _by_code(load_online_retail(retail_csv))
    assert set(series) == {"10001", "10002A", "20001", "30002", "23843"}
    mug = series["10001"]
    assert mug.freq_str == "W-SUN"
    assert mug.dtype == np.float32
    assert list(mug.components) == ["quantity"]
    assert list(mug.time_index) == list(pd.to_datetime(["2011-01-09", "2011-01-16", "2011-01-23"]))
    np.testing.assert_array_equal(mug.values()[:, 0], [8.0, 0.0, 4.0])  # gap filled with 0
    static = mug.static_covariates
    assert list(static.columns) == ["description", "price"]
    assert static["description"].iloc[0] == "RED HEART MUG"
    assert pd.api.types.is_string_dtype(static["description"])
    assert static["price"].iloc[0] == pytest.approx(3.0)  # median of 2, 3, 4 (the partial week is out)
    # a late launch starts at its first sale; everything ends at the last complete week
    parasol = series["20001"]
    assert parasol.start_time() == pd.Timestamp("2011-01-23")
    assert all(s.end_time() == pd.Timestamp("2011-01-23") for s in series.values())
    assert first_sale_dates(list(series.values()))["20001"] == pd.Timestamp("2011-01-23")


def test_trailing_partial_week_kept_on_request(retail_csv):
    series = _by_code(load_online_retail(retail_csv, drop_incomplete_last=False))
    mug = series["10001"]
    assert mug.end_time() == pd.Timestamp("2011-01-30")
    assert mug.values()[-1, 0] == 100.0


def test_daily_and_monthly(retail_csv):
    from darts_llm.datasets.compat import darts_handles_daily_series

    if darts_handles_daily_series():
        daily = _by_code(load_online_retail(retail_csv, freq="D"))
        mug = daily["10001"]
        assert mug.freq_str == "D"
        assert mug.start_time() == pd.Timestamp("2011-01-03")
        assert mug.end_time() == pd.Timestamp("2011-01-28")  # a last day cannot be judged: kept
        assert mug.values()[:, 0].sum() == 112.0
    else:  # Darts 0.48 with pandas 3: refused with the fix (see test_compat.py)
        with pytest.raises(ValueError, match="pandas>=2.2,<3"):
            load_online_retail(retail_csv, freq="D")
    monthly = load_online_retail(retail_csv, freq="MS", drop_incomplete_last=False)
    assert {(s.freq_str, s.start_time(), len(s)) for s in monthly} == {("MS", pd.Timestamp("2011-01-01"), 1)}
    # January is incomplete (the data end on the 28th), so no complete month is left
    with pytest.raises(ValueError, match="drop_incomplete_last"):
        load_online_retail(retail_csv, freq="ME")


def test_options(retail_csv):
    only_text = load_online_retail(retail_csv, static_cols=("description",))
    assert list(only_text[0].static_covariates.columns) == ["description"]
    assert load_online_retail(retail_csv, static_cols=())[0].static_covariates is None
    # 10001 (two weeks) and 10002A (two weeks) sold in >= 2 periods
    assert set(_by_code(load_online_retail(retail_csv, min_periods_sold=2))) == {"10001", "10002A"}


@pytest.mark.parametrize(
    "kwargs, name",
    [({"freq": "h"}, "freq"), ({"freq": "2W"}, "freq"), ({"static_cols": ("colour",)}, "static_cols"),
     ({"static_cols": "description"}, "static_cols"), ({"min_periods_sold": 0}, "min_periods_sold")],
)
def test_bad_arguments_are_named(retail_csv, kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_online_retail(retail_csv, **kwargs)


def test_bad_file_type(tmp_path):
    bad = tmp_path / "retail.parquet"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match="csv"):
        load_online_retail_transactions(bad)


def test_missing_path_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_online_retail_transactions(tmp_path / "nope.csv.gz")
    msg = str(err.value)
    assert "`path`" in msg and orl.ENV_PATH in msg and orl.ONLINE_RETAIL_URL in msg


def test_missing_env_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(orl.ENV_PATH, str(tmp_path / "nope.csv"))
    with pytest.raises(FileNotFoundError, match=orl.ENV_PATH):
        load_online_retail_transactions()


def test_nothing_found_offline(monkeypatch):
    with pytest.raises(FileNotFoundError, match="download=False") as err:
        load_online_retail_transactions(download=False)
    assert "path=" in str(err.value) and orl.ENV_PATH in str(err.value)

    def offline(dest):
        raise OSError("network is unreachable")

    monkeypatch.setattr(orl, "_download", offline)
    with pytest.raises(FileNotFoundError, match="network is unreachable") as err:
        load_online_retail(freq="W")
    assert "path=" in str(err.value) and orl.ENV_PATH in str(err.value) and "go online" in str(err.value)


def test_xlsx_without_openpyxl_names_the_extra(tmp_path, monkeypatch):
    import sys

    bad = tmp_path / "retail.xlsx"
    bad.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # `import openpyxl` now raises ImportError
    with pytest.raises(ImportError, match=r"darts-llm\[xlsx\]") as err:
        load_online_retail_transactions(bad)
    assert "pip install openpyxl" in str(err.value) and ".csv" in str(err.value)


# --------------------------------------------------------------------------------------------------
# Online Retail II layout: other column names, and an .xlsx with two sheets
# --------------------------------------------------------------------------------------------------
II_COLUMNS = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
              "Country"]
#: Lines of the 2009-2010 sheet (only the dates differ in kind from ROWS: they start a year earlier).
EARLY_ROWS = [
    _row("489434", "10001", "RED HEART MUG", 7, "2010-12-27 09:00:00", 2.0),
    _row("489435", "40001", "GREEN STAR", 2, "2010-12-28 09:00:00", 1.0),
    _row("C489436", "40001", "GREEN STAR", -1, "2010-12-29 09:00:00", 1.0),
]


def _retail_ii(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=II_COLUMNS)
    df["Customer ID"] = df["Customer ID"].astype("Int64")
    return df


def test_retail_ii_csv_reads_like_the_original(tmp_path, retail_csv):
    path = tmp_path / "online_retail_II.csv"
    _retail_ii(ROWS).to_csv(path, index=False)
    df = load_online_retail_transactions(path)
    assert list(df.columns) == COLUMNS
    pd.testing.assert_frame_equal(df, load_online_retail_transactions(retail_csv))
    series = _by_code(load_online_retail(path))
    np.testing.assert_array_equal(series["10001"].values()[:, 0], [8.0, 0.0, 4.0])


def test_retail_ii_xlsx_reads_both_sheets(tmp_path, caplog):
    pytest.importorskip("openpyxl")
    path = tmp_path / "online_retail_II.xlsx"
    # the later sheet repeats one invoice of the earlier one (the UCI sheets overlap in December 2010)
    late = [EARLY_ROWS[0], *ROWS]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _retail_ii(EARLY_ROWS).to_excel(writer, sheet_name="Year 2009-2010", index=False)
        _retail_ii(late).to_excel(writer, sheet_name="Year 2010-2011", index=False)
    with caplog.at_level("WARNING"):
        df = load_online_retail_transactions(path)
    assert len(df) == len(EARLY_ROWS) + len(ROWS)  # the repeated invoice is read once
    assert "repeats 1 lines" in caplog.text
    assert df["InvoiceNo"].tolist()[:3] == ["489434", "489435", "C489436"]
    assert df["InvoiceNo"].dtype == object or pd.api.types.is_string_dtype(df["InvoiceNo"])
    series = _by_code(load_online_retail(path))
    assert "40001" in series  # only in the first sheet
    mug = series["10001"]
    assert mug.start_time() == pd.Timestamp("2011-01-02")  # its first sale is in the 2009-2010 sheet
    np.testing.assert_array_equal(mug.values()[:, 0], [7.0, 8.0, 0.0, 4.0])


def test_original_layout_xlsx(tmp_path, retail_csv):
    pytest.importorskip("openpyxl")
    path = tmp_path / "Online Retail.xlsx"
    raw = load_online_retail_transactions(retail_csv)
    raw.to_excel(path, sheet_name="Online Retail", index=False)
    df = load_online_retail_transactions(path)
    pd.testing.assert_frame_equal(df, raw, check_dtype=False)
    assert str(df["CustomerID"].dtype) == "Int64" and df["Quantity"].dtype == np.int64


def test_unknown_layout_names_both(tmp_path):
    path = tmp_path / "sales.csv"
    pd.DataFrame({"Invoice": ["1"], "StockCode": ["1"], "Qty": [1]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="Online Retail II columns") as err:
        load_online_retail_transactions(path)
    assert "Price" in str(err.value) and "UnitPrice" in str(err.value)


def test_daily_series_are_refused_where_darts_cannot_fit_them(retail_csv, monkeypatch):
    from darts_llm.datasets import compat

    monkeypatch.setattr(compat, "darts_handles_daily_series", lambda: False)
    with pytest.raises(ValueError, match=r"`freq` 'D'.*pandas>=2.2,<3"):
        load_online_retail(retail_csv, freq="D")
    assert load_online_retail(retail_csv, freq="W")  # weekly data is not affected


@pytest.mark.skipif(not REAL_FILE.is_file(), reason=f"real Online Retail file not found at {REAL_FILE}")
def test_real_file():
    start = time.perf_counter()
    raw = load_online_retail_transactions(REAL_FILE)
    assert len(raw) == 541_909 and int(raw["Quantity"].sum()) == 5_176_450
    series = load_online_retail(REAL_FILE)
    seconds = time.perf_counter() - start
    first = first_sale_dates(series)
    lengths = {len(s) for s in series}
    late = int((first > pd.Timestamp("2011-03-31")).sum())
    print(f"\nreal Online Retail: {len(series)} products, {max(lengths)} weeks "
          f"({series[0].time_index.min().date()}..{series[0].end_time().date()}), "
          f"{late} first sold after March 2011, loaded in {seconds:.1f} s")
    assert 3_600 <= len(series) <= 4_000
    assert max(lengths) == 53
    assert {s.end_time() for s in series} == {pd.Timestamp("2011-12-04")}
    assert 600 <= late <= 900
    assert all(s.values()[0, 0] > 0 for s in series)  # each series starts at a sale
    assert sum(float(s.values().sum()) for s in series) > 4_500_000
