"""Report pieces: mean ± std over seeds, best-model picks, lifts, and writing the README sections.

Every sentence a script prints about its results is built from these numbers: a helper that would state
something false returns ``None`` (or is not called), so no conclusion is a fixed string.
"""

from __future__ import annotations

import json
import platform
import re
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from darts_llm.evaluation import format_value, markdown_table

HERE = Path(__file__).resolve().parents[1]
README = HERE / "README.md"
ROOT_README = HERE.parent / "README.md"  # the repository README (its headline block)
RESULTS = HERE / "results"
FIGURES = HERE / "figures"
STATS = ("MAE", "WAPE", "MASE", "wQL", "Bias")


def machine() -> str:
    """One line describing where the numbers were measured."""
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return (
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, {device}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, measured {date.today().isoformat()}"
    )


def write_section(name: str, markdown: str, readme: Path = README) -> Path:
    """Save ``markdown`` to ``results/<name>.md`` and replace the ``name`` section (between markers) of ``readme``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    replace_block(readme, name, markdown)
    return path


def replace_block(path: Path, name: str, markdown: str) -> None:
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` of ``path`` (append if absent)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def table(rows: list[dict] | pd.DataFrame, columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows``, or a line saying there is nothing to show."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return "(nothing to show: the models it needs did not run)"
    return markdown_table(frame[columns] if columns else frame)


def timed(fn):
    """``(seconds, result)`` of calling ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def mean_std(mean: float, std: float = float("nan"), runs: int = 1, digits: int = 3) -> str:
    """``mean ± std`` (std only for more than one run), ``n/a`` for NaN."""
    if mean is None or np.isnan(mean):
        return "n/a"
    text = format_value(float(mean), digits)
    return f"{text} ± {std:.2g}" if runs > 1 and not np.isnan(std) else text


def summarise(scores: pd.DataFrame, keys: tuple[str, ...] = ("model", "subset")) -> pd.DataFrame:
    """Mean and std over seeds of every metric per ``keys``; ``runs`` counts the seeds, ``text``/``family`` kept."""
    g = scores.groupby(list(keys), sort=False)
    stats = [c for c in STATS if c in scores]
    out = g[stats].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["runs"] = g.size()
    for column in ("text", "family", "n"):
        if column in scores:
            out[column] = g[column].first()
    return out.reset_index()


def row(summary: pd.DataFrame, model: str, subset: str) -> pd.Series | None:
    """The summary row of ``model`` on ``subset``, or ``None``."""
    r = summary[(summary.model == model) & (summary.subset == subset)]
    return None if r.empty else r.iloc[0]


def best(summary: pd.DataFrame, subset: str, text: bool, exclude_family: str = "ablation") -> pd.Series | None:
    """The model with the lowest mean WAPE on ``subset`` among those with (or without) text, ablations excluded."""
    s = summary[(summary.subset == subset) & (summary.text == text) & (summary.family != exclude_family)]
    s = s[~s.WAPE_mean.isna()]
    return None if s.empty else s.loc[s.WAPE_mean.idxmin()]


def lift_pct(base: float, text: float) -> float:
    """How much lower ``text`` is than ``base``, in % of ``base`` (positive: the text model is better)."""
    return 100 * (base - text) / base


def seed_std(*rows: pd.Series | None) -> float:
    """The largest seed std of WAPE among ``rows`` (0 for single runs)."""
    values = [r.WAPE_std for r in rows if r is not None and not np.isnan(r.WAPE_std)]
    return max(values, default=0.0)


def within_noise(a: pd.Series, b: pd.Series) -> bool:
    """Whether the WAPE gap between ``a`` and ``b`` is smaller than their seed std."""
    return abs(a.WAPE_mean - b.WAPE_mean) < seed_std(a, b)


def versus(no_text: pd.Series, text: pd.Series) -> str:
    """``text model a% vs no-text model b% (+c%)`` with a noise caveat when the gap is within the seed std."""
    words = (f"{text.model} {text.WAPE_mean:.1f}% vs {no_text.model} {no_text.WAPE_mean:.1f}% "
             f"({lift_pct(no_text.WAPE_mean, text.WAPE_mean):+.1f}%)")
    if within_noise(no_text, text):
        words += f", a gap smaller than the seed std ({seed_std(no_text, text):.1f} points)"
    return words


def best_of(values: dict[str, float]) -> tuple[str, float] | None:
    """The key with the lowest non-NaN value, or ``None``."""
    finite = {k: v for k, v in values.items() if v is not None and not np.isnan(v)}
    return min(finite.items(), key=lambda kv: kv[1]) if finite else None


def readme_headline() -> str:
    """The repository README's headline: the Online Retail headline and the cold-start lifts, from the results."""
    parts = []
    headline = RESULTS / "headline.md"
    if headline.exists():
        parts.append(headline.read_text().rstrip().replace("benchmarks/README.md.", "[benchmarks/README.md]"
                                                           "(benchmarks/README.md)."))
    cold = RESULTS / "cold_start.json"
    payload = json.loads(cold.read_text()) if cold.exists() else {}
    weeks = payload.get("weeks", {})
    if weeks:
        lifts = "; ".join(
            f"{k} week{'' if k == '1' else 's'}: {w['lift_pct']:+.1f}% [{w['interval'][0]:+.1f}, {w['interval'][1]:+.1f}] "
            f"({w['best_text']}, {w['wape_text']:.1f}, against {w['best_no_text']}, {w['wape_no_text']:.1f})"
            for k, w in weeks.items()
        )
        parts.append(f"New products by weeks of sales history (`benchmarks/cold_start.py`, {len(payload['origins'])} "
                     "weekly origins): how "
                     "much lower the pooled WAPE of the best method with text is than that of the best without, with "
                     f"its 90% bootstrap interval over products and both WAPEs: {lifts}.")
    parts.append("Other benchmarks (Time-MMD report text, encoder and model speed): "
                 "[benchmarks/README.md](benchmarks/README.md).")
    return "\n\n".join(parts) + "\n"
