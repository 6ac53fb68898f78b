"""``darts-llm demo``: does the product text help? Established products, then new ones, backtested the Darts way.

1. **Established products** (the best sellers with a year of sales): ``TextTiDEModel`` with its default settings
   against its no-text twin ``TiDEModel`` and against itself with shuffled and with constant descriptions
   (:func:`darts_llm.compare_text`), backtested on the last weeks.
2. **New products** (first sold in the four weeks before a forecast origin, or in its week):
   ``TextAnalogModel`` forecasts their next weeks from the launches of the products with the most similar
   descriptions and from the weeks they have sold; its no-text twin ``LaunchCurveModel`` (the launch curve of all
   earlier products) and the same model with shuffled descriptions are the controls.

Every sentence the demo prints about the results is computed from the numbers in its tables.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from darts_llm.evaluation import (
    compare_text,
    describe_comparison,
    markdown_table,
    plot_text_comparison,
    pooled_wape,
    replace_static_text,
)
from darts_llm.utils import quiet_training_output

HORIZON, BACKTEST_WEEKS, LAUNCH_WEEKS = 4, 12, 4


def load_demo_data(data: str | None):
    """All products of Online Retail when it can be found (or downloaded), else the synthetic catalog."""
    from darts_llm.datasets import load_online_retail, make_synthetic_catalog

    path = data or os.environ.get("DARTS_LLM_ONLINE_RETAIL") or None
    try:
        series = load_online_retail(path, freq="W")
        source = f"UCI Online Retail ({path or 'downloaded copy'}), weekly units per product"
    except (FileNotFoundError, OSError, ImportError) as err:
        print(f"Online Retail not available ({str(err).splitlines()[0]}).")
        series = make_synthetic_catalog(n_products=300, n_periods=104, seed=0)
        source = "the bundled SYNTHETIC catalog (generated product texts and sales; not real data)"
    return series, source


def established_products(series, n: int):
    """Products with at least 40 weeks of sales, the best sellers first."""
    long_enough = [s for s in series if len(s) >= 40]
    long_enough.sort(key=lambda s: -float(np.sum(s.values())))
    return long_enough[:n]


def demo_settings(quick: bool) -> dict:
    """The hyperparameters of the demo's text models (every text argument at its default)."""
    trainer = {"accelerator": "auto", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}
    return dict(
        input_chunk_length=12,
        output_chunk_length=HORIZON,
        hidden_size=64,
        dropout=0.1,
        n_epochs=8 if quick else 15,
        batch_size=64,
        use_reversible_instance_norm=True,
        add_encoders={"datetime_attribute": {"future": ["month"]}},
        pl_trainer_kwargs=trainer,
    )


def launch_forecasts(all_series, origins, seed: int):
    """New products at each origin, forecast by ``TextAnalogModel`` and by its no-text twin ``LaunchCurveModel``.

    The products are those first sold in the ``LAUNCH_WEEKS`` weeks before an origin or in its week (0 to
    ``LAUNCH_WEEKS`` weeks of sales); each model learns from every product's sales before the origin. Products
    first sold in the first 8 weeks of the data are not taken as launches (they may predate the data).
    """
    import pandas as pd

    from darts_llm.models import LaunchCurveModel, TextAnalogModel

    freq = all_series[0].freq
    after = min(s.start_time() for s in all_series) + 7 * freq
    texts = {variant: replace_static_text(all_series, "description", variant, seed=seed)
             for variant in ("real", "shuffled")}
    cases, results = [], {"real": [], "shuffled": [], "no text": []}
    for origin in origins:
        launched = [i for i, s in enumerate(all_series)
                    if origin - LAUNCH_WEEKS * freq <= s.start_time() <= origin and s.end_time() >= origin + (HORIZON - 1) * freq]
        if not launched:
            continue
        known = [i for i, s in enumerate(all_series) if s.start_time() < origin]
        models = {"real": TextAnalogModel(text_cols="description", launches_after=after),
                  "shuffled": TextAnalogModel(text_cols="description", launches_after=after),
                  "no text": LaunchCurveModel(launches_after=after)}
        for variant, model in models.items():
            series = texts["real" if variant == "no text" else variant]
            model.fit([series[i].drop_after(origin) for i in known])
            history = [series[i].drop_after(origin) for i in launched if series[i].start_time() < origin]
            new = [series[i].static_covariates for i in launched if series[i].start_time() == origin]
            forecasts = model.predict(HORIZON, series=history) if history else []
            if new:
                forecasts += model.predict_new_products(pd.concat(new, ignore_index=True), HORIZON, start=origin)
            results[variant] += forecasts
        order = ([i for i in launched if all_series[i].start_time() < origin]
                 + [i for i in launched if all_series[i].start_time() == origin])
        cases += [(all_series[i], origin) for i in order]
    actual = [s for s, _ in cases]
    return cases, actual, results


