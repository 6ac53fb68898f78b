"""Result tables as Markdown (for reports, READMEs and the command line)."""

from __future__ import annotations

import math

import pandas as pd


def format_value(value, digits: int = 3) -> str:
    """A cell: floats with ``digits`` significant digits (thousands separated above 1,000), NaN as ``n/a``.

    Parameters
    ----------
    value
        The cell value; anything that is not a float is written with ``str``.
    digits
        Significant digits of floats below 1,000.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown_table(frame: pd.DataFrame | list[dict], digits: int = 3) -> str:
    """A Markdown table of ``frame``: one column per column, one line per row, the index left out.

    Parameters
    ----------
    frame
        The table (a list of dicts with the same keys is read as a DataFrame).
    digits
        Significant digits of float cells (see :func:`format_value`).

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    frame = pd.DataFrame(frame) if not isinstance(frame, pd.DataFrame) else frame
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(format_value(v, digits) for v in row) + " |")
    return "\n".join(lines)
