"""How TextAnalogModel's settings were chosen: its variants on the cold-start validation origins.

Usage::

    python benchmarks/analog_settings.py [--data PATH]

The protocol of ``benchmarks/cold_start.py --validation`` (11 weekly origins, 2011-05-08 .. 2011-07-17, before the
test origins), for ``TextAnalogModel`` with ``n_analogs`` in 10 / 30 / 100, ``scale`` ridge / analogs, and
weights by similarity (``temperature=0.05``) against equal weights, and recent launches weighing more
(``recency_half_life`` of 26, 13 or 8 weeks), and without the correction of the level by the latest launches
(``recent_launch_correction=False``); ``LaunchCurveModel()`` (also with those half-lives and without the
correction) is the reference without text. Writes ``benchmarks/results/analog_settings.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from cold_start import ESTABLISHED_WEEKS, HISTORY_KS, HORIZON, VALIDATION_ORIGINS, cut_series, launch_model_forecasts
from harness.cohorts import new_products
from harness.panels import add_data_argument, load_panel
from harness.report import RESULTS, machine, table

from darts_llm.evaluation import pooled_wape

warnings.filterwarnings("ignore")
#: Half-lives (weeks) of the launches' recency weights: about half a year, a quarter, two months.
RECENCY_HALF_LIVES = (26, 13, 8)
VARIANTS = {
    "LaunchCurveModel() (no text)": ("curve", {}),
    "n_analogs=10": ("text", {"n_analogs": 10}),
    "defaults (n_analogs=30, scale='ridge', recent_launch_correction=True)": ("text", {}),
    "n_analogs=100": ("text", {"n_analogs": 100}),
    "scale='analogs'": ("text", {"scale": "analogs"}),
    "temperature=0.05": ("text", {"temperature": 0.05}),
    **{f"recency_half_life={h}": ("text", {"recency_half_life": h}) for h in RECENCY_HALF_LIVES},
    **{f"LaunchCurveModel(recency_half_life={h}) (no text)": ("curve", {"recency_half_life": h})
       for h in RECENCY_HALF_LIVES},
    "recent_launch_correction=False": ("text", {"recent_launch_correction": False}),
    "recent_launch_correction=False, recency_half_life=8": ("text", {"recent_launch_correction": False,
                                                                      "recency_half_life": 8}),
    "LaunchCurveModel(recent_launch_correction=False) (no text)": ("curve", {"recent_launch_correction": False}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    args = parser.parse_args()

    import torch

    from darts_llm.models import LaunchCurveModel, TextAnalogModel

    torch.set_num_threads(1)
    started = time.perf_counter()
    panel = load_panel(args.data, censored_weeks=ESTABLISHED_WEEKS, shuffle_seed=0)
    after = panel.times[ESTABLISHED_WEEKS - 1]
    forecasts = {name: {k: [] for k in HISTORY_KS} for name in VARIANTS}
    actual = {k: [] for k in HISTORY_KS}
    texts = panel.texts["real"]
    for origin in VALIDATION_ORIGINS:
        tests = {k: t for k in HISTORY_KS if len(t := new_products(panel, origin, k))}
        for k, t in tests.items():
            actual[k].append(panel.values[t, origin : origin + HORIZON])
        cut = cut_series(panel, texts, origin)
        for name, (kind, kwargs) in VARIANTS.items():
            model = (LaunchCurveModel(launches_after=after, **kwargs) if kind == "curve"
                     else TextAnalogModel(text_cols="description", launches_after=after, **kwargs))
            for k, f in launch_model_forecasts(model, panel, texts, cut, origin, tests).items():
                forecasts[name][k].append(f)
        print(f"origin {panel.times[origin].date()} done ({time.perf_counter() - started:.0f} s)", flush=True)
    rows = []
    for name in VARIANTS:
        row = {"TextAnalogModel setting": name}
        for k in HISTORY_KS:
            row[f"{k} wk"] = f"{pooled_wape(np.concatenate(actual[k]), np.concatenate(forecasts[name][k])):.1f}"
        rows.append(row)
    markdown = (
        "## TextAnalogModel settings on the validation origins (`benchmarks/analog_settings.py`)\n\n"
        f"WAPE % of new products by weeks of sales history, pooled over the {len(VALIDATION_ORIGINS)} validation "
        f"origins of `benchmarks/cold_start.py --validation` ({panel.times[VALIDATION_ORIGINS[0]].date()} .. "
        f"{panel.times[VALIDATION_ORIGINS[-1]].date()}); deterministic models, one run each. {machine()}. Wall time "
        f"{time.perf_counter() - started:.0f} s.\n\n" + table(rows) + "\n"
    )
    print(markdown)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "analog_settings.md").write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