def run_demo(data: str | None = None, output: str = "darts_llm_demo", quick: bool = False) -> int:
    """Compare text and no text on established and on new products; print the tables, write two plots.

    Parameters
    ----------
    data
        Path of the Online Retail file; ``None`` looks at ``$DARTS_LLM_ONLINE_RETAIL``, the download cache and
        the UCI download, then falls back to the synthetic catalog.
    output
        Folder for ``comparison.md``, ``established.png`` and ``launches.png``.
    quick
        Fewer products, epochs and seeds (about a minute).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm.models import TextTiDEModel

    import torch

    quiet_training_output()
    # the demo's networks are small: one thread is faster than several competing ones on a small machine
    torch.set_num_threads(1)
    started = time.perf_counter()
    all_series, source = load_demo_data(data)
    panel_size = 60 if quick else 150
    panel = established_products(all_series, panel_size)
    print(f"Data: {source}; {len(all_series)} products.")
    print("Example descriptions:", "; ".join(s.static_covariates["description"].iloc[0] for s in panel[:3]))
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")  # heavy-tailed sales: learn on log1p
    settings = demo_settings(quick)
    seeds = (0,) if quick else (0, 1)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)

    # 1. established products
    freq = panel[0].freq
    start = panel[0].end_time() - (BACKTEST_WEEKS - 1) * freq
    print(f"\n1. Established products: {len(panel)} best sellers, backtest from {start.date()} "
          f"({HORIZON}-week forecasts every {HORIZON} weeks), seeds {list(seeds)} ...")
    table = compare_text(TextTiDEModel(**settings), panel, start=start, forecast_horizon=HORIZON, seeds=seeds,
                         target_transform=log)
    shown = table[["variant", "mean", "std", "n_forecasts", "text_used"]].rename(
        columns={"mean": "WAPE % (mean)", "std": "std", "n_forecasts": "forecasts", "text_used": "text used (seeds)"})
    established_md = markdown_table(shown)
    established_text = describe_comparison(table)
    print(established_md + "\n\n" + established_text)
    ax = plot_text_comparison(table)
    ax.figure.tight_layout()
    ax.figure.savefig(out / "established.png", dpi=110)
    plt.close(ax.figure)

    # 2. new products
    end = max(s.end_time() for s in all_series)
    origins = [end - (k * HORIZON + HORIZON - 1) * freq for k in (2, 1, 0)]
    print(f"\n2. New products: first sold in the {LAUNCH_WEEKS} weeks before or in the week of each of the origins "
          f"{[o.date().isoformat() for o in origins]}, {HORIZON}-week forecasts from 0-{LAUNCH_WEEKS} weeks of sales ...")
    cases, actual, results = launch_forecasts(all_series, origins, seeds[0])
    if not cases:
        launches_md = launches_text = "No product was launched in those weeks."
        print(launches_md)
    else:
        rows = [{"forecast": name, "WAPE %": pooled_wape(actual, preds)} for name, preds in (
            ("TextAnalogModel, real descriptions", results["real"]),
            ("TextAnalogModel, shuffled descriptions", results["shuffled"]),
            ("LaunchCurveModel (no text)", results["no text"]),
        )]
        launches_md = markdown_table(rows)
        launches_text = _launch_sentence(rows, len(cases))
        print(launches_md + "\n\n" + launches_text)
        _plot_launches(cases, results, out / "launches.png", plt)

    (out / "comparison.md").write_text(
        f"Data: {source}\n\n## Established products: TextTiDEModel (default settings) against TiDEModel\n\n"
        f"{established_md}\n\n{established_text}\n\n"
        f"## New products: TextAnalogModel against LaunchCurveModel\n\n{launches_md}\n\n{launches_text}\n"
    )
    print(f"\nPlots: {(out / 'established.png').resolve()}, {(out / 'launches.png').resolve()}")
    print(f"Table: {(out / 'comparison.md').resolve()}\nDone in {time.perf_counter() - started:.0f} s.")
    return 0


def _launch_sentence(rows: list[dict], n_cases: int) -> str:
    """What the new-product table says, computed from it."""
    wape = {r["forecast"]: r["WAPE %"] for r in rows}
    real = wape.pop("TextAnalogModel, real descriptions")
    shuffled = wape.pop("TextAnalogModel, shuffled descriptions")
    best_name = min(wape, key=wape.get)  # the best forecast without any description information
    best = wape[best_name]
    head = f"On {n_cases} new-product forecasts, the real descriptions give {real:.1f}% WAPE"
    if real >= best:
        return f"{head} against {best:.1f}% for {best_name}: no gain from the text here."
    lift = 100 * (best - real) / best
    given_back = (shuffled - real) / (best - real)
    if given_back >= 0.5:
        tail = (f"shuffled descriptions give {shuffled:.1f}%, losing {min(given_back, 1):.0%} of that gain: it comes "
                f"from what the descriptions say.")
    else:
        tail = (f"shuffled descriptions give {shuffled:.1f}%, keeping most of that gain: it does not come from what "
                f"the descriptions say.")
    return f"{head}, {lift:.1f}% lower than the best forecast without them ({best_name}, {best:.1f}%); {tail}"


def _plot_launches(cases, results, path: Path, plt) -> None:
    picks = list(range(min(4, len(cases))))
    fig, axes = plt.subplots(2, 2, figsize=(13, 7))
    for ax, i in zip(axes.flat, picks):
        series, origin = cases[i]
        series.plot(ax=ax, label="actual", color="black", lw=1.2)
        results["real"][i].plot(ax=ax, label="TextAnalogModel (its description)", color="tab:blue", lw=1.5)
        results["no text"][i].plot(ax=ax, label="LaunchCurveModel (no text)", color="tab:gray", lw=1.5)
        ax.axvline(origin, color="tab:red", lw=0.8, ls="--")
        ax.set_title(series.static_covariates["description"].iloc[0][:45], fontsize=10)
        ax.set_xlabel("")
        ax.legend(fontsize=7)
    fig.suptitle("New products: weekly units, forecasts from their first weeks of sales")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
