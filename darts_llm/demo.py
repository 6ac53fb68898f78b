"""``darts-llm demo``: TiDE against TextTiDE on product sales, backtested the Darts way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from darts_llm.evaluation import CONSTANT_TEXT, markdown_table, pooled_mae, pooled_wape, replace_static_text
from darts_llm.utils import quiet_training_output

#: The models of the demo, and the two drawn in its plot.
NO_TEXT, WITH_TEXT, CONSTANT = "TiDE (no text)", "TextTiDE (descriptions)", f'TextTiDE (every text "{CONSTANT_TEXT}")'


def load_demo_series(data: str | None, quick: bool):
    """Online Retail when it can be found (or downloaded), else the synthetic catalog; says which."""
    from darts_llm.datasets import load_online_retail, make_synthetic_catalog

    path = data or os.environ.get("DARTS_LLM_ONLINE_RETAIL") or None
    try:
        series = load_online_retail(path, freq="W")
        source = f"UCI Online Retail ({path or 'downloaded copy'}), weekly units per product"
    except (FileNotFoundError, OSError, ImportError) as err:
        print(f"Online Retail not available ({str(err).splitlines()[0]}).")
        series = make_synthetic_catalog(n_products=150, n_periods=104, seed=0)
        source = "the bundled SYNTHETIC catalog (generated product texts and sales; not real data)"
    # established products with a full year, the best sellers first: the demo's panel
    long_enough = [s for s in series if len(s) >= 40]
    long_enough.sort(key=lambda s: -float(np.sum(s.values())))
    return long_enough[: (60 if quick else 150)], source


def _trainer_kwargs() -> dict:
    return {"accelerator": "auto", "enable_progress_bar": True, "enable_model_summary": False, "logger": False}


def run_demo(data: str | None = None, output: str = "darts_llm_demo", quick: bool = False) -> int:
    """Fit TiDE, TextTiDE and TextTiDE with one constant text; backtest them on the last weeks; table and plot.

    Parameters
    ----------
    data
        Path of the Online Retail file; ``None`` looks at ``$DARTS_LLM_ONLINE_RETAIL``, the download cache and
        the UCI download, then falls back to the synthetic catalog.
    output
        Folder for ``forecasts.png`` and ``comparison.md``.
    quick
        Fewer series and epochs (about a minute).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from darts.dataprocessing.transformers import InvertibleMapper
    from darts.models import TiDEModel

    from darts_llm.models import TextTiDEModel

    quiet_training_output()
    started = time.perf_counter()
    series, source = load_demo_series(data, quick)
    print(f"Data: {source}; {len(series)} products, {len(series[0])} weeks for the longest.")
    print("Example descriptions:", "; ".join(s.static_covariates["description"].iloc[0] for s in series[:4]))

    # heavy-tailed sales: learn on log1p and map forecasts back
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    train_input = log.transform(series)
    horizon, backtest_weeks = 4, 12
    common = dict(
        input_chunk_length=12,
        output_chunk_length=horizon,
        hidden_size=64,
        dropout=0.1,
        n_epochs=8 if quick else 15,
        batch_size=64,
        random_state=0,
        add_encoders={"datetime_attribute": {"future": ["month"]}},
        pl_trainer_kwargs=_trainer_kwargs(),
    )
    models = {
        NO_TEXT: TiDEModel(**common),
        WITH_TEXT: TextTiDEModel(text_dim=8, **common),
        CONSTANT: TextTiDEModel(text_dim=8, **common),
    }
    first_forecast = series[0].end_time() - (backtest_weeks - 1) * series[0].freq
    # the model without text sees the same series with the numeric static covariates only
    no_text = [s.with_static_covariates(s.static_covariates.drop(columns=["description"])) for s in train_input]
    # the constant-text twin: the same text model, with descriptions that say nothing about the product
    inputs = {NO_TEXT: no_text, WITH_TEXT: train_input,
              CONSTANT: replace_static_text(train_input, "description", "constant")}
    rows, forecasts = [], {}
    for name, model in models.items():
        print(f"\nFitting {name} ...")
        t0 = time.perf_counter()
        model.fit([s[:-backtest_weeks] for s in inputs[name]])
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        hist = model.historical_forecasts(
            inputs[name], start=first_forecast,
            forecast_horizon=horizon, stride=horizon, retrain=False, last_points_only=False, verbose=False,
        )
        hist = [log.inverse_transform(list(h)) for h in hist]
        forecasts[name] = hist
        flat_pred = [f for per_series in hist for f in per_series]
        flat_true = [s for s, per_series in zip(series, hist) for _ in per_series]
        rows.append({
            "model": name,
            "WAPE %": pooled_wape(flat_true, flat_pred),
            "MAE": pooled_mae(flat_true, flat_pred),
            "fit s": fit_s,
            "backtest s": time.perf_counter() - t0,
        })

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(rows)
    (out / "comparison.md").write_text(f"Data: {source}\n\n{table}\n")
    _plot(series, {name: forecasts[name] for name in (NO_TEXT, WITH_TEXT)}, out / "forecasts.png", plt)
    print(f"\nBacktest over the last {backtest_weeks} weeks, {horizon}-week forecasts every {horizon} weeks:\n")
    print(table)
    print(f"\nPlot: {(out / 'forecasts.png').resolve()}\nTable: {(out / 'comparison.md').resolve()}")
    print(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


def _plot(series, forecasts, path: Path, plt) -> None:
    picks = [0, 1, len(series) // 2, len(series) - 1]
    fig, axes = plt.subplots(2, 2, figsize=(13, 7), sharex=True)
    for ax, i in zip(axes.flat, picks):
        series[i].plot(ax=ax, label="actual", color="black", lw=1.2)
        for (name, hist), color in zip(forecasts.items(), ("tab:blue", "tab:orange")):
            for j, f in enumerate(hist[i]):
                f.plot(ax=ax, label=name if j == 0 else "_", color=color, lw=1.5)
        ax.set_title(series[i].static_covariates["description"].iloc[0][:40], fontsize=10)
        ax.set_xlabel("")
        ax.legend(fontsize=7)
    fig.suptitle("Weekly units: actual vs 4-week backtest forecasts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
