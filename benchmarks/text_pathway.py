"""Text-pathway settings of the four text models, chosen on validation origins only.

Usage::

    python benchmarks/text_pathway.py [--data PATH] [--seeds 5] [--backbones tide tsmixer rnn tft]

Candidates: the *static* entry (text features among the backbone's static covariates) in several forms, and the
*residual* entry (the no-text twin plus a text correction kept only if it lowers the loss of the most recent
training windows by a minimum gain) with three minimum gains.

Protocol: the demo panel (the 150 best-selling products with at least 40 weeks of Online Retail sales). The last
12 weeks are the *test* weeks of the demo and are cut off here before anything else: every run sees only the
weeks before them. Each model is fitted on all but the last 12 of the remaining weeks and backtested on those 12
(4-week forecasts every 4 weeks, ``darts_llm.compare_text``), on ``log1p`` sales, with reversible instance
normalisation in every backbone. Each candidate setting of the text pathway runs with the real descriptions; the
backbone without text (the twin) and the chosen setting with constant text are the controls. The pooled WAPE is
averaged over ``--seeds`` seeds. The setting with the lowest mean WAPE over the backbones, among those whose mean
is at most the twin's plus one twin standard deviation on every backbone, is reported as the choice.

Writes ``benchmarks/results/text_pathway.md`` and its section of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from darts.dataprocessing.transformers import InvertibleMapper

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.panels import add_data_argument  # noqa: E402
from harness.report import machine, write_section  # noqa: E402

from darts_llm.datasets import load_online_retail  # noqa: E402
from darts_llm.demo import established_products  # noqa: E402
from darts_llm.evaluation import compare_text, markdown_table  # noqa: E402
from darts_llm.models import TextBlockRNNModel, TextTFTModel, TextTiDEModel, TextTSMixerModel  # noqa: E402
from darts_llm.utils import quiet_training_output  # noqa: E402

RUNS = Path(__file__).resolve().parent / "results" / "text_pathway_runs.jsonl"

def setting(dim: int, components: int | None, gate: bool, no_text_prob: float, penalty: float = 0.0) -> dict:
    """Every argument of the static entry given, so that a candidate does not change when a library default
    does."""
    return dict(text_entry="static", text_dim=dim, text_components=components, text_gate=gate,
                no_text_prob=no_text_prob, text_penalty=penalty)


def residual(min_gain: float, components: int | None = 8) -> dict:
    """A residual-entry candidate: the twin plus a text correction kept if it gains ``min_gain`` on the most
    recent training windows."""
    return dict(text_entry="residual", text_min_gain=min_gain, text_dim=8, text_components=components)


#: Candidate text-pathway settings (the library's former defaults first).
CANDIDATES = {
    "plain projection (text_dim 16)": setting(16, None, False, 0.0),
    "plain projection (text_dim 8)": setting(8, None, False, 0.0),
    "gate + text dropout 0.5": setting(8, None, True, 0.5),
    "8 components": setting(8, 8, False, 0.0),
    "8 components + gate + text dropout 0.5": setting(8, 8, True, 0.5),
    "4 components + gate + text dropout 0.5": setting(8, 4, True, 0.5),
    "16 components + gate + text dropout 0.5": setting(8, 16, True, 0.5),
    "8 components + gate + text dropout 0.5 + penalty 0.3": setting(8, 8, True, 0.5, penalty=0.3),
    "residual, checked (min gain 0)": residual(0.0),
    "residual, checked (min gain 0.5%)": residual(0.005),
    "residual, checked (min gain 2%)": residual(0.02),
}

BACKBONES = {
    "tide": (TextTiDEModel, dict(hidden_size=64, dropout=0.1), "future"),
    "tsmixer": (TextTSMixerModel, dict(hidden_size=64, dropout=0.1), "future"),
    "rnn": (TextBlockRNNModel, dict(hidden_dim=25, dropout=0.1), "past"),
    "tft": (TextTFTModel, dict(hidden_size=16, dropout=0.1), "future"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--runs", type=Path, default=RUNS,
                        help="JSON lines of finished runs: rows found there are not run again (delete to rerun)")
    args = parser.parse_args()
    quiet_training_output()
    torch.set_num_threads(1)
    started = time.perf_counter()
    test_weeks, horizon, backtest = 12, 4, 12
    # the demo's panel, without the demo's test weeks (never seen here)
    series = [s[:-test_weeks] for s in established_products(load_online_retail(args.data, freq="W"), 150)]
    start = series[0].end_time() - (backtest - 1) * series[0].freq
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    seeds = tuple(range(args.seeds))
    trainer = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}
    done = {}
    if args.runs.exists():
        for line in args.runs.read_text().splitlines():
            r = json.loads(line)
            if r.get("seeds") == len(seeds) and r.get("epochs") == args.epochs:
                done[(r["backbone"], r["setting"])] = r
    rows = []
    for backbone in args.backbones:
        cls, extra, encoders = BACKBONES[backbone]
        common = dict(input_chunk_length=12, output_chunk_length=horizon, n_epochs=args.epochs, batch_size=64,
                      use_reversible_instance_norm=True, add_encoders={"datetime_attribute": {encoders: ["month"]}},
                      pl_trainer_kwargs=trainer, **extra)
        for i, (name, settings) in enumerate(CANDIDATES.items()):
            variants = ("real", "no text") if i == 0 else ("real",)
            labels = {"real": name, "no text": "no text (the twin)"}
            if all((backbone, labels[v]) in done for v in variants):
                rows += [done[(backbone, labels[v])] for v in variants]
                continue
            table = compare_text(cls(**common, **settings), series, start=start, forecast_horizon=horizon,
                                 seeds=seeds, target_transform=log, variants=variants)
            for _, r in table.iterrows():
                label = labels[r["variant"]]
                row = {"backbone": backbone, "setting": label, "mean": r["mean"], "std": r["std"],
                       "runs": list(r["runs"]), "seeds": len(seeds), "epochs": args.epochs}
                rows.append(row)
                with args.runs.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{backbone:8s} {label:45s} {r['mean']:6.1f} ± {r['std']:4.1f}", flush=True)
    frame = pd.DataFrame(rows)
    twin = frame[frame["setting"] == "no text (the twin)"].set_index("backbone")
    candidates = frame[frame["setting"] != "no text (the twin)"]
    wide = candidates.pivot(index="setting", columns="backbone", values="mean")
    bound = twin["mean"] + twin["std"]
    eligible = wide[wide.le(bound, axis=1).all(axis=1)]
    overall = (eligible if len(eligible) else wide).mean(axis=1).sort_values()
    choice = overall.index[0]
    table_rows = []
    for setting in [*CANDIDATES, "no text (the twin)"]:
        row = {"setting": setting}
        for backbone in args.backbones:
            r = frame[(frame["setting"] == setting) & (frame["backbone"] == backbone)]
            row[backbone] = f"{r['mean'].iloc[0]:.1f} ± {r['std'].iloc[0]:.1f}" if len(r) else "n/a"
        table_rows.append(row)
    within = "within" if choice in eligible.index else "not within"
    tied = [name for name, value in overall.items() if abs(value - overall.iloc[0]) < 1e-9]
    sentence = (
        f"Best: **{' = '.join(tied)}** (lowest mean WAPE over the backbones, {overall.iloc[0]:.1f}"
        + ("; tied: the same mean on every backbone" if len(tied) > 1 else "")
        + f"); {'they are' if len(tied) > 1 else 'it is'} {within} one seed standard deviation of the no-text "
        f"twin on every backbone. "
        + ("Settings within that bound everywhere: " + ", ".join(eligible.index) + "." if len(eligible)
           else "No setting is within that bound on every backbone.")
    )
    runs = {(r["backbone"], r["setting"]): r["runs"] for r in rows}
    twin_runs = {b: np.asarray(runs[(b, "no text (the twin)")]) for b in args.backbones}
    worse = {}  # per setting: its largest excess over the twin in one seed, over the backbones
    for name in CANDIDATES:
        excess = [max(np.asarray(runs[(b, name)]) - twin_runs[b]) for b in args.backbones if (b, name) in runs]
        if excess and max(excess) > 0:
            worse[name] = max(excess)
    if worse:
        sentence += (f" {len(worse)} of {len(CANDIDATES)} settings are worse than the twin in at least one seed of "
                     f"one backbone (by up to {max(worse.values()):.1f} points; the least: "
                     f"{min(worse, key=worse.get)}, by {min(worse.values()):.1f}).")
    for name in CANDIDATES:
        same = [b for b in args.backbones if runs.get((b, name)) == runs.get((b, "no text (the twin)"))]
        if same:
            sentence += (f" *{name}* forecasts exactly as the twin, seed by seed, on {len(same)} of "
                         f"{len(args.backbones)} backbones ({', '.join(same)}).")
    print("\n" + markdown_table(pd.DataFrame(table_rows)) + "\n\n" + sentence)
    if not args.no_write:
        body = (
            f"Command: `python benchmarks/text_pathway.py --seeds {args.seeds} --epochs {args.epochs} --backbones "
            f"{' '.join(args.backbones)}`. Validation origins only: the demo panel without its 12 test weeks, "
            f"fitted on all but the last 12 remaining weeks and backtested on them (4-week forecasts every 4 "
            f"weeks); pooled WAPE % over {len(seeds)} seeds (mean ± std). {machine()}; "
            f"{time.perf_counter() - started:.0f} s.\n\n"
            + markdown_table(pd.DataFrame(table_rows)) + "\n\n" + sentence + "\n"
        )
        write_section("text_pathway", body)


if __name__ == "__main__":
    main()
