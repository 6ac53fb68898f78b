"""Cold-start benchmark on Online Retail: forecasting new products from 0, 1, 2 or 4 weeks of sales history.

Usage::

    python benchmarks/cold_start.py [--data PATH] [--seeds 3] [--quick]

Protocol (no look-ahead): for each forecast origin T (weekly, September-October 2011), the test products are
those first sold exactly ``k`` weeks before T (``k`` in 0, 1, 2, 4); every method sees their first ``k`` weeks
and forecasts the 8 weeks from T. Methods learn from *earlier launches* only: products first sold at least
8 weeks into the data whose first ``4 + 8`` weeks all lie before T. Text-neighbour features come from
:class:`darts_llm.neighbours.TextNeighbours` fitted on the panel cut at T. WAPE is pooled over products, weeks
and origins.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from report import machine, table, write_section

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/online_retail/online_retail.csv.gz"
HORIZON, MAX_K, HISTORY_KS = 8, 4, (0, 1, 2, 4)


def panel_matrix(series):
    """Values on the common weekly axis (NaN before a product's first sale), launch positions, texts, prices."""
    index = series[0].time_index
    for s in series[1:]:
        index = index.union(s.time_index)
    values = np.full((len(series), len(index)), np.nan, dtype=np.float64)
    for i, s in enumerate(series):
        values[i, index.get_indexer(s.time_index)] = s.univariate_values()
    launch = np.array([index.get_loc(s.start_time()) for s in series])
    texts = [s.static_covariates["description"].iloc[0] for s in series]
    prices = np.array([float(s.static_covariates["price"].iloc[0]) for s in series])
    return index, values, launch, texts, prices


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.abs(actual - forecast).sum() / max(np.abs(actual).sum(), 1e-12))


# ------------------------------------------------------------------------------------------ methods without text
def launch_curves(values, launch, products):
    """First ``MAX_K + HORIZON`` weeks after launch of ``products``."""
    return np.stack([values[p, launch[p] : launch[p] + MAX_K + HORIZON] for p in products])


def curve_forecast(curves, k, observed):
    """Geometric-mean launch curve, rescaled to the observed weeks when there are any."""
    log_curve = np.log1p(curves).mean(0)
    base = log_curve[k : k + HORIZON]
    if k == 0:
        return np.tile(np.expm1(base), (len(observed), 1))
    shift = np.log1p(observed).mean(1) - log_curve[:k].mean()
    return np.expm1(base[None] + shift[:, None])


def first_word(text: str) -> str:
    words = text.split()
    return words[-1] if words else ""


# ------------------------------------------------------------------------------------------ direct LightGBM
def features(values, prices, woy, product, k, origin, neighbour_row=None):
    """One row per horizon step: k, step, log price, week of year, observed log sales (NaN-padded), neighbours."""
    observed = np.full(MAX_K, np.nan)
    if k:
        observed[MAX_K - k :] = np.log1p(values[product, origin - k : origin])
    common = [k, np.log(prices[product] + 1e-3), np.nanmean(observed) if k else np.nan, *observed]
    extra = [] if neighbour_row is None else list(neighbour_row)
    return [[*common, step, woy[(origin + step) % len(woy)], *extra] for step in range(HORIZON)]


def neighbour_features(series, texts, index, origin, k_neighbours, encoder) -> np.ndarray:
    """Text-neighbour demand of every product at every step before ``origin``: array (products, origin, 3).

    Row ``p``, column ``t`` holds the covariates at step ``t`` (using sales up to ``t`` only) of the products
    whose descriptions are nearest to product ``p``'s, among the products on sale before ``origin``.
    """
    import pandas as pd
    from darts import TimeSeries

    from darts_llm.neighbours import TextNeighbours

    origin_time = index[origin]
    known = [i for i, s in enumerate(series) if s.start_time() < origin_time]
    cut = [_with_text(series[i].drop_after(origin_time), texts[i]) for i in known]
    nbrs = TextNeighbours(encoder=encoder).fit(cut)
    out = np.zeros((len(series), origin, 3), dtype=np.float32)
    for i, cov in zip(known, nbrs.demand_covariates(cut, k=k_neighbours, exclude_self=True)):
        out[i] = cov.values()[-origin:]
    new = [i for i in range(len(series)) if i not in set(known)]
    probes = [
        TimeSeries.from_times_and_values(index[origin - 1 : origin], np.array([np.nan], dtype=np.float32))
        .with_static_covariates(pd.DataFrame({"description": [texts[i]]}))
        for i in new
    ]
    for i, cov in zip(new, nbrs.demand_covariates(probes, k=k_neighbours) if probes else []):
        out[i] = cov.values()[-origin:]
    return out


