"""Cold-start benchmark on Online Retail: forecasting new products from 0, 1, 2 or 4 weeks of sales history.

Usage::

    python benchmarks/cold_start.py [--data PATH] [--seeds 3] [--tide-seeds 3] [--quick]

Protocol (no look-ahead): for each forecast origin T (every other week, July-October 2011), the test products are
those first sold exactly ``k`` weeks before T (``k`` in 0, 1, 2, 4); every method sees their first ``k`` weeks
and forecasts the 8 weeks from T. Methods learn from *earlier launches* only: products first sold at least
8 weeks into the data whose first ``4 + 8`` weeks all lie before T. Text-neighbour features come from
:class:`darts_llm.neighbours.TextNeighbours` fitted on the panel cut at T. WAPE is pooled over products, weeks
and origins.

TextTiDEModel rows: one network per origin, trained on the panel cut at T (every product's weeks before T, with
``log1p`` target through Darts' ``InvertibleMapper``), with ``min_input_chunk_length=1`` and history dropout, so
its training samples include launch windows with 0..8 observed weeks. Static covariates: the description, the log
price and a flag for products already on sale in the first 8 weeks of the data (their early windows are not
launches). Future covariates: the text-neighbour demand of :func:`neighbour_features` (the LightGBM's text
features), lagged by 8 weeks so that a forecast from T only sees sales before T. It forecasts each test product
from its ``k`` observed weeks (``predict``; ``predict_new_products`` for ``k = 0``). Its twins: one constant
description for every product and no neighbour covariates (the same network without any text), and shuffled
descriptions with the neighbours of the shuffled descriptions (the control).
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


# ------------------------------------------------------------------------------------------ TextTiDEModel
TIDE_VARIANTS = ("text", "constant text", "shuffled text")
CONSTANT_TEXT = "product"


def demand_future_covariates(demand, index, origin):
    """Demand covariates (steps ``0 .. origin - 1``) lagged by ``HORIZON`` weeks, as a future covariate series on
    weeks ``0 .. origin + HORIZON - 1``: the value at week ``t`` uses sales before ``t - HORIZON + 1`` only, so
    forecasts from ``origin`` never see sales at or after ``origin``."""
    from darts import TimeSeries

    lagged = np.concatenate([np.repeat(demand[:1], HORIZON, axis=0), demand], axis=0)
    return TimeSeries.from_times_and_values(index[: origin + HORIZON], lagged,
                                            columns=["nbr_level", "nbr_growth", "nbr_similarity"])


def tide_forecasts(series, texts, shuffled_texts, prices, launch, index, origin, tests, seeds, epochs,
                   n_established, demand=None, log=print, **model_kwargs):
    """TextTiDEModel forecasts of the test products at ``origin``: {variant: {k: [array (products, HORIZON)
    per seed]}}.

    Trained on every product's weeks before ``origin`` (launches all, established products subsampled to
    ``n_established`` for speed), log1p target, ``min_input_chunk_length=1``, history dropout 0.2. ``demand``:
    per variant, the text-neighbour demand (products, origin, 3) of :func:`neighbour_features`, given to the
    network lagged by ``HORIZON`` as future covariates; variants without an entry get no covariates.
    """
    import pandas as pd
    import torch
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm.models import TextTiDEModel

    origin_time = index[origin]
    mapper = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    rng = np.random.default_rng(origin)
    known = [i for i, s in enumerate(series) if s.start_time() < origin_time and origin - launch[i] >= 1 + HORIZON]
    established = [i for i in known if launch[i] < 8]
    if n_established is not None and len(established) > n_established:
        established = set(rng.choice(established, n_established, replace=False).tolist())
    train_ids = [i for i in known if launch[i] >= 8 or i in established]
    history = {k: series_k for k, series_k in ((k, [series[p].drop_after(origin_time) for p in test])
                                                 for k, test in tests.items() if k and len(test))}

    def static(i, variant_texts):
        text = CONSTANT_TEXT if variant_texts is None else variant_texts[i]
        return pd.DataFrame({"description": [text], "log_price": [float(np.log(prices[i] + 1e-3))],
                             "established": [float(launch[i] < 8)]})

    out = {}
    for variant, variant_texts in zip(TIDE_VARIANTS, (texts, None, shuffled_texts)):
        train = [mapper.transform(series[i].drop_after(origin_time).with_static_covariates(static(i, variant_texts)))
                 for i in train_ids]
        covariates = None
        table = None if demand is None else demand.get(variant)
        if table is not None:
            covariates = {i: demand_future_covariates(table[i], index, origin)
                          for i in [*train_ids, *(p for test in tests.values() for p in test)]}

        def covs(ids, covariates=covariates):
            return None if covariates is None else [covariates[i] for i in ids]

        runs = {k: [] for k in tests}
        for seed in seeds:
            started = time.perf_counter()
            params = dict(
                input_chunk_length=8, output_chunk_length=HORIZON, min_input_chunk_length=1, short_history_prob=0.2,
                hidden_size=64, decoder_output_dim=8, temporal_decoder_hidden=16, dropout=0.1, text_dim=4,
                text_dropout=0.3, loss_fn=torch.nn.L1Loss(), optimizer_kwargs={"lr": 3e-3}, batch_size=256,
                n_epochs=epochs, random_state=seed,
                pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                                   "enable_model_summary": False, "logger": False},
            )
            model = TextTiDEModel(**{**params, **model_kwargs})
            model.fit(train, future_covariates=covs(train_ids))
            for k, test in tests.items():
                if not len(test):
                    continue
                if k == 0:
                    frame = pd.concat([static(p, variant_texts) for p in test], ignore_index=True)
                    fc = model.predict_new_products(frame, start=origin_time, n=HORIZON,
                                                    future_covariates=covs(test))
                else:
                    short = [mapper.transform(h.with_static_covariates(static(p, variant_texts)))
                             for p, h in zip(test, history[k])]
                    fc = model.predict(HORIZON, series=short, future_covariates=covs(test))
                runs[k].append(np.stack([mapper.inverse_transform(f).values()[:, 0] for f in fc]))
            log(f"  TextTiDE ({variant}, seed {seed}): {len(train)} series, "
                f"{time.perf_counter() - started:.0f} s")
        out[variant] = {k: v for k, v in runs.items() if v}
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
    parser.add_argument("--quick", action="store_true", help="two origins, one seed, fewer TextTiDE epochs")
    parser.add_argument("--tide-seeds", type=int, default=None,
                        help="TextTiDE seeds per variant (default 3; 1 with --quick; 0: no TextTiDE)")
    parser.add_argument("--tide-epochs", type=int, default=None, help="TextTiDE epochs (default 6; 4 with --quick)")
    parser.add_argument("--tide-established", type=int, default=1000,
                        help="established products (on sale in the first 8 weeks) sampled into TextTiDE's training")
    args = parser.parse_args()
    if args.tide_seeds is None:
        args.tide_seeds = 1 if args.quick else 3
    if args.tide_epochs is None:
        args.tide_epochs = 4 if args.quick else 6

    import lightgbm as lgb
    import pandas as pd
    import torch

    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are >10x slower (spin-waiting)

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
        demand = {}
        for variant, variant_texts in (("no text", None), ("text neighbours", texts), ("shuffled text", shuffled_texts)):
            nbr = None
            if variant_texts is not None:
                nbr = neighbour_features(series, variant_texts, index, origin, args.neighbours, encoder)
                demand["text" if variant_texts is texts else "shuffled text"] = nbr

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
        # ---- TextTiDEModel with the text, a constant text and shuffled texts
        if args.tide_seeds:
            tide = tide_forecasts(
                series, texts, shuffled_texts, prices, launch, index, origin, tests, range(args.tide_seeds),
                args.tide_epochs, args.tide_established, demand=demand, log=lambda m: print(m, flush=True),
            )
            for variant, per_k in tide.items():
                for k, runs in per_k.items():
                    for fc in runs:
                        record(f"TextTiDE, {variant}", k, values[tests[k], origin : origin + HORIZON], fc)
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
    with_text = ("LightGBM on launches, text neighbours", "TextTiDE, text")
    text_methods = [r for r in rows if r["method"] in with_text]
    plain = [r for r in rows if "text" not in r["method"] or "type word" in r["method"]
             or r["method"] == "TextTiDE, constant text"]
    by_method = {r["method"]: r for r in rows}
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
        tide_text, tide_twin = by_method.get("TextTiDE, text"), by_method.get("TextTiDE, constant text")
        if tide_text and tide_twin and isinstance(tide_text[col], float):
            lift_rows[-1]["TextTiDE: text vs constant-text twin"] = f"{100 * (1 - tide_text[col] / tide_twin[col]):.1f}%"
    markdown = (
        "## Cold start on Online Retail (`benchmarks/cold_start.py`)\n\n"
        f"New products forecast 8 weeks ahead from 0, 1, 2 or 4 weeks of their own sales, at {len(origins)} weekly "
        f"origins ({index[origins[0]].date()} .. {index[origins[-1]].date()}); learning from earlier launches only. "
        f"WAPE pooled over products, weeks and origins (lower is better); LightGBM rows are the mean of "
        f"{len(seeds)} seed(s)"
        + (f", TextTiDE rows of {args.tide_seeds} seed(s) ({args.tide_epochs} epochs; TextTiDE learns from every "
           f"product's weeks before the origin, see the script's docstring)" if args.tide_seeds else "")
        + f". {machine()}. Wall time {time.perf_counter() - started:.0f} s.\n\n"
        + table(rows)
        + "\n\nBest method with text against the best without text:\n\n"
        + table(lift_rows)
        + "\n"
    )
    print(markdown)
    if args.quick:  # a quick run is a smoke test: its table goes to results/ only, not into the README
        from report import RESULTS

        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cold_start_quick.md").write_text(markdown)
    else:
        write_section("cold_start", markdown)


if __name__ == "__main__":
    sys.exit(main())
