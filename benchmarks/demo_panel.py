"""The four text models with their default settings against their no-text twins, on the demo's test weeks.

Usage::

    python benchmarks/demo_panel.py [--data PATH] [--seeds 3] [--backbones tide tsmixer rnn tft]

The demo panel (the 150 best-selling products with at least 40 weeks of Online Retail sales), backtested on its
last 12 weeks (4-week forecasts every 4 weeks) by ``darts_llm.compare_text``: the real descriptions, shuffled
ones, one constant description and the Darts backbone without text, on ``log1p`` sales, over ``--seeds`` seeds.
The backbones' settings are those of ``benchmarks/text_pathway.py`` (where the text defaults were chosen, on
earlier weeks); every text argument is left at its default. Writes ``benchmarks/results/demo_panel.md``.
"""

from __future__ import annotations

import argparse
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
from text_pathway import BACKBONES  # noqa: E402

from darts_llm.datasets import load_online_retail  # noqa: E402
from darts_llm.demo import established_products  # noqa: E402
from darts_llm.evaluation import compare_text, markdown_table  # noqa: E402
from darts_llm.utils import quiet_training_output  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    args = parser.parse_args()
    quiet_training_output()
    torch.set_num_threads(1)
    started = time.perf_counter()
    horizon, backtest = 4, 12
    series = established_products(load_online_retail(args.data, freq="W"), 150)
    start = series[0].end_time() - (backtest - 1) * series[0].freq
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    seeds = tuple(range(args.seeds))
    trainer = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}
    rows, verdicts = [], []
    for backbone in args.backbones:
        cls, extra, encoders = BACKBONES[backbone]
        model = cls(input_chunk_length=12, output_chunk_length=horizon, n_epochs=args.epochs, batch_size=64,
                    use_reversible_instance_norm=True, add_encoders={"datetime_attribute": {encoders: ["month"]}},
                    pl_trainer_kwargs=trainer, **extra)
        table = compare_text(model, series, start=start, forecast_horizon=horizon, seeds=seeds, target_transform=log)
        by = table.set_index("variant")
        real, twin = by.loc["real"], by.loc["no text"]
        worst = max(np.asarray(real["runs"]) - np.asarray(twin["runs"]))
        row = {"model": cls.__name__, **{v: f"{by.loc[v, 'mean']:.1f} ± {by.loc[v, 'std']:.1f}" for v in by.index},
               "worst seed minus twin": f"{worst:+.1f}", "text kept (seeds)": by.loc["real", "text_used"],
               "shuffled text kept": by.loc["shuffled", "text_used"]}
        rows.append(row)
        ok_mean = real["mean"] <= twin["mean"]
        ok_seed = worst <= twin["std"]
        verdicts.append(f"{cls.__name__}: mean {'at or below' if ok_mean else 'above'} its twin "
                        f"({real['mean']:.1f} vs {twin['mean']:.1f}); worst seed {worst:+.1f} against the twin's "
                        f"std {twin['std']:.1f} ({'within' if ok_seed else 'beyond'}).")
        print(row, flush=True)
    body = (
        f"Command: `python benchmarks/demo_panel.py --seeds {args.seeds} --epochs {args.epochs}`. The demo panel "
        f"(150 best sellers), backtested on its last {backtest} weeks ({horizon}-week forecasts every {horizon} "
        f"weeks), pooled WAPE % over {len(seeds)} seeds (mean ± std); *no text*: the Darts backbone. {machine()}; "
        f"{time.perf_counter() - started:.0f} s.\n\n" + markdown_table(pd.DataFrame(rows)) + "\n\n"
        + "\n".join(f"- {v}" for v in verdicts) + "\n"
    )
    print("\n" + body)
    write_section("demo_panel", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
