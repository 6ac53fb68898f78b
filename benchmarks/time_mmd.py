"""Time-MMD: does report text, as past covariates, help LightGBM forecast? With a shuffled-text control.

For each Time-MMD domain found under the root (the five in ``../shared``: Agriculture, Climate, Economy,
Energy, Traffic; or the ten of the full release; what the loader fixes in a domain, it logs):

- target ``OT`` from the first report on (before it there is no text to use), native frequency;
- the last 20% of the series is the test period: one ``LightGBMModel`` is fitted on the first 80% and
  ``historical_forecasts`` makes a forecast from every test origin (rolling origin, stride 1, no refit), horizon 3
  months for monthly domains and 4 weeks for weekly ones;
- LightGBM forecasts first differences, integrated back to levels (on levels, trees cannot leave the training
  range and lose to the last value everywhere); every metric is computed on the levels;
- the same model (same lags, seed and hyperparameters) without covariates, with the report text as past
  covariates (:class:`darts_llm.dataprocessing.TextEventsEmbedder`: MiniLM embeddings, PCA to 8 numbers fitted on
  the training texts, report count, steps since the last report; half-life 2 steps), and with the same texts
  *shuffled* (randomly permuted among the reports of the training period and, separately, of the test period, so
  timestamps, counts and the fitted texts are unchanged and only the link between content and time is broken);
- a report dated ``[start, end]`` is visible from the first step whose label is >= ``end`` (labels are period
  starts here, so from the next step), and LightGBM reads text covariates at lags 1-3: no look-ahead;
- metrics (mean over forecasts): MAE, sMAPE (%), MASE (scaled by the in-sample one-step naive error up to each
  origin); the last-value forecast is given for reference.

Every setting was fixed before the first run; nothing was tuned on the test periods.

Run::

    python benchmarks/time_mmd.py [--root /path/to/time_mmd] [--quick]

It prints a markdown table and writes ``benchmarks/results/time_mmd.md``. About 3-5 minutes on 2 CPU cores
(most of it encoding ~2,600 reports with MiniLM once; the embedding cache serves the shuffled runs).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from darts import TimeSeries  # noqa: E402
from darts.metrics import mae, mase, smape  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.report import machine, table  # noqa: E402

from darts_llm.dataprocessing import TextEvents, TextEventsEmbedder  # noqa: E402
from darts_llm.datasets.time_mmd import TIME_MMD_DOMAINS, load_time_mmd  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "time_mmd.md"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "time_mmd"

TEST_FRACTION = 0.2
#: horizon and target lags by frequency: a quarter ahead for monthly series, a month ahead for weekly ones,
#: a week ahead for daily ones (Environment)
SETTINGS = {"monthly": {"horizon": 3, "lags": 12}, "weekly": {"horizon": 4, "lags": 13},
            "daily": {"horizon": 7, "lags": 14}}
#: fewest test origins a domain needs to be scored; fewer, and it is listed as skipped with the reason
MIN_FORECASTS = 10
TEXT = {"n_components": 8, "decay": 2.0, "max_steps_since": 12}
COVARIATE_LAGS = 3
SEED = 0
SHUFFLES = (0, 1, 2)


def kind(series: TimeSeries) -> str:
    if series.freq_str.startswith("W"):
        return "weekly"
    return "daily" if series.freq_str == "D" else "monthly"


def make_model(horizon: int, lags: int, with_text: bool):
    from darts.models import LightGBMModel

    return LightGBMModel(
        lags=lags,
        lags_past_covariates=COVARIATE_LAGS if with_text else None,
        output_chunk_length=horizon,
        random_state=SEED,
        n_estimators=200,
        learning_rate=0.05,
        min_child_samples=5,
        num_threads=2,
        verbose=-1,
    )


def evaluate(series: TimeSeries, forecasts: list[TimeSeries]) -> dict[str, float]:
    """Mean MAE, sMAPE and MASE over the forecasts (MASE scaled on the series up to each origin)."""
    out = {"MAE": [], "sMAPE": [], "MASE": []}
    for fc in forecasts:
        actual = series.slice_intersect(fc)
        insample = series.drop_after(fc.start_time())
        out["MAE"].append(mae(actual, fc))
        out["sMAPE"].append(smape(actual, fc))
        out["MASE"].append(mase(actual, fc, insample=insample, m=1))
    # a forecast whose score is not finite (e.g. a flat in-sample stretch: MASE divides by 0) is left out
    return {k: float(np.nanmean(np.where(np.isfinite(v), v, np.nan))) for k, v in out.items()}


def naive_forecasts(series: TimeSeries, start: int, horizon: int) -> list[TimeSeries]:
    """Last-value forecasts from every origin whose horizon fits in the series."""
    values = series.values()[:, 0]
    out = []
    for origin in range(start, len(series) - horizon + 1):
        fc = np.full(horizon, values[origin - 1], dtype=values.dtype)
        out.append(TimeSeries.from_times_and_values(series.time_index[origin : origin + horizon], fc))
    return out


def to_levels(series: TimeSeries, diff_forecast: TimeSeries) -> TimeSeries:
    """Integrate a forecast of first differences from the last observed level before it."""
    last = series.drop_after(diff_forecast.start_time()).values()[-1, 0]
    levels = last + np.cumsum(diff_forecast.values()[:, 0])
    return TimeSeries.from_times_and_values(diff_forecast.time_index, levels.astype(series.dtype))


def backtest(series, train, horizon, lags, start, past_train=None, past_full=None) -> dict[str, float]:
    """Fit on the training differences, forecast differences from every test origin, score the levels."""
    model = make_model(horizon, lags, with_text=past_train is not None)
    model.fit(train.diff(), past_covariates=past_train)
    forecasts = model.historical_forecasts(
        series.diff(),
        past_covariates=past_full,
        start=series.time_index[start],
        forecast_horizon=horizon,
        stride=1,
        retrain=False,
        last_points_only=False,
        verbose=False,
    )
    return evaluate(series, [to_levels(series, fc) for fc in forecasts])


def text_covariates(events: pd.DataFrame, train: TimeSeries, series: TimeSeries):
    reports = TextEvents(events, text_col="text", start_col="start", end_col="end")
    embedder = TextEventsEmbedder(reports, **TEXT).fit(train)  # default encoder: all-MiniLM-L6-v2
    return embedder.past_covariates(train), embedder.past_covariates(series)


def shuffle_texts(events: pd.DataFrame, train_end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Permute the texts among the training-period reports and, separately, among the test-period ones."""
    rng = np.random.default_rng(seed)
    out = events.copy()
    texts = out["text"].to_numpy(dtype=object).copy()
    for mask in (out["end"] <= train_end, out["end"] > train_end):
        idx = np.flatnonzero(mask.to_numpy())
        texts[idx] = texts[rng.permutation(idx)]
    out["text"] = texts
    return out


