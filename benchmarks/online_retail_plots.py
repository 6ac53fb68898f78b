"""Figures of ``benchmarks/online_retail.py``: forecasts vs actuals, WAPE by horizon, cold-start WAPE by history."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from harness.report import FIGURES
from harness.scoring import wape_by_horizon

from darts_llm.evaluation import pooled_wape

HORIZON_MODELS = [  # (name, colour, line style)
    ("Naive (last value)", "0.55", ":"),
    ("Mean of last 12 weeks", "0.3", ":"),
    ("ExponentialSmoothing (per series)", "tab:gray", "--"),
    ("Launch profile (median by age)", "tab:brown", ":"),
    ("LightGBM", "tab:blue", "--"),
    ("TiDE", "tab:green", "--"),
    ("TFT", "tab:purple", "--"),
    ("BlockRNN (LSTM)", "tab:olive", "--"),
    ("LightGBM + text neighbours", "tab:blue", "-"),
    ("LightGBM + text PCA", "tab:cyan", "-"),
    ("TextTiDE", "tab:green", "-"),
    ("TextTFT", "tab:purple", "-"),
    ("Ensemble: ExpSmoothing + TiDE", "tab:pink", "--"),
    ("Ensemble: ExpSmoothing + TextTiDE", "tab:pink", "-"),
    ("Ensemble: LightGBM + TiDE", "tab:red", "--"),
    ("Ensemble: LightGBM + nbrs + TextTiDE", "tab:red", "-"),
]


def _shared_legend(fig, axes, ncol: int) -> None:
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)


def plot_horizon(inst, runs, masks, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6), sharey=False)
    for ax, subset in zip(axes, ("warm", "cold")):
        for name, colour, style in HORIZON_MODELS:
            if name not in runs:
                continue
            vals = [wape_by_horizon(inst, r["pred"], masks[subset]) for r in runs[name]]
            if np.isnan(vals).any():
                continue
            ax.plot(np.arange(1, len(vals[0]) + 1), np.mean(vals, 0), style, color=colour, label=name, lw=1.6)
        ax.set_title(
            f"{subset} cohort" + (" (models that forecast every launch)" if subset == "cold" else ""), fontsize=10
        )
        ax.set_xlabel("horizon (weeks ahead)")
        ax.set_ylabel("WAPE % (pooled; mean over seeds)")
        ax.grid(alpha=0.3)
    _shared_legend(fig, axes, ncol=4)
    fig.suptitle("Online Retail: WAPE by forecast horizon (dashed/dotted: no text, solid: with text)")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(inst, runs, path: Path) -> None:
    fr = inst.frame
    cold = (fr.cohort == "cold").to_numpy()
    names = [n for n, _, _ in HORIZON_MODELS if n in runs]
    hs = sorted(fr[cold].history.unique())
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(12, 5.4))
    for k, (name, colour, style) in enumerate(m for m in HORIZON_MODELS if m[0] in runs):
        vals = []
        for h in hs:
            mask = cold & (fr.history == h).to_numpy()
            vals.append(np.mean([pooled_wape(inst.actual[mask], r["pred"][mask]) for r in runs[name]]))
        ax.bar(
            np.arange(len(hs)) + (k - len(names) / 2) * width,
            vals,
            width,
            color=colour,
            hatch="" if style == "-" else "//",
            edgecolor="white",
            label=name,
        )
    counts = [int((cold & (fr.history == h).to_numpy()).sum()) for h in hs]
    ax.set_xticks(np.arange(len(hs)), [f"{h} week{'' if h == 1 else 's'}\n(n={c})" for h, c in zip(hs, counts)])
    ax.set_ylabel("WAPE % (missing bar: cannot forecast)")
    ax.set_title("Cold-start cohort: WAPE by weeks of history at the origin (hatched: no text)")
    ax.grid(axis="y", alpha=0.3)
    _shared_legend(fig, [ax], ncol=4)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_forecasts(panel, inst, runs, meta, cfg, masks, path: Path, pairs) -> None:
    """Forecast vs actual for 3 warm and 3 cold products at one origin; ``pairs`` = ((no-text, text) per cohort)."""
    fr = inst.frame
    origin = cfg.origins[len(cfg.origins) // 2]
    rng = np.random.default_rng(3)
    picks = []
    at = (fr.origin == origin).to_numpy()
    for subset in ("warm", "cold"):
        cand = np.flatnonzero(at & masks[subset] & (inst.actual.sum(1) >= 40))
        if subset == "cold":  # one launch per history length when possible
            chosen = []
            for h in (0, 2, 4):
                c = [k for k in cand if fr.history.iat[k] == h]
                if c:
                    chosen.append(rng.choice(c))
            rest = [k for k in cand if k not in chosen]
            while len(chosen) < 3 and rest:
                chosen.append(rest.pop(rng.integers(len(rest))))
        else:
            chosen = list(rng.choice(cand, size=min(3, len(cand)), replace=False))
        picks += [(subset, k) for k in chosen]
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    for ax, (subset, k) in zip(axes.flat, picks):
        r = fr.iloc[k]
        start = max(panel.launch[r.idx], r.o - 16)
        t_hist = panel.times[start : r.o]
        t_fc = panel.times[r.o : r.o + len(inst.actual[k])]
        ax.plot(t_hist, panel.values[r.idx, start : r.o], color="black", lw=1.3, label="history")
        ax.plot(t_fc, inst.actual[k], color="black", lw=1.3, ls="--", marker="o", ms=3, label="actual")
        for name, colour in zip(pairs[subset], ("tab:orange", "tab:blue")):
            if name is None or name not in runs:
                continue
            run = runs[name][0]
            ax.plot(t_fc, run["pred"][k], color=colour, lw=1.6, label=f"{name} (median)")
            q = run.get("quant")
            if q is not None and not np.isnan(q[k]).any():
                ax.fill_between(t_fc, q[k][:, 0], q[k][:, -1], color=colour, alpha=0.15)
        desc = panel.texts["real"][r.idx]
        ax.set_title(f"[{subset}, {r.history} wk history] {desc[:34]}", fontsize=9)
        ax.axvline(panel.times[r.o], color="0.6", lw=0.8)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.set_ylabel("units / week", fontsize=8)
    for ax in axes.flat[len(picks) :]:
        ax.axis("off")
    for row in range(2):
        axes[row, 0].legend(fontsize=7, loc="best", framealpha=0.6)
    fig.suptitle(f"Forecasts from origin {origin:%Y-%m-%d} (first seed; band: 10-90% quantiles)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_all(panel, inst, runs, meta, cfg, masks, cohorts) -> list[tuple[str, str]]:
    """Draw the three figures; ``cohorts``: the best model without and with text per cohort (from the report)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    suffix = {"full": "", "quick": "_quick", "validation": "_validation"}[cfg.mode]
    pairs = {s: tuple(cohorts[s][k].model if s in cohorts else None for k in ("no_text", "text"))
             for s in ("warm", "cold")}
    out = []
    try:
        p = FIGURES / f"online_retail_forecasts{suffix}.png"
        plot_forecasts(panel, inst, runs, meta, cfg, masks, p, pairs)
        out.append(("Forecasts vs actuals: best model without and with text per cohort", f"figures/{p.name}"))
        p = FIGURES / f"online_retail_wape_by_horizon{suffix}.png"
        plot_horizon(inst, runs, masks, p)
        out.append(("WAPE by horizon", f"figures/{p.name}"))
        p = FIGURES / f"online_retail_cold_by_history{suffix}.png"
        plot_history(inst, runs, p)
        out.append(("Cold-start WAPE by weeks of history", f"figures/{p.name}"))
    except Exception as err:  # figures must not lose the tables
        print(f"figures failed: {type(err).__name__}: {err}", flush=True)
    return out