def _with_text(s, text):
    static = s.static_covariates.copy()
    static["description"] = text
    return s.with_static_covariates(static)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("DARTS_LLM_ONLINE_RETAIL", DEFAULT_DATA)))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--neighbours", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="two origins, one seed")
    args = parser.parse_args()

    import lightgbm as lgb
    import pandas as pd

    from darts_llm import get_encoder
    from darts_llm.datasets import load_online_retail

    started = time.perf_counter()
    series = load_online_retail(args.data, freq="W")
    index, values, launch, texts, prices = panel_matrix(series)
    woy = index.isocalendar().week.to_numpy().astype(int)
    encoder = get_encoder()
    origins = [37, 41] if args.quick else [33, 35, 37, 39, 41, 43, 45]
    seeds = range(1 if args.quick else args.seeds)
    rng = np.random.default_rng(0)
    shuffled_texts = [texts[i] for i in rng.permutation(len(texts))]

    results: dict[tuple[str, int], list] = {}

    def record(method, k, actual, forecast):
        results.setdefault((method, k), []).append((actual, np.maximum(forecast, 0)))

    for origin in origins:
        origin_time = index[origin]
        train = np.where((launch >= 8) & (launch + MAX_K + HORIZON <= origin))[0]
        curves = launch_curves(values, launch, train)
        tests = {k: np.where((launch == origin - k) & (launch >= 8))[0] for k in HISTORY_KS}
        # ---- methods without text
        for k, test in tests.items():
            if not len(test):
                continue
            actual = values[test, origin : origin + HORIZON]
            observed = values[test, origin - k : origin] if k else np.zeros((len(test), 0))
            record("mean launch curve (all products)", k, actual, curve_forecast(curves, k, observed))
            words = [first_word(texts[p]) for p in train]
            fc = []
            for row, p in enumerate(test):
                same = [i for i, w in enumerate(words) if w == first_word(texts[p])]
                pool = curves[same] if len(same) >= 3 else curves
                fc.append(curve_forecast(pool, k, observed[row : row + 1])[0])
            record("mean launch curve (same product type word)", k, actual, np.stack(fc))
            if k:
                record("last observed value", k, actual, np.repeat(observed[:, -1:], HORIZON, 1))
                record("mean of observed weeks", k, actual, np.repeat(observed.mean(1, keepdims=True), HORIZON, 1))
        # ---- direct LightGBM on earlier launches, with and without text neighbours
        for variant, variant_texts in (("no text", None), ("text neighbours", texts), ("shuffled text", shuffled_texts)):
            nbr = None
            if variant_texts is not None:
                nbr = neighbour_features(series, variant_texts, index, origin, args.neighbours, encoder)

            def nbr_row(p, t, nbr=nbr):
                return nbr[p, t - 1]

            X, y = [], []
            for p in train:
                for k in range(MAX_K + 1):
                    t = launch[p] + k
                    X += features(values, prices, woy, p, k, t, nbr_row(p, t) if variant_texts else None)
                    y += list(values[p, t : t + HORIZON])
            X, y = np.asarray(X), np.asarray(y)
            for seed in seeds:
                model = lgb.LGBMRegressor(
                    objective="l1", n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=20,
                    subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed, verbose=-1,
                ).fit(X, y)
                for k, test in tests.items():
                    if not len(test):
                        continue
                    rows = [r for p in test for r in features(
                        values, prices, woy, p, k, origin, nbr_row(p, origin) if variant_texts else None)]
                    fc = model.predict(np.asarray(rows)).reshape(len(test), HORIZON)
                    record(f"LightGBM on launches, {variant}", k, values[test, origin : origin + HORIZON], fc)
        print(f"origin {index[origin].date()} done ({time.perf_counter() - started:.0f} s)", flush=True)

    rows = []
    methods = list(dict.fromkeys(m for m, _ in results))
    for method in methods:
        row = {"method": method}
        for k in HISTORY_KS:
            runs = results.get((method, k))
            if not runs:
                row[f"{k} wk"] = "n/a"
                continue
            actual = np.concatenate([a for a, _ in runs])
            forecast = np.concatenate([f for _, f in runs])
            row[f"{k} wk"] = wape(actual, forecast)
        rows.append(row)
    counts = {k: sum(len(np.where((launch == o - k) & (launch >= 8))[0]) for o in origins) for k in HISTORY_KS}
    text_methods = [r for r in rows if "text neighbours" in r["method"]]
    plain = [r for r in rows if "text" not in r["method"] or "type word" in r["method"]]
    lift_rows = []
    for k in HISTORY_KS:
        col = f"{k} wk"
        best_plain = min((r for r in plain if isinstance(r[col], float)), key=lambda r: r[col])
        best_text = min((r for r in text_methods if isinstance(r[col], float)), key=lambda r: r[col])
        lift_rows.append({
            "weeks of history": k, "products x origins": counts[k],
            "best without text": f"{best_plain['method']} ({best_plain[col]:.3f})",
            "best with text": f"{best_text['method']} ({best_text[col]:.3f})",
            "WAPE lift": f"{100 * (1 - best_text[col] / best_plain[col]):.1f}%",
        })
    markdown = (
        "## Cold start on Online Retail (`benchmarks/cold_start.py`)\n\n"
        f"New products forecast 8 weeks ahead from 0, 1, 2 or 4 weeks of their own sales, at {len(origins)} weekly "
        f"origins ({index[origins[0]].date()} .. {index[origins[-1]].date()}); learning from earlier launches only. "
        f"WAPE pooled over products, weeks and origins (lower is better); LightGBM rows are the mean of "
        f"{len(seeds)} seed(s). {machine()}. Wall time {time.perf_counter() - started:.0f} s.\n\n"
        + table(rows)
        + "\n\nBest method with text against the best without text:\n\n"
        + table(lift_rows)
        + "\n"
    )
    print(markdown)
    write_section("cold_start" + ("_quick" if args.quick else ""), markdown)


if __name__ == "__main__":
    sys.exit(main())
