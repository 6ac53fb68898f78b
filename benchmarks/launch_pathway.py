"""The text penalty on new products, on validation origins: the demo's new-product protocol, earlier weeks.

Usage::

    python benchmarks/launch_pathway.py [--data PATH] [--seeds 2]

The demo forecasts products first sold in the 4 weeks before each of three origins (the last 12 weeks of the data).
Here the three origins lie 12 weeks earlier, so that every forecast ends before the demo's first origin: nothing
the demo reports is seen. For each text penalty, the short-history ``TextTiDEModel`` of the demo
(``darts_llm.demo.launch_forecasts``) runs with real, shuffled and constant descriptions; pooled WAPE %.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from darts.dataprocessing.transformers import InvertibleMapper

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.panels import add_data_argument  # noqa: E402

from darts_llm import demo  # noqa: E402
from darts_llm.datasets import load_online_retail  # noqa: E402
from darts_llm.evaluation import markdown_table, pooled_wape  # noqa: E402
from darts_llm.utils import quiet_training_output  # noqa: E402

PENALTIES = (0.0, 0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    quiet_training_output()
    torch.set_num_threads(1)
    series = load_online_retail(args.data, freq="W")
    freq = series[0].freq
    end = max(s.end_time() for s in series)
    h = demo.HORIZON
    origins = [end - (k * h + h - 1) * freq for k in (5, 4, 3)]  # the demo's origins are k = 2, 1, 0
    log = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    rows = []
    for penalty in PENALTIES:
        settings = dict(demo.demo_settings(False), text_penalty=penalty)
        for seed in range(args.seeds):
            cases, actual, results, _ = demo.launch_forecasts(series, 150, origins, settings, log, seed)
            rows.append({"text_penalty": penalty, "seed": seed, "forecasts": len(cases),
                         **{f"{variant} descriptions": pooled_wape(actual, preds) for variant, preds in results.items()}})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    summary = frame.groupby("text_penalty")[[c for c in frame.columns if c.endswith("descriptions")]].mean()
    print(f"\nValidation origins {[o.date().isoformat() for o in origins]}, mean over {args.seeds} seeds:\n")
    print(markdown_table(summary.reset_index()))


if __name__ == "__main__":
    main()
