"""Write a benchmark's result table into ``benchmarks/README.md`` (between markers) and ``benchmarks/results/``."""

from __future__ import annotations

import platform
import re
import time
from datetime import date
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS = HERE / "results"


def machine() -> str:
    """One line describing where the numbers were measured."""
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return (
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, {device}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, measured {date.today().isoformat()}"
    )


def write_section(name: str, markdown: str) -> Path:
    """Save ``markdown`` to ``results/<name>.md`` and replace the ``name`` section of the README."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)
    return path


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A markdown table of ``rows`` (dicts with the same keys)."""
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def timed(fn):
    """``(seconds, result)`` of calling ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