def run_domain(domain: str, root: Path, shuffles) -> dict:
    t0 = time.perf_counter()
    full, events = load_time_mmd(domain, root=root, text="report")  # logs what it had to fix
    events = events[events["end"] >= full.start_time()]
    if events.empty:
        return {"domain": domain, "skipped": f"no report overlaps the target ({full.start_time():%Y-%m}.."
                f"{full.end_time():%Y-%m})", "seconds": time.perf_counter() - t0}
    series = full[int(full.time_index.searchsorted(events["start"].min())) :]  # from the first report on
    setting = SETTINGS[kind(series)]
    horizon, lags = setting["horizon"], setting["lags"]
    n_test = int(round(TEST_FRACTION * len(series)))
    start = len(series) - n_test
    train = series[:start]
    if n_test - horizon + 1 < MIN_FORECASTS or len(train) < 3 * lags:
        return {"domain": domain, "skipped": f"too short from the first report on ({len(series)} steps, "
                f"{series.start_time():%Y-%m}..{series.end_time():%Y-%m})", "seconds": time.perf_counter() - t0}

    results = {"naive": evaluate(series, naive_forecasts(series, start, horizon))}
    results["no text"] = backtest(series, train, horizon, lags, start)
    past_train, past_full = text_covariates(events, train, series)
    results["text"] = backtest(series, train, horizon, lags, start, past_train, past_full)
    shuffled = []
    for seed in shuffles:
        s_train, s_full = text_covariates(shuffle_texts(events, train.end_time(), seed), train, series)
        shuffled.append(backtest(series, train, horizon, lags, start, s_train, s_full))
    results["shuffled"] = {k: float(np.mean([r[k] for r in shuffled])) for k in shuffled[0]}
    results["shuffled_sd"] = {k: float(np.std([r[k] for r in shuffled])) for k in shuffled[0]}
    return {
        "domain": domain,
        "freq": series.freq_str,
        "span": f"{series.start_time():%Y-%m}..{series.end_time():%Y-%m}",
        "train": len(train),
        "test": n_test,
        "horizon": horizon,
        "forecasts": n_test - horizon + 1,
        "reports": len(events),
        "results": results,
        "seconds": time.perf_counter() - t0,
    }


