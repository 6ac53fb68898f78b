"""Cold-start benchmark on Online Retail: forecasting new products from 0, 1, 2 or 4 weeks of sales history.

Usage::

    python benchmarks/cold_start.py [--data PATH] [--seeds 3] [--tide-seeds 3] [--quick]

Protocol (no look-ahead): for each forecast origin T (every other week, July-October 2011), the test products are
those first sold exactly ``k`` weeks before T (``k`` in 0, 1, 2, 4); every method sees their first ``k`` weeks
and forecasts the 8 weeks from T. Methods learn from *earlier launches* only: products first sold at least
8 weeks into the data whose first ``4 + 8`` weeks all lie before T. WAPE is pooled over products, weeks and
origins (``darts_llm.evaluation.pooled_wape``), mean ± std over seeds.

LightGBM rows: Darts' ``LightGBMModel`` (L1 objective, one model per horizon step) trained on each earlier launch's
first weeks: units left-padded with 4 zero weeks before the launch (lags 1-4, so the samples are the launch
windows with 0..4 observed weeks), future covariates ``launched`` / ``log1p(age)`` and the week of the
year (Darts' ``datetime_attribute`` encoder) over the 8 forecast weeks, static covariate ``log1p(price)``; with
text, the text-neighbour demand (what the 30 products with the most similar descriptions sold, from
``TextNeighbours`` fitted on the panel cut at T) as past covariates (lag 1).

TextTiDEModel rows: one network per origin, trained on the panel cut at T (every product's weeks before T, with
``log1p`` target through Darts' ``InvertibleMapper``), with ``min_input_chunk_length=1`` and history dropout, so
its training samples include launch windows with 0..8 observed weeks. Static covariates: the description, the log
price and a flag for products already on sale in the first 8 weeks of the data (their early windows are not
launches). Future covariates: the same text-neighbour demand, lagged by 8 weeks so that a forecast from T only
sees sales before T. It forecasts each test product from its ``k`` observed weeks (``predict``;
``predict_new_products`` for ``k = 0``). Its twins: one constant description for every product and no neighbour
covariates (the same network without any text), and shuffled descriptions with the neighbours of the shuffled
descriptions (the control).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

from harness.cohorts import earlier_launches, new_products
from harness.covariates import launch_age, padded_target, neighbour_demand, static_frame, with_text
from harness.panels import Panel, add_data_argument, load_panel
from harness.report import (ROOT_README, best_of, lift_pct, machine, mean_std, readme_headline, replace_block, table,
                            write_section)

from darts_llm.evaluation import pooled_wape

warnings.filterwarnings("ignore")
HORIZON, MAX_K, HISTORY_KS = 8, 4, (0, 1, 2, 4)
LGBM_LOG = False  # LightGBM learns units (L1 on log1p units was worse with 1-2 weeks of history)
ESTABLISHED_WEEKS = 8  # products first sold in the first 8 weeks of the data: launch not observed
#: method -> whether it reads the descriptions, and which rows are text ablations (controls, never "best")
TEXT_METHODS = {
    "mean launch curve (all products)": False,
    "mean launch curve (same product type word)": True,
    "last observed value": False,
    "mean of observed weeks": False,
    "LightGBM on launches, no text": False,
    "LightGBM on launches, text neighbours": True,
    "LightGBM on launches, shuffled text": "ablation",
    "TextTiDE, text": True,
    "TextTiDE, constant text": False,
    "TextTiDE, shuffled text": "ablation",
}


# ------------------------------------------------------------------------------------------ methods without a model
def curve_forecast(curves: np.ndarray, k: int, observed: np.ndarray) -> np.ndarray:
    """Geometric-mean launch curve, rescaled to the observed weeks when there are any."""
    log_curve = np.log1p(curves).mean(0)
    base = log_curve[k : k + HORIZON]
    if k == 0:
        return np.tile(np.expm1(base), (len(observed), 1))
    shift = np.log1p(observed).mean(1) - log_curve[:k].mean()
    return np.expm1(base[None] + shift[:, None])


def type_word(text: str) -> str:
    """The product type of a description: its last word (``... CANDLE HOLDER`` -> ``HOLDER``)."""
    words = text.split()
    return words[-1] if words else ""


def simple_methods(panel: Panel, train: np.ndarray, k: int, test: np.ndarray, origin: int) -> dict[str, np.ndarray]:
    curves = np.stack([panel.values[p, panel.launch[p] : panel.launch[p] + MAX_K + HORIZON] for p in train])
    observed = panel.values[test, origin - k : origin] if k else np.zeros((len(test), 0))
    out = {"mean launch curve (all products)": curve_forecast(curves, k, observed)}
    words = np.array([type_word(panel.texts["real"][p]) for p in train])
    same_type = []
    for row, p in enumerate(test):
        same = words == type_word(panel.texts["real"][p])
        same_type.append(curve_forecast(curves[same] if same.sum() >= 3 else curves, k, observed[row : row + 1])[0])
    out["mean launch curve (same product type word)"] = np.stack(same_type)
    if k:
        out["last observed value"] = np.repeat(observed[:, -1:], HORIZON, 1)
        out["mean of observed weeks"] = np.repeat(observed.mean(1, keepdims=True), HORIZON, 1)
    return out


# ------------------------------------------------------------------------------------------ text-neighbour demand
def demand_at(panel: Panel, texts: list[str], origin: int, k_neighbours: int) -> dict[int, object]:
    """Text-neighbour demand covariates (weeks before ``origin``) of every product, from the panel cut there."""
    from darts import TimeSeries

    origin_time = panel.times[origin]
    known = [i for i, s in enumerate(panel.series) if s.start_time() < origin_time]
    cut = [with_text(panel.series[i].drop_after(origin_time), texts[i]) for i in known]
    later = [i for i in range(len(panel.series)) if panel.series[i].start_time() >= origin_time]
    probes = [with_text(TimeSeries.from_times_and_values(panel.times[origin - 1 : origin],
                                                         np.array([np.nan], dtype=np.float32)), texts[i])
              for i in later]
    own, new = neighbour_demand(cut, probes, k=k_neighbours, window=4)
    return {**dict(zip(known, own)), **dict(zip(later, new))}


# ------------------------------------------------------------------------------------------ LightGBM (Darts)
def lightgbm_forecasts(panel, train, tests, origin, demand, seeds) -> dict[int, list[np.ndarray]]:
    """Darts ``LightGBMModel`` forecasts of ``tests`` ({k: products}) per seed; ``demand``: past covariates."""
    from darts.models import LightGBMModel

    def inputs(products, end_of):
        series = [padded_target(panel, p, end_of(p), MAX_K, static_frame(panel, p, None), log=LGBM_LOG) for p in products]
        future = [launch_age(panel, p) for p in products]
        past = None if demand is None else [demand[p] for p in products]
        return series, past, future

    series, past, future = inputs(train, lambda p: panel.launch[p] + MAX_K + HORIZON)
    out = {k: [] for k in tests}
    for seed in seeds:
        model = LightGBMModel(
            lags=MAX_K, lags_past_covariates=[-1] if demand is not None else None,
            lags_future_covariates=list(range(HORIZON)), output_chunk_length=HORIZON,
            add_encoders={"datetime_attribute": {"future": ["weekofyear"]}},
            objective="l1", n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=20,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed, verbose=-1, num_threads=1,
        )
        model.fit(series, past_covariates=past, future_covariates=future)
        for k, test in tests.items():
            s, p, f = inputs(test, lambda _: origin)
            fc = model.predict(HORIZON, series=s, past_covariates=p, future_covariates=f, show_warnings=False)
            values = np.stack([x.values()[:, 0] for x in fc])
            out[k].append(np.expm1(values) if LGBM_LOG else values)
    return out


# ------------------------------------------------------------------------------------------ TextTiDEModel
def lagged_demand(demand, index, origin):
    """Demand covariates (weeks ``0 .. origin - 1``) lagged by ``HORIZON`` weeks, as a future covariate series on
    weeks ``0 .. origin + HORIZON - 1``: the value at week ``t`` uses sales before ``t - HORIZON + 1`` only, so
    forecasts from ``origin`` never see sales at or after ``origin``."""
    from darts import TimeSeries

    values = demand.values()[-origin:]
    lagged = np.concatenate([np.repeat(values[:1], HORIZON, axis=0), values], axis=0)
    return TimeSeries.from_times_and_values(index[: origin + HORIZON], lagged, columns=list(demand.components))


def tide_forecasts(panel, origin, tests, seeds, epochs, n_established, demand, log=print) -> dict:
    """TextTiDEModel forecasts of the test products at ``origin``: {variant: {k: [array (products, HORIZON)]}}.

    Trained on every product's weeks before ``origin`` (launches all, established products subsampled to
    ``n_established`` for speed), log1p target, ``min_input_chunk_length=1``, history dropout 0.2. ``demand``:
    per variant, the text-neighbour demand of :func:`demand_at`, given to the network lagged by ``HORIZON`` as
    future covariates; variants without an entry get no covariates.
    """
    import torch
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm.models import TextTiDEModel

    origin_time = panel.times[origin]
    mapper = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    rng = np.random.default_rng(origin)
    launch = panel.launch
    known = [i for i, s in enumerate(panel.series) if s.start_time() < origin_time and origin - launch[i] >= 1 + HORIZON]
    established = [i for i in known if panel.censored[i]]
    if n_established is not None and len(established) > n_established:
        established = set(rng.choice(established, n_established, replace=False).tolist())
    train_ids = [i for i in known if not panel.censored[i] or i in established]

    def static(i, texts):
        return pd.DataFrame({"description": [texts[i]], "log_price": [float(np.log(panel.price[i] + 1e-3))],
                             "established": [float(panel.censored[i])]})

    out = {}
    for variant, mode in (("text", "real"), ("constant text", "constant"), ("shuffled text", "shuffled")):
        texts = panel.texts[mode]
        train = [mapper.transform(panel.series[i].drop_after(origin_time).with_static_covariates(static(i, texts)))
                 for i in train_ids]
        table_ = demand.get(variant)
        covariates = None if table_ is None else {
            i: lagged_demand(table_[i], panel.times, origin)
            for i in [*train_ids, *(p for test in tests.values() for p in test)]}

        def covs(ids, covariates=covariates):
            return None if covariates is None else [covariates[i] for i in ids]

        runs = {k: [] for k in tests}
        for seed in seeds:
            started = time.perf_counter()
            model = TextTiDEModel(
                input_chunk_length=8, output_chunk_length=HORIZON, min_input_chunk_length=1, short_history_prob=0.2,
                hidden_size=64, decoder_output_dim=8, temporal_decoder_hidden=16, dropout=0.1, text_dim=4,
                text_dropout=0.3, loss_fn=torch.nn.L1Loss(), optimizer_kwargs={"lr": 3e-3}, batch_size=256,
                n_epochs=epochs, random_state=seed,
                pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                                   "enable_model_summary": False, "logger": False},
            )
            model.fit(train, future_covariates=covs(train_ids))
            for k, test in tests.items():
                if k == 0:
                    frame = pd.concat([static(p, texts) for p in test], ignore_index=True)
                    fc = model.predict_new_products(frame, start=origin_time, n=HORIZON, future_covariates=covs(test))
                else:
                    short = [mapper.transform(panel.series[p].drop_after(origin_time).with_static_covariates(
                        static(p, texts))) for p in test]
                    fc = model.predict(HORIZON, series=short, future_covariates=covs(test))
                runs[k].append(np.stack([mapper.inverse_transform(f).values()[:, 0] for f in fc]))
            log(f"  TextTiDE ({variant}, seed {seed}): {len(train)} series, {time.perf_counter() - started:.0f} s")
        out[variant] = runs
    return out


# ------------------------------------------------------------------------------------------ report
def wape_table(results: dict, counts: dict) -> tuple[list[dict], dict, dict]:
    """Rows ``method | text | 0 wk | ...`` (mean ± std over seeds of the WAPE pooled over origins), means, stds."""
    rows, means, stds = [], {}, {}
    for method in dict.fromkeys(m for m, _ in results):
        row = {"method": method, "text": {True: "yes", False: "", "ablation": "control"}[TEXT_METHODS[method]]}
        for k in HISTORY_KS:
            per_seed = results.get((method, k))
            if not per_seed:
                row[f"{k} wk"] = "n/a"
                continue
            wapes = [pooled_wape(np.concatenate([a for a, _ in runs]), np.concatenate([f for _, f in runs]))
                     for runs in per_seed.values()]
            means[(method, k)] = float(np.mean(wapes))
            stds[(method, k)] = float(np.std(wapes, ddof=1)) if len(wapes) > 1 else 0.0
            row[f"{k} wk"] = mean_std(np.mean(wapes), np.std(wapes, ddof=1) if len(wapes) > 1 else np.nan,
                                      len(wapes))
        rows.append(row)
    return rows, means, stds


def lift_table(means: dict, stds: dict, counts: dict) -> tuple[list[dict], list[str]]:
    """The best method with text against the best without, per weeks of history, and one sentence each."""
    rows, sentences = [], []
    for k in HISTORY_KS:
        plain = best_of({m: means.get((m, k)) for m, t in TEXT_METHODS.items() if t is False})
        text = best_of({m: means.get((m, k)) for m, t in TEXT_METHODS.items() if t is True})
        if plain is None or text is None:
            continue
        lift = lift_pct(plain[1], text[1])
        row = {"weeks of history": k, "products x origins": counts[k],
               "best without text": f"{plain[0]} ({plain[1]:.1f})", "best with text": f"{text[0]} ({text[1]:.1f})",
               "WAPE lift": f"{lift:+.1f}%"}
        tide, twin = means.get(("TextTiDE, text", k)), means.get(("TextTiDE, constant text", k))
        if tide is not None and twin is not None:
            row["TextTiDE: text vs constant-text twin"] = f"{lift_pct(twin, tide):+.1f}%"
        rows.append(row)
        control = {"LightGBM on launches, text neighbours": "LightGBM on launches, shuffled text",
                   "TextTiDE, text": "TextTiDE, shuffled text"}.get(text[0])
        weeks = f"- {k} week{'s' if k != 1 else ''} of history: "
        if lift > 0:
            words = (weeks + f"{text[0]} ({text[1]:.1f}%) beats the best method without text, {plain[0]} "
                     f"({plain[1]:.1f}%), by {lift:.1f}%")
        else:
            words = (weeks + f"no method with text beats the best without text, {plain[0]} ({plain[1]:.1f}%); "
                     f"the best with text, {text[0]} ({text[1]:.1f}%), is {-lift:.1f}% worse")
        noise = max(stds.get((text[0], k), 0.0), stds.get((plain[0], k), 0.0))
        if abs(text[1] - plain[1]) < noise:
            words += f" (a gap smaller than the seed std, {noise:.1f} points)"
        shuffled = means.get((control, k)) if control else None
        if shuffled is not None and lift > 0:
            gone = shuffled >= plain[1]
            kept = 100 * (plain[1] - shuffled) / (plain[1] - text[1])
            words += (f"; with shuffled descriptions it scores {shuffled:.1f}%, "
                      + ("so the whole gain is lost without the right descriptions" if gone
                         else f"so only {kept:.0f}% of the gain survives without the right descriptions"))
        sentences.append(words + ".")
    return rows, sentences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--seeds", type=int, default=3, help="LightGBM seeds")
    parser.add_argument("--neighbours", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="two origins, one seed, fewer TextTiDE epochs")
    parser.add_argument("--tide-seeds", type=int, default=None,
                        help="TextTiDE seeds per variant (default 3; 1 with --quick; 0: no TextTiDE)")
    parser.add_argument("--tide-epochs", type=int, default=None, help="TextTiDE epochs (default 6; 4 with --quick)")
    parser.add_argument("--tide-established", type=int, default=1000,
                        help="established products (on sale in the first 8 weeks) sampled into TextTiDE's training")
    args = parser.parse_args()
    args.tide_seeds = (1 if args.quick else 3) if args.tide_seeds is None else args.tide_seeds
    args.tide_epochs = (4 if args.quick else 6) if args.tide_epochs is None else args.tide_epochs

    import torch

    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are >10x slower (spin-waiting)
    started = time.perf_counter()
    panel = load_panel(args.data, censored_weeks=ESTABLISHED_WEEKS, shuffle_seed=0)
    origins = [37, 41] if args.quick else [33, 35, 37, 39, 41, 43, 45]
    seeds = range(1 if args.quick else args.seeds)
    results: dict[tuple[str, int], dict[int, list]] = {}

    def record(method, k, seed, actual, forecast):
        results.setdefault((method, k), {}).setdefault(seed, []).append((actual, np.maximum(forecast, 0)))

    for origin in origins:
        train = earlier_launches(panel, origin, MAX_K + HORIZON)
        tests = {k: new_products(panel, origin, k) for k in HISTORY_KS}
        tests = {k: t for k, t in tests.items() if len(t)}
        actual = {k: panel.values[t, origin : origin + HORIZON] for k, t in tests.items()}
        for k, test in tests.items():
            for method, fc in simple_methods(panel, train, k, test, origin).items():
                record(method, k, 0, actual[k], fc)
        demand = {variant: demand_at(panel, panel.texts[mode], origin, args.neighbours)
                  for variant, mode in (("text", "real"), ("shuffled text", "shuffled"))}
        for name, table_ in (("no text", None), ("text neighbours", demand["text"]),
                             ("shuffled text", demand["shuffled text"])):
            for k, per_seed in lightgbm_forecasts(panel, train, tests, origin, table_, seeds).items():
                for seed, fc in enumerate(per_seed):
                    record(f"LightGBM on launches, {name}", k, seed, actual[k], fc)
        if args.tide_seeds:
            tide = tide_forecasts(panel, origin, tests, range(args.tide_seeds), args.tide_epochs,
                                  args.tide_established, demand, log=lambda m: print(m, flush=True))
            for variant, per_k in tide.items():
                for k, runs in per_k.items():
                    for seed, fc in enumerate(runs):
                        record(f"TextTiDE, {variant}", k, seed, actual[k], fc)
        print(f"origin {panel.times[origin].date()} done ({time.perf_counter() - started:.0f} s)", flush=True)

    counts = {k: sum(len(new_products(panel, o, k)) for o in origins) for k in HISTORY_KS}
    rows, means, stds = wape_table(results, counts)
    lifts, sentences = lift_table(means, stds, counts)
    tide_clause = (f", TextTiDE rows of {args.tide_seeds} ({args.tide_epochs} epochs; TextTiDE learns from every "
                   "product's weeks before the origin, see the script's docstring)" if args.tide_seeds else "")
    markdown = (
        "## Cold start on Online Retail (`benchmarks/cold_start.py`)\n\n"
        f"New products forecast {HORIZON} weeks ahead from 0, 1, 2 or 4 weeks of their own sales, at {len(origins)} "
        f"origins ({panel.times[origins[0]].date()} .. {panel.times[origins[-1]].date()}); learning from earlier "
        "launches only. WAPE % pooled over products, weeks and origins (lower is better), mean ± std over seeds: "
        f"LightGBM rows {len(seeds)} seed(s){tide_clause}; the other methods are deterministic. *text*: the "
        "method reads the descriptions; *control*: the same method with shuffled descriptions. LightGBM is Darts' "
        f"`LightGBMModel` on covariates built with Darts and `darts_llm`. {machine()}. "
        f"Wall time {time.perf_counter() - started:.0f} s.\n\n"
        + table(rows)
        + "\n\nBest method with text against the best without text (controls excluded):\n\n"
        + table(lifts)
        + "\n\n" + "\n".join(sentences) + "\n"
    )
    print(markdown)
    if args.quick:  # a quick run is a smoke test: its table goes to results/ only, not into the README
        from harness.report import RESULTS

        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cold_start_quick.md").write_text(markdown)
    else:
        write_section("cold_start", markdown)
        replace_block(ROOT_README, "headline", readme_headline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
