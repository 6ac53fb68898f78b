"""Draw the documentation's figures from real model fits and from the benchmark results (``make docs`` runs it).

Usage::

    python docs/_build_figures.py [--data PATH] [--epochs 10]

It writes into ``docs/figures/`` (committed, so that building the site never fits a model):

- ``text_vs_no_text.png``: the last weeks of established products, held out and forecast by ``TiDEModel`` and
  by ``TextTiDEModel`` with the same settings (the text model also reads each product's description);
- ``explain_text.png``: :func:`darts_llm.models.plot_text_explanation` for a product first sold after the
  training weeks, forecast from its description alone by a ``TextTiDEModel`` that accepts empty histories, with
  its actual sales drawn in;
- ``launch_analogs.png``: launch forecasts of :class:`darts_llm.models.TextAnalogModel` for products first sold
  at one origin (from their description and price alone), with their closest analogs and actual sales;
- ``cold_start_by_history.png`` when ``benchmarks/results/cold_start.json`` exists: the best method with and
  without text per weeks of sales history, drawn from that file (without it the docs show the Online Retail
  benchmark's own chart, ``benchmarks/figures/online_retail_cold_by_history.png``);
- ``figures.json``: the data source and the numbers each caption quotes (``docs/_hooks/results.py`` writes the
  captions from it);
- links to the benchmark figures that ``benchmarks/README.md`` shows under ``figures/`` (``docs/benchmarks.md``
  includes that README).

Data: the UCI Online Retail panel when it is found (``--data``, ``$DARTS_LLM_ONLINE_RETAIL``, or
``../shared/data/online_retail/online_retail.csv.gz`` beside the repository), else the bundled *synthetic*
catalogue; ``figures.json`` and so every caption say which. Small models on one torch thread: one to two minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
RESULTS = ROOT / "benchmarks" / "results"
BENCHMARK_FIGURES = ROOT / "benchmarks" / "figures"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
#: The Online Retail benchmark's cold-start chart, shown while cold_start.json does not exist.
BENCHMARK_COLD_CHART = "online_retail_cold_by_history.png"

HORIZON = 8  # weeks forecast in every figure
PANEL_SIZE = 80  # established products the models learn from
SEED = 0
DPI = 110  # 9-inch figures: about 1000 pixels wide, legible at the width of a docs page


def find_data(path: str | None) -> Path | None:
    """The Online Retail file to use, or ``None`` for the synthetic catalogue."""
    if path:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--data {path!r} is not a file; pass the path of online_retail.csv(.gz) or "
                                    f".xlsx, or leave --data out to use $DARTS_LLM_ONLINE_RETAIL or synthetic data.")
        return Path(path)
    for candidate in (os.environ.get("DARTS_LLM_ONLINE_RETAIL"), DEFAULT_DATA):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_series(path: Path | None):
    """Weekly series per product, and a phrase naming their source."""
    from darts_llm.datasets import load_online_retail, make_synthetic_catalog

    if path is not None:
        return load_online_retail(str(path), freq="W"), "UCI Online Retail (weekly units of real products)"
    series = make_synthetic_catalog(n_products=300, n_periods=104, seed=SEED)
    return series, "the bundled synthetic catalogue (invented products and sales, not real data)"


def model_settings(n_epochs: int) -> dict:
    """Hyperparameters shared by the no-text and the text model (the text arguments stay at their defaults)."""
    return dict(
        input_chunk_length=12,
        output_chunk_length=HORIZON,
        hidden_size=64,
        dropout=0.1,
        n_epochs=n_epochs,
        batch_size=64,
        use_reversible_instance_norm=True,
        random_state=SEED,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                           "logger": False},
    )


def without_text(series):
    """The series without their ``description`` static covariate (what the no-text twin sees)."""
    out = []
    for s in series:
        rest = s.static_covariates.drop(columns=["description"])
        out.append(s.with_static_covariates(rest if len(rest.columns) else None))
    return out


def best_sellers(series, n: int):
    """The ``n`` products with the most units among those with at least 40 weeks of sales (the demo's panel)."""
    from darts_llm.demo import established_products

    return established_products(series, n)


def text_vs_no_text(series, log, path: Path, epochs: int) -> dict:
    """Fit TiDE and TextTiDE on established products, forecast their last weeks, plot four of them."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from darts.models import TiDEModel

    from darts_llm.evaluation import pooled_wape
    from darts_llm.models import TextTiDEModel

    panel = best_sellers(series, PANEL_SIZE)
    train = [log.transform(s[:-HORIZON]) for s in panel]
    actual = [s[-HORIZON:] for s in panel]

    tide = TiDEModel(**model_settings(epochs)).fit(without_text(train))
    plain = [log.inverse_transform(f) for f in tide.predict(HORIZON, series=without_text(train))]
    text_model = TextTiDEModel(**model_settings(epochs)).fit(train)
    with_text = [log.inverse_transform(f) for f in text_model.predict(HORIZON, series=train)]
    wape_plain, wape_text = pooled_wape(actual, plain), pooled_wape(actual, with_text)

    # a fixed rule, not a choice by result: the products ranked 1st, 21st, 41st and 61st by units sold
    picks = [i for i in (0, PANEL_SIZE // 4, PANEL_SIZE // 2, 3 * PANEL_SIZE // 4) if i < len(panel)]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.2))
    for ax, i in zip(axes.flat, picks):
        shown = panel[i][-(HORIZON + 20):]
        ax.plot(shown.time_index, shown.values()[:, 0], "o-", color="black", lw=1.1, ms=2.5, label="actual")
        ax.plot(plain[i].time_index, plain[i].values()[:, 0], "--", color="tab:orange", lw=1.8,
                label="TiDEModel (no text)")
        ax.plot(with_text[i].time_index, with_text[i].values()[:, 0], "-", color="tab:blue", lw=1.8,
                label="TextTiDEModel (with the description)")
        ax.axvline(actual[i].start_time(), color="0.5", lw=0.8, ls=":")
        ax.set_title(f"#{i + 1}: {panel[i].static_covariates['description'].iloc[0][:40]}", fontsize=10)
        ax.tick_params(labelsize=8.5)
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonthday=1, interval=2))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.set_ylabel("units per week", fontsize=9)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"Last {HORIZON} weeks held out (right of the dotted line). Pooled WAPE over {len(panel)} products:\n"
                 f"{wape_plain:.1f}% without text, {wape_text:.1f}% with text", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return {"products": len(panel), "horizon": HORIZON, "epochs": epochs, "seed": SEED,
            "wape_no_text": wape_plain, "wape_text": wape_text, "text_check": text_model.text_check.reason}


def explanation(series, log, path: Path, epochs: int) -> dict:
    """A product launched after the training weeks, forecast from its description alone and explained."""
    from darts_llm.evaluation import pooled_wape
    from darts_llm.models import TextTiDEModel, explain_text

    freq = series[0].freq
    # the latest week with products first sold in it and a full forecast window after it
    starts = sorted({s.start_time() for s in series if len(s) >= HORIZON})
    launch = starts[-1]
    launched = [s for s in series if s.start_time() == launch and len(s) >= HORIZON]
    # a fixed rule: the launch of that week that sold most in its first weeks (never seen by the model)
    product = max(launched, key=lambda s: float(np.nansum(s[:HORIZON].values())))
    # what the model learns from: the established panel and the latest launches with 12 weeks of sales or more
    panel = best_sellers(series, PANEL_SIZE)
    in_panel = {id(s) for s in panel}
    earlier = sorted((s for s in series if id(s) not in in_panel and s.start_time() <= launch - 12 * freq),
                     key=lambda s: s.start_time())
    known = [s.drop_after(launch) for s in panel + earlier[-PANEL_SIZE:]]

    # the text used unchecked, so that the picture shows what the text does (`text_check` says whether the
    # default check would have kept it)
    model = TextTiDEModel(min_input_chunk_length=1, text_min_gain=None,
                          **model_settings(epochs)).fit([log.transform(s) for s in known])
    history = model.new_product_series(product.static_covariates, start=launch)[0]
    # neighbours from the training series in units, so that their mean and last sales read as units
    result = explain_text(model, history, n=HORIZON, train_series=known, k=5)
    result.forecast = log.inverse_transform(result.forecast)
    result.without_text = log.inverse_transform(result.without_text)
    result.contribution = result.forecast - result.without_text
    truth = product[:HORIZON]
    plot_explanation(result, truth).savefig(path, dpi=DPI)
    return {"product": product.static_covariates["description"].iloc[0], "launch": str(launch.date()),
            "share": result.share, "wape_text": pooled_wape([truth], [result.forecast]),
            "wape_without": pooled_wape([truth], [result.without_text]), "train_series": len(known),
            "text_check": model.text_check.reason,
            "horizon": HORIZON, "epochs": epochs, "seed": SEED}


def plot_explanation(result, truth):
    """The forecast panel of ``plot_text_explanation`` with the actual sales, above a chart of the neighbours."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    from darts_llm.models import plot_text_explanation

    fig = Figure(figsize=(9, 6.6), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[3, 2])  # separate layouts: long neighbour labels below
    top, bottom = upper.subplots(), lower.subplots()
    plot_text_explanation(result, ax=top)
    top.plot(truth.time_index, truth.values()[:, 0], "o-", color="black", lw=1.1, ms=3, label="actual (not seen)")
    top.legend(fontsize=9, loc="upper right")
    top.set_ylabel("units per week", fontsize=9)
    top.set_ylim(bottom=0)
    top.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    top.set_title(f"New product \"{next(iter(result.texts.values()))[:40]}\" (text share {100 * result.share:.0f}%)",
                  fontsize=10)
    neighbours = result.neighbours.iloc[::-1]
    labels = [f"{t[:36]}  (mean {m:.0f}, last {last:.0f} units)" for t, m, last in
              zip(neighbours["text"], neighbours["mean"], neighbours["last"])]
    bottom.barh(range(len(neighbours)), neighbours["similarity"], color="tab:blue", alpha=0.7)
    bottom.set_yticks(range(len(neighbours)), labels, fontsize=8.5)
    bottom.set_xlabel("cosine similarity of the descriptions (the model's text embeddings)", fontsize=9)
    bottom.set_xlim(0, 1)
    bottom.set_title("Nearest known products by text", fontsize=10)
    bottom.tick_params(axis="x", labelsize=8.5)
    return fig


def launch_analogs(series, path: Path) -> dict:
    """Launch forecasts of ``TextAnalogModel`` for three products first sold at one origin, with their analogs.

    The model learns from every product's sales before the origin (12 weeks before the data end); the products
    are those first sold in the four weeks from the origin ranked 1, 6 and 11 by units in their first weeks (a
    fixed rule, not a pick by result), each forecast from its launch week, from its description and price alone,
    by one ``predict_new_products`` call made at the origin.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    from darts_llm.models import TextAnalogModel

    end = max(s.end_time() for s in series)
    freq = series[0].freq
    origin = end - 11 * freq
    first = min(s.start_time() for s in series)
    cut = [s.drop_after(origin) for s in series if s.start_time() < origin]
    launched = [s for s in series if origin <= s.start_time() < origin + 4 * freq and len(s) >= HORIZON]
    launched.sort(key=lambda s: -float(s[:HORIZON].values().sum()))
    chosen = launched[0:11:5][:3]
    model = TextAnalogModel(text_cols="description", launches_after=first + 7 * freq).fit(cut)
    columns = [c for c in chosen[0].static_covariates.columns if c in ("description", "price")]
    products = pd.concat([s.static_covariates[columns] for s in chosen], ignore_index=True)
    products["launch"] = [s.start_time() for s in chosen]
    forecasts = model.predict_new_products(products, HORIZON, launch_col="launch")
    bands = model.predict_new_products(products, HORIZON, launch_col="launch", num_samples=200, random_state=SEED)
    analogs = model.analogs(model.new_product_series(products, launch_col="launch"), top=5)
    fig, axes = plt.subplots(1, len(chosen), figsize=(9, 3.4), sharey=False)
    wape = []
    for ax, s, fc, band, nearby in zip(np.atleast_1d(axes), chosen, forecasts, bands, analogs):
        ages = np.arange(HORIZON)
        for curve in nearby["curve"]:
            ax.plot(ages, curve[:HORIZON], color="0.75", lw=1)
        ax.fill_between(ages, band.quantile(0.1).values()[:, 0], band.quantile(0.9).values()[:, 0],
                        color="tab:blue", alpha=0.15, label="10-90% band")
        ax.plot(ages, fc.values()[:, 0], color="tab:blue", lw=2, label="forecast")
        actual = s[:HORIZON].values()[:, 0]
        ax.plot(ages[: len(actual)], actual, color="black", lw=1.5, label="actual (unseen)")
        ax.plot([], [], color="0.75", lw=1, label="5 closest analogs")
        wape.append(float(np.abs(actual - fc.values()[: len(actual), 0]).sum() / max(actual.sum(), 1e-9) * 100))
        title = str(s.static_covariates["description"].iloc[0])
        ax.set_title(title if len(title) <= 28 else title[:26] + "...", fontsize=9)
        ax.set_xlabel("weeks since launch", fontsize=9)
        ax.tick_params(labelsize=8)
    np.atleast_1d(axes)[0].set_ylabel("units per week", fontsize=9)
    np.atleast_1d(axes)[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return {"origin": str(pd.Timestamp(origin).date()), "products": [str(t) for t in products["description"]],
            "launches": [str(pd.Timestamp(t).date()) for t in products["launch"]],
            "train_series": len(cut), "wape": [round(w, 1) for w in wape], "n_analogs": model.n_analogs}


def cold_start_chart(out: Path) -> dict:
    """The cold-start chart: drawn from ``cold_start.json`` when the benchmark wrote it, else the benchmark's."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "_hooks"))
    from results import cold_start_weeks

    weeks = cold_start_weeks(RESULTS)
    stale = out / "cold_start_by_history.png"
    if weeks is None:
        stale.unlink(missing_ok=True)
        return {
            "file": BENCHMARK_COLD_CHART,
            "data": "UCI Online Retail, `benchmarks/online_retail.py`",
            "caption": "Pooled WAPE of the new products (0-4 weeks of sales at the forecast origin), one bar per "
                       "model and weeks of history; hatched bars: models without text; a missing bar: the model "
                       "cannot forecast those products. Chart written by the benchmark run.",
        }
    import matplotlib.pyplot as plt

    ks = list(weeks)
    x = np.arange(len(ks))
    width = 0.27
    fig, ax = plt.subplots(figsize=(9, 4.6))
    no_text = [weeks[k]["wape_no_text"] for k in ks]
    text = [weeks[k]["wape_text"] for k in ks]
    shuffled = [np.nan if weeks[k]["wape_shuffled"] is None else weeks[k]["wape_shuffled"] for k in ks]
    ax.bar(x - width, no_text, width, color="0.65", hatch="//", edgecolor="white", label="best without text")
    ax.bar(x, text, width, color="tab:blue", label="best with text")
    if not np.isnan(shuffled).all():
        ax.bar(x + width, shuffled, width, color="tab:red", alpha=0.55, label="best with text, shuffled descriptions")
    for xi in x:
        for dx, value in ((-width, no_text[xi]), (0, text[xi]), (width, shuffled[xi])):
            if not np.isnan(value):
                ax.text(xi + dx, value + 1, f"{value:.1f}", ha="center", fontsize=9)
    labels = []
    for k in ks:
        w = weeks[k]
        interval = f" [{w['interval'][0]:+.1f}, {w['interval'][1]:+.1f}]" if w["interval"] else ""
        labels.append(f"{k} week{'' if k == 1 else 's'} of sales\nlift {w['lift_pct']:+.1f}%{interval}")
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylabel("pooled WAPE % (lower is better)", fontsize=9)
    ax.set_ylim(0, max(no_text + text) * 1.22)
    ax.legend(fontsize=9, loc="upper center", ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(stale, dpi=DPI)
    plt.close(fig)
    names = "; ".join(f"{k} week{'' if k == 1 else 's'}: {weeks[k]['best_no_text']} / {weeks[k]['best_text']}"
                      for k in ks)
    return {
        "file": stale.name,
        "data": "UCI Online Retail, `benchmarks/cold_start.py` (`benchmarks/results/cold_start.json`)",
        "caption": "New products forecast from 0, 1, 2 or 4 weeks of their own sales: per weeks of history, the "
                   "pooled WAPE of the best method without text, of the best with text, and of the latter with "
                   "shuffled descriptions where the benchmark ran it; below, the lift of the best with text and its "
                   f"interval (%). Best without / with text: {names}.",
    }


def link_benchmark_figures(out: Path) -> list[str]:
    """Relative links in ``docs/figures/`` to the figures ``benchmarks/README.md`` shows under ``figures/``.

    ``docs/benchmarks.md`` includes that README, so its image paths resolve next to the docs page; links to
    figures the README no longer shows are removed.
    """
    import re

    wanted = set(re.findall(r"\]\(figures/([\w.-]+\.png)\)", (ROOT / "benchmarks" / "README.md").read_text()))
    wanted.add(BENCHMARK_COLD_CHART)  # the cold-start chart the docs show while cold_start.json is absent
    for link in out.iterdir():
        if link.is_symlink() and (link.name not in wanted or not link.exists()):
            link.unlink()
    changed = []
    for name in sorted(wanted):
        link, target = out / name, Path(os.path.relpath(BENCHMARK_FIGURES / name, out))
        if not (BENCHMARK_FIGURES / name).is_file():
            raise FileNotFoundError(f"benchmarks/README.md shows figures/{name}, which is not in benchmarks/figures/.")
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        changed.append(name)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="online_retail.csv(.gz) or .xlsx (default: $DARTS_LLM_ONLINE_RETAIL, then "
                                       "../shared/data/online_retail/online_retail.csv.gz, else synthetic data)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of each model (default: 10)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}.")

    import matplotlib

    matplotlib.use("Agg")
    import torch
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(1)
    started = time.perf_counter()
    FIGURES.mkdir(parents=True, exist_ok=True)
    series, source = load_series(find_data(args.data))
    print(f"Figures from {source}: {len(series)} products.")
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")  # heavy-tailed sales: both models learn log1p

    facts = {"data": source}
    facts["text_vs_no_text"] = dict(text_vs_no_text(series, log, FIGURES / "text_vs_no_text.png", args.epochs),
                                    source=source)
    print(f"text_vs_no_text.png ({time.perf_counter() - started:.0f} s): {facts['text_vs_no_text']}")
    facts["explain_text"] = dict(explanation(series, log, FIGURES / "explain_text.png", args.epochs), source=source)
    print(f"explain_text.png ({time.perf_counter() - started:.0f} s): {facts['explain_text']}")
    facts["launch_analogs"] = dict(launch_analogs(series, FIGURES / "launch_analogs.png"), source=source)
    print(f"launch_analogs.png ({time.perf_counter() - started:.0f} s): {facts['launch_analogs']}")
    facts["cold_start"] = cold_start_chart(FIGURES)
    print(f"cold-start chart: {facts['cold_start']['file']} ({facts['cold_start']['data']})")
    print(f"links to benchmark figures added or updated: {link_benchmark_figures(FIGURES) or 'none'}")
    # no timings in the file: an unchanged rerun leaves it (and the PNGs) byte for byte as they were
    (FIGURES / "figures.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    print(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
