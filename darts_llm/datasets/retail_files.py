"""Reading UCI Online Retail files: the two layouts, ``.csv``/``.csv.gz``/``.xlsx``, every sheet.

Two releases of the same shop's data exist, with different column names:

- *Online Retail* (UCI id 352, 2010-12..2011-12): ``InvoiceNo, StockCode, Description, Quantity,
  InvoiceDate, UnitPrice, CustomerID, Country``; the ``.xlsx`` has one sheet.
- *Online Retail II* (UCI id 502, 2009-12..2011-12): ``Invoice, StockCode, Description, Quantity,
  InvoiceDate, Price, Customer ID, Country``; the ``.xlsx`` has two sheets, ``Year 2009-2010`` and
  ``Year 2010-2011``.

The layout is chosen by the columns found, and the result always uses the first layout's names.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)

#: Columns of the result (the *Online Retail* names).
COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
#: *Online Retail II* column -> *Online Retail* column (the others are named alike).
RETAIL_II_RENAME = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"}
#: Columns of *Online Retail II*, in file order.
RETAIL_II_COLUMNS = tuple({v: k for k, v in RETAIL_II_RENAME.items()}.get(c, c) for c in COLUMNS)
_TEXT_DTYPES = {c: str for c in ("InvoiceNo", "Invoice", "StockCode", "Description", "Country")}


def require_openpyxl() -> None:
    """Raise an ``ImportError`` that names the ``xlsx`` extra when ``openpyxl`` is missing."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "Reading an '.xlsx' file needs `openpyxl`, which comes with the `xlsx` extra: "
            "`pip install 'darts-llm[xlsx]'` (or `pip install openpyxl`); or pass `path=` to a "
            "'.csv'/'.csv.gz' copy of the file."
        ) from err


def read_retail_file(path: Path) -> pd.DataFrame:
    """Read one Online Retail or Online Retail II file into the *Online Retail* columns and dtypes.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.xlsx`` file. Every sheet of an ``.xlsx`` is read, in file order,
        and the sheets are stacked. Invoices that a later sheet repeats from an earlier one are taken
        from the earlier sheet only (the number of lines dropped is logged).

    Returns
    -------
    pandas.DataFrame
        The columns :data:`COLUMNS`, values as in the file, dtypes ``str``, ``int64`` (Quantity),
        ``datetime64`` (InvoiceDate), ``float64`` (UnitPrice) and ``Int64`` (CustomerID).
    """
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        df = _to_columns(pd.read_csv(path, dtype=_TEXT_DTYPES), path, "")
    elif name.endswith(".xlsx"):
        require_openpyxl()
        sheets = pd.read_excel(path, sheet_name=None, dtype=_TEXT_DTYPES, engine="openpyxl")
        df = _stack_sheets({sheet: _to_columns(frame, path, sheet) for sheet, frame in sheets.items()}, path)
    else:
        raise ValueError(f"`path` {str(path)!r} must end with '.csv', '.csv.gz' or '.xlsx'.")
    df["Quantity"] = pd.to_numeric(df["Quantity"]).astype("int64")
    df["UnitPrice"] = pd.to_numeric(df["UnitPrice"]).astype("float64")
    df["CustomerID"] = pd.to_numeric(df["CustomerID"]).astype("Float64").astype("Int64")
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


def _to_columns(df: pd.DataFrame, path: Path, sheet: str) -> pd.DataFrame:
    """The *Online Retail* columns of a frame in either layout; a clear error for anything else."""
    found = [str(c).strip() for c in df.columns]
    df = df.set_axis(found, axis=1)
    if all(c in found for c in COLUMNS):
        return df[list(COLUMNS)].copy()
    if all(c in found for c in RETAIL_II_COLUMNS):
        return df[list(RETAIL_II_COLUMNS)].rename(columns=RETAIL_II_RENAME)
    where = f"{str(path)!r}" + (f", sheet {sheet!r}," if sheet else "")
    missing_1 = [c for c in COLUMNS if c not in found]
    missing_2 = [c for c in RETAIL_II_COLUMNS if c not in found]
    raise ValueError(
        f"`path` {where} has neither the Online Retail columns (missing {missing_1}) nor the Online "
        f"Retail II columns (missing {missing_2}); found {found}. Pass the UCI file in one of the two layouts."
    )


def _stack_sheets(sheets: dict[str, pd.DataFrame], path: Path) -> pd.DataFrame:
    frames, seen = [], set()
    for sheet, frame in sheets.items():
        invoices = frame["InvoiceNo"].astype(str)
        repeated = invoices.isin(seen).to_numpy()
        if repeated.any():
            logger.warning(
                "%s: sheet %r repeats %d lines of invoices already in an earlier sheet; those lines are "
                "taken from the earlier sheet only.", path.name, sheet, int(repeated.sum()),
            )
        frames.append(frame[~repeated])
        seen.update(invoices.unique())
    if not frames:
        raise ValueError(f"`path` {str(path)!r} holds no sheet.")
    return pd.concat(frames, ignore_index=True)