def verdict(r: dict) -> str:
    """Plain words for the text-vs-no-text change, judged against the spread of the shuffled-text runs."""
    res = r["results"]
    base, text, shuf, naive = (res[k]["MASE"] for k in ("no text", "text", "shuffled", "naive"))
    sd = max(res["shuffled_sd"]["MASE"], 1e-3)
    change = 100 * (text / base - 1)
    gap = (shuf - text) / sd  # how many shuffled-run standard deviations the real text beats shuffled text by
    note = "; LightGBM loses to the last value here" if min(base, text) > naive else ""
    if change <= -2 and gap >= 2:
        words = f"text helps ({change:+.1f}% MASE), {gap:.1f} sd better than shuffled text"
    elif change <= -2:
        words = f"lower MASE ({change:+.1f}%), but within {max(gap, 0):.1f} sd of shuffled text: weak evidence"
    elif change >= 2:
        words = f"text hurts ({change:+.1f}% MASE)"
    else:
        words = f"no clear effect ({change:+.1f}% MASE)"
    return words + note


def render(rows: list[dict], elapsed: float) -> str:
    lines = [
        "## Time-MMD: report text as past covariates for LightGBM (`benchmarks/time_mmd.py`)",
        "",
        "Target `OT` from the first report on, native frequency; the last 20% is the test period. One "
        "`LightGBMModel` on first differences, integrated back to levels (target lags 12 monthly / 13 weekly, 200 trees, "
        "learning rate 0.05, min_child_samples 5, seed 0) is fitted on the first 80% and forecasts from every test origin (`historical_forecasts`, stride 1, no refit), horizon 3 "
        "months / 4 weeks. *text*: the same model plus past covariates from `TextEventsEmbedder` (all-MiniLM-L6-v2, "
        "PCA to 8 fitted on the training reports, report count, steps since the last report, half-life 2 steps; "
        "lags 1-3). A report about `[start, end]` is visible from the first step whose label is >= `end`. "
        "*shuffled*: the same pipeline with report texts permuted within the training period and within the test "
        "period (mean of 3 permutations, ± their standard deviation). *naive*: last value. Lower is better; "
        "MASE is scaled by the in-sample one-step naive error.",
        "",
        f"{machine()}; total {elapsed / 60:.1f} min.",
        "",
    ]
    skipped = [r for r in rows if "skipped" in r]
    rows = [r for r in rows if "skipped" not in r]
    header = ["domain", "freq", "train/test", "h", "forecasts", "model", "MAE", "sMAPE %", "MASE"]
    body = []
    for r in rows:
        for name in ("naive", "no text", "text", "shuffled"):
            m = r["results"][name]
            row = {
                "domain": r["domain"] if name == "naive" else "",
                "freq": r["freq"] if name == "naive" else "",
                "train/test": f"{r['train']}/{r['test']}" if name == "naive" else "",
                "h": r["horizon"] if name == "naive" else "",
                "forecasts": r["forecasts"] if name == "naive" else "",
                "model": name,
                "MAE": m["MAE"],
                "sMAPE %": m["sMAPE"],
                "MASE": m["MASE"],
            }
            if name == "shuffled":
                sd = r["results"]["shuffled_sd"]
                row["MASE"] = f"{m['MASE']:.3g} ± {sd['MASE']:.2g}"
            body.append(row)
    lines.append(table(body, header))
    lines += ["", "| domain | text vs no text (MASE) | verdict |", "|---|---|---|"]
    for r in rows:
        base, text = r["results"]["no text"]["MASE"], r["results"]["text"]["MASE"]
        lines.append(f"| {r['domain']} | {100 * (text / base - 1):+.1f}% | {verdict(r)} |")
    lines += ["", *[f"Skipped {r['domain']}: {r['skipped']}." for r in skipped]] if skipped else []
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.environ.get("DARTS_LLM_TIME_MMD", str(DEFAULT_ROOT)),
                        help="Time-MMD folder with numerical/ and textual/ (default: $DARTS_LLM_TIME_MMD or "
                             "../shared/data/time_mmd)")
    parser.add_argument("--domains", nargs="*", default=None,
                        help="default: every domain folder under ROOT/numerical")
    parser.add_argument("--quick", action="store_true", help="one shuffle instead of three")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    logging.getLogger("darts").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    t0 = time.perf_counter()
    rows = []
    numerical = Path(args.root) / "numerical"
    found = sorted(p.name for p in numerical.iterdir() if p.is_dir()) if numerical.is_dir() else []
    for domain in args.domains or found or list(TIME_MMD_DOMAINS):
        row = run_domain(domain, Path(args.root), SHUFFLES[:1] if args.quick else SHUFFLES)
        rows.append(row)
        if "skipped" in row:
            print(f"{domain}: skipped: {row['skipped']}", flush=True)
            continue
        print(f"{domain}: {row['seconds']:.0f}s  " + "  ".join(
            f"{k} MASE {v['MASE']:.3f}" for k, v in row["results"].items() if k != "shuffled_sd"), flush=True)
    markdown = render(rows, time.perf_counter() - t0)
    print()
    print(markdown)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
