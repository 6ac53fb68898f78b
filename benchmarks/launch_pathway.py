"""The text penalty on new products, on validation origins: the demo's new-product protocol, earlier weeks.

Usage::

    python benchmarks/launch_pathway.py [--data PATH] [--seeds 2]

The demo forecasts products first sold in the 4 weeks before each of three origins (the last 12 weeks of the data).
Here the three origins lie 12 weeks earlier, so that every forecast ends before the demo's first origin: nothing
the demo reports is seen. For each text penalty, the short-history ``TextTiDEModel`` of the demo
(:func:`launch_forecasts`, the demo's new-product protocol before the demo moved to ``TextAnalogModel``) runs with real,
shuffled and constant descriptions; pooled WAPE %.
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
from darts_llm.evaluation import markdown_table, pooled_wape, replace_static_text  # noqa: E402
from darts_llm.utils import quiet_training_output  # noqa: E402

PENALTIES = (0.0, 0.3)


def launch_forecasts(all_series, panel_size: int, origins, settings: dict, log, seed: int):
    """The short-history ``TextTiDEModel`` on new products (1-4 weeks of sales): one fit per text variant before the
    first origin, on the best sellers and the earlier launches; forecasts of the products launched before each origin."""
    from darts_llm.models import TextTiDEModel

    freq = all_series[0].freq
    first = origins[0]
    # what the model learns from: established products and the launches before the first origin
    established = demo.established_products(all_series, panel_size)
    earlier = [s for s in all_series if s.start_time() < first - demo.LAUNCH_WEEKS * freq and len(s) < 40]
    cases = [(s, t) for t in origins for s in all_series
             if t - demo.LAUNCH_WEEKS * freq <= s.start_time() < t and s.end_time() >= t + (demo.HORIZON - 1) * freq]
    results = {}
    for variant in ("real", "shuffled", "constant"):
        texts = {id(s): r for s, r in zip(all_series, replace_static_text(all_series, "description", variant,
                                                                           seed=seed))}
        train = [log.transform(texts[id(s)]).drop_after(first) for s in established + earlier
                 if s.start_time() < first]
        # more series than the established panel: fewer epochs keep the demo short
        # text_penalty acts on the static entry (the text among the backbone's inputs)
        model = TextTiDEModel(min_input_chunk_length=1, random_state=seed, text_entry="static",
                              **dict(settings, n_epochs=8))
        model.fit(train)
        history = [log.transform(texts[id(s)]).drop_after(t) for s, t in cases]
        results[variant] = [log.inverse_transform(f) for f in model.predict(demo.HORIZON, series=history)]
    actual = [s for s, _ in cases]
    mean_of_observed = [
        f.with_values(np.full_like(f.values(), np.nanmean(s.drop_after(t).values()))) for (s, t), f in
        zip(cases, results["real"])
    ]
    return cases, actual, results, mean_of_observed


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
            cases, actual, results, _ = launch_forecasts(series, 150, origins, settings, log, seed)
            rows.append({"text_penalty": penalty, "seed": seed, "forecasts": len(cases),
                         **{f"{variant} descriptions": pooled_wape(actual, preds) for variant, preds in results.items()}})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    summary = frame.groupby("text_penalty")[[c for c in frame.columns if c.endswith("descriptions")]].mean()
    print(f"\nValidation origins {[o.date().isoformat() for o in origins]}, mean over {args.seeds} seeds:\n")
    print(markdown_table(summary.reset_index()))


if __name__ == "__main__":
    main()
