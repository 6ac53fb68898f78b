"""Cold-start benchmark on Online Retail: forecasting new products from 0, 1, 2 or 4 weeks of sales history.

Usage::

    python benchmarks/cold_start.py [--data PATH] [--seeds 3] [--validation] [--tuned auto|PATH|none] [--quick]

Protocol (no look-ahead): at each weekly forecast origin T, the test products are those first sold exactly ``k``
weeks before T (``k`` in 0, 1, 2, 4); every method sees their first ``k`` weeks and forecasts the 8 weeks from T.
Test origins: the 13 weeks 2011-07-24 .. 2011-10-16 (the last whose 8 weeks are in the data); ``--validation``:
the 11 weeks before them (2011-05-08 .. 2011-07-17), where the settings were chosen. Products first sold in the
first 8 weeks of the data are not launches (they may predate the data). WAPE is pooled over products, weeks and origins
(``darts_llm.evaluation.pooled_wape``); neural and stochastic rows are mean ± std over seeds. Each lift comes with a
90% bootstrap interval over products (1,000 resamples of the products, all their origins together).

Every method is what a user can call:

- ``LaunchCurveModel`` / ``TextAnalogModel`` (``darts_llm.models``), fitted on every product's sales before T.
  Non-text analogs: all products, the same product-type word (the description's last word, standing in for a
  shop's category), the nearest prices; text analogs: the most similar descriptions, with the default MiniLM
  encoder and (``--tuned``) with an encoder fine-tuned with LoRA by ``darts_llm.encoders.tune_encoder_on_demand``
  on the launches completed before the first origin. The all-products curve and the default-encoder
  ``TextAnalogModel`` also with recent launches weighing more (``recency_half_life=8``, chosen on the validation
  origins by ``benchmarks/analog_settings.py``).
- Darts' ``LightGBMModel`` (L1) and ``TiDEModel`` trained on earlier launches' first 12 weeks (zero-padded 4 weeks
  before the launch), with the launch age as future covariates, and: nothing more (no text); the analog curve of
  ``TextAnalogModel.launch_covariates`` (text); the text-neighbour demand of ``TextNeighbours`` (LightGBM, text).
- ``TextTiDEModel`` with ``text_entry="static"`` (the text among the backbone's inputs; its other text arguments
  at their defaults) and ``min_input_chunk_length=1``, trained on every product's weeks before
  T; its twin reads one constant description (the same network without text information).
- The mean of the observed weeks.

Every text row has its control: the same method with shuffled descriptions (the encoder and all else unchanged).

After the table, an analysis (not a method) of ``TextAnalogModel``'s forecasts: how far their level lies from the
products' true level, and how well it would have to be known to reach 0.80x the best method without text.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings

import numpy as np
import pandas as pd

from harness.cohorts import earlier_launches, new_products
from harness.covariates import launch_age, neighbour_demand, padded_target, static_frame, with_text
from harness.panels import Panel, add_data_argument, load_panel
from harness.report import RESULTS, ROOT_README, machine, mean_std, readme_headline, replace_block, table, write_section

from darts_llm.evaluation import pooled_wape

warnings.filterwarnings("ignore")
HORIZON, MAX_K, HISTORY_KS, LEVEL_WEEKS = 8, 4, (0, 1, 2, 4), 8
ESTABLISHED_WEEKS = 8  # products first sold in the first 8 weeks of the data: launch not observed
# the test origins run to the last week whose 8 forecast weeks all lie in the data (53 complete weeks)
TEST_ORIGINS, VALIDATION_ORIGINS = list(range(33, 46)), list(range(22, 33))
BOOTSTRAP = 1000
#: row -> (reads the text, its control row)
ROWS = {
    "launch curve, all products": (False, None),
    "launch curve, same product-type word": (False, None),
    "launch curve, nearest prices": (False, None),
    "launch curve, all products, ridge scale": (False, None),
    "launch curve, all products, recency_half_life=8": (False, None),
    "mean of observed weeks": (False, None),
    "LightGBM, no text": (False, None),
    "TiDE, no text": (False, None),
    "TextTiDE, constant text": (False, None),
    "TextAnalogModel": (True, "TextAnalogModel, shuffled text"),
    "TextAnalogModel, recency_half_life=8": (True, "TextAnalogModel, recency_half_life=8, shuffled text"),
    "TextAnalogModel, LoRA-tuned encoder": (True, "TextAnalogModel, LoRA-tuned encoder, shuffled text"),
    "LightGBM + analog curve": (True, "LightGBM + analog curve, shuffled text"),
    "LightGBM + text neighbours": (True, "LightGBM + text neighbours, shuffled text"),
    "TiDE + analog curve": (True, "TiDE + analog curve, shuffled text"),
    "TextTiDE": (True, "TextTiDE, shuffled text"),
}
CONTROLS = {control for _, control in ROWS.values() if control}
#: Half-life (weeks) of the launches' recency weights in the recency rows: the best of 26 / 13 / 8 for
#: TextAnalogModel at 0 and 2 weeks of history (tied at 1) on the validation origins (``benchmarks/analog_settings.py``).
RECENCY = 8
#: The model whose forecasts the level analysis reads.
CEILING_MODEL = "TextAnalogModel"


def type_word(text: str) -> str:
    """The product type of a description: its last word (``... CANDLE HOLDER`` -> ``HOLDER``)."""
    words = text.split()
    return words[-1] if words else ""


def cut_series(panel: Panel, texts: list[str], origin: int) -> dict[int, object]:
    """Every product on sale before ``origin``: its sales before it, with description, price and type word."""
    end = panel.times[origin]
    out = {}
    for i, s in enumerate(panel.series):
        if s.start_time() < end:
            static = pd.DataFrame({"description": [texts[i]], "price": [float(panel.price[i])],
                                   "type": [type_word(panel.texts["real"][i])]})
            out[i] = s.drop_after(end).with_static_covariates(static)
    return out


def product_frame(panel: Panel, texts: list[str], products) -> pd.DataFrame:
    return pd.DataFrame({"description": [texts[p] for p in products], "price": [float(panel.price[p]) for p in products],
                         "type": [type_word(panel.texts["real"][p]) for p in products]})


def launch_model_forecasts(model, panel, texts, cut, origin, tests) -> dict[int, np.ndarray]:
    """``{k: (products, HORIZON)}`` forecasts of a launch model fitted on the panel cut at ``origin``."""
    model.fit(list(cut.values()))
    out = {}
    for k, test in tests.items():
        if k == 0:
            fc = model.predict_new_products(product_frame(panel, texts, test), HORIZON, start=panel.times[origin])
        else:
            fc = model.predict(HORIZON, series=[cut[p] for p in test])
        out[k] = np.stack([f.values()[:, 0] for f in fc])
    return out


def mean_of_observed(cut, tests) -> dict[int, np.ndarray]:
    """Each product's mean weekly sales so far, for every forecast week (Darts' ``NaiveMean`` needs 3 weeks)."""
    return {k: np.stack([np.full(HORIZON, cut[p].values().mean()) for p in test]) for k, test in tests.items() if k > 0}


# ------------------------------------------------------------------------------------------ text-neighbour demand
def demand_at(panel: Panel, texts: list[str], origin: int, k_neighbours: int = 30) -> dict[int, object]:
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


# ------------------------------------------------------------------------------------------ Darts global models
def window_inputs(panel, products, end_of, analog=None, log=False):
    """Zero-padded launch windows of ``products`` and their future covariates (launch age; analog curve)."""
    series = [padded_target(panel, p, end_of(p), MAX_K, static_frame(panel, p, None), log=log) for p in products]
    if analog is None:
        return series, [launch_age(panel, p) for p in products]
    model, texts = analog
    probes = [s.with_static_covariates(product_frame(panel, texts, [p])) for s, p in zip(series, products)]
    curves = model.launch_covariates(probes, HORIZON)
    ages = [launch_age(panel, p).slice_intersect(c) for p, c in zip(products, curves)]
    return series, [a.stack(c.drop_columns(["launched", "age"])) for a, c in zip(ages, curves)]


def global_forecasts(kind, panel, train, tests, origin, seeds, analog=None, demand=None) -> list[dict[int, np.ndarray]]:
    """Per seed, ``{k: forecasts}`` of Darts' ``LightGBMModel`` or ``TiDEModel`` trained on earlier launches."""
    from darts.dataprocessing.transformers import InvertibleMapper

    log = kind == "tide"
    mapper = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    series, future = window_inputs(panel, train, lambda p: panel.launch[p] + MAX_K + HORIZON, analog, log=log)
    past = None if demand is None else [demand[p] for p in train]
    test_inputs = {k: window_inputs(panel, test, lambda _: origin, analog, log=log) for k, test in tests.items()}
    runs = []
    for seed in seeds:
        model = make_model(kind, seed, demand is not None)
        model.fit(series, past_covariates=past, future_covariates=future)
        out = {}
        for k, test in tests.items():
            s, f = test_inputs[k]
            fc = model.predict(HORIZON, series=s, past_covariates=None if demand is None else [demand[p] for p in test],
                               future_covariates=f, show_warnings=False)
            values = np.stack([(mapper.inverse_transform(x) if log else x).values()[:, 0] for x in fc])
            out[k] = np.maximum(values, 0.0)
        runs.append(out)
    return runs


def make_model(kind: str, seed: int, past: bool):
    if kind == "lightgbm":
        from darts.models import LightGBMModel

        return LightGBMModel(
            lags=MAX_K, lags_past_covariates=[-1] if past else None, lags_future_covariates=list(range(HORIZON)),
            output_chunk_length=HORIZON, add_encoders={"datetime_attribute": {"future": ["weekofyear"]}},
            objective="l1", n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=20,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed, verbose=-1, num_threads=1,
            use_static_covariates=False,
        )
    import torch
    from darts.models import TiDEModel

    return TiDEModel(
        input_chunk_length=MAX_K, output_chunk_length=HORIZON, hidden_size=64, decoder_output_dim=8,
        temporal_decoder_hidden=16, dropout=0.1, use_static_covariates=False, loss_fn=torch.nn.L1Loss(),
        optimizer_kwargs={"lr": 3e-3}, batch_size=256, n_epochs=10, random_state=seed,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                           "logger": False},
    )


def text_model_forecasts(panel, origin, tests, seeds, texts, epochs=6, n_established=1000) -> list[dict[int, np.ndarray]]:
    """Per seed, ``{k: forecasts}`` of ``TextTiDEModel`` (its text defaults) trained on the panel cut at ``origin``.

    Every launch's weeks before the origin and (for speed) ``n_established`` of the products on sale when the data
    begin; ``log1p`` target through Darts' ``InvertibleMapper``; ``min_input_chunk_length=1`` with history dropout,
    so that products with 0 weeks of sales are forecast by ``predict_new_products`` and the others by ``predict``.
    Static covariates: the description, the log price, and whether the product was on sale when the data begin.
    """
    import torch
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm.models import TextTiDEModel

    origin_time = panel.times[origin]
    mapper = InvertibleMapper(np.log1p, np.expm1, name="log1p")
    known = [i for i, s in enumerate(panel.series) if s.start_time() < origin_time and origin - panel.launch[i] > HORIZON]
    established = [i for i in known if panel.censored[i]]
    if len(established) > n_established:
        established = np.random.default_rng(origin).choice(established, n_established, replace=False).tolist()
    chosen = set(established)
    train_ids = [i for i in known if not panel.censored[i] or i in chosen]

    def static(i):
        return pd.DataFrame({"description": [texts[i]], "log_price": [float(np.log(panel.price[i] + 1e-3))],
                             "established": [float(panel.censored[i])]})

    def history(i):
        return mapper.transform(panel.series[i].drop_after(origin_time).with_static_covariates(static(i)))

    train = [history(i) for i in train_ids]
    runs = []
    for seed in seeds:
        model = TextTiDEModel(
            # the static entry: the text among the backbone's inputs, as when the recorded rows were measured
            text_entry="static",
            input_chunk_length=8, output_chunk_length=HORIZON, min_input_chunk_length=1, hidden_size=64,
            decoder_output_dim=8, temporal_decoder_hidden=16, dropout=0.1, loss_fn=torch.nn.L1Loss(),
            optimizer_kwargs={"lr": 3e-3}, batch_size=256, n_epochs=epochs, random_state=seed,
            pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                               "logger": False},
        )
        model.fit(train)
        out = {}
        for k, test in tests.items():
            if k == 0:
                frame = pd.concat([static(p) for p in test], ignore_index=True)
                fc = model.predict_new_products(frame, start=origin_time, n=HORIZON)
            else:
                fc = model.predict(HORIZON, series=[history(p) for p in test])
            out[k] = np.stack([np.maximum(mapper.inverse_transform(f).values()[:, 0], 0.0) for f in fc])
        runs.append(out)
    return runs


# ------------------------------------------------------------------------------------------ demand-tuned encoder
def tuned_encoder(panel: Panel, first_origin: int, where: str, epochs: int) -> tuple[str | None, dict]:
    """An encoder fine-tuned (LoRA) on the launches whose first 8 weeks end before ``first_origin``."""
    if where == "none":
        return None, {}
    if where != "auto":
        return where, {"source": where}
    from darts_llm.encoders import tune_encoder_on_demand

    done = earlier_launches(panel, first_origin, LEVEL_WEEKS)
    curves = np.log1p(np.nan_to_num(np.stack([panel.values[p, panel.launch[p] : panel.launch[p] + LEVEL_WEEKS]
                                              for p in done])))
    folder = RESULTS / "cache" / f"demand_tuned_lora_{panel.times[first_origin].date()}"
    shutil.rmtree(folder, ignore_errors=True)  # this script's own folder: tuned again on every run
    started = time.perf_counter()
    result = tune_encoder_on_demand([panel.texts["real"][p] for p in done], curves, folder, mode="lora",
                                    epochs=epochs, random_state=0)
    info = {"launches": len(done), "epochs": epochs, "seconds": round(time.perf_counter() - started, 1),
            "best_epoch": int(json.loads((folder / "demand_tuning.json").read_text())["best_epoch"])}
    return str(getattr(result, "path", folder)), info


# ------------------------------------------------------------------------------------------ report
def bootstrap_lift(actual, plain, text, products, rng) -> tuple[float, float]:
    """90% interval of the WAPE lift of ``text`` over ``plain`` when the products are resampled."""
    unique, inverse = np.unique(products, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == u) for u in range(len(unique))]
    lifts = []
    for _ in range(BOOTSTRAP):
        rows = np.concatenate([rows_of[u] for u in rng.integers(0, len(unique), len(unique))])
        base = pooled_wape(actual[rows], plain[rows])
        lifts.append(100 * (1 - pooled_wape(actual[rows], text[rows]) / base))
    low, high = np.percentile(lifts, [5, 95])
    return float(low), float(high)


def summarise(results, actual, products, counts):
    """The WAPE table, and per weeks of history the best text row against the best non-text row."""
    rows, means, point = [], {}, {}
    for name in [*ROWS, *sorted(CONTROLS)]:
        if name not in results:
            continue
        text, _ = ROWS.get(name, ("control", None))
        row = {"method": name, "text": {True: "yes", False: "", "control": "control"}[text]}
        for k in HISTORY_KS:
            per_seed = results[name].get(k)
            if not per_seed:
                row[f"{k} wk"] = "n/a"
                continue
            wapes = [pooled_wape(actual[k], f) for f in per_seed]
            means[(name, k)] = float(np.mean(wapes))
            point[(name, k)] = np.mean(per_seed, axis=0)
            row[f"{k} wk"] = mean_std(np.mean(wapes), np.std(wapes, ddof=1) if len(wapes) > 1 else np.nan, len(wapes))
        rows.append(row)
    rng = np.random.default_rng(0)
    lifts, summary = [], {}
    for k in HISTORY_KS:
        plain = [(means[(m, k)], m) for m, (t, _) in ROWS.items() if t is False and (m, k) in means]
        text = [(means[(m, k)], m) for m, (t, _) in ROWS.items() if t is True and (m, k) in means]
        if not plain or not text:
            continue
        (wp, bp), (wt, bt) = min(plain), min(text)
        lift = 100 * (1 - wt / wp)
        low, high = bootstrap_lift(actual[k], point[(bp, k)], point[(bt, k)], products[k], rng)
        control = ROWS[bt][1]
        shuffled = means.get((control, k))
        summary[str(k)] = {"best_text": bt, "wape_text": wt, "best_no_text": bp, "wape_no_text": wp,
                           "lift_pct": lift, "interval": [low, high], "shuffled_row": control,
                           "wape_shuffled": shuffled, "cases": counts[k], "ratio": wt / wp}
        lifts.append({"weeks of history": k, "products x origins": counts[k], "best without text": f"{bp} ({wp:.1f})",
                      "best with text": f"{bt} ({wt:.1f})", "WAPE ratio": f"{wt / wp:.2f}",
                      "lift (90% interval)": f"{lift:+.1f}% ({low:+.1f}, {high:+.1f})",
                      "shuffled text": "n/a" if shuffled is None else f"{shuffled:.1f}"})
    return rows, lifts, summary


def level_ceiling(actual: np.ndarray, forecast: np.ndarray, target: float) -> dict:
    """How well a forecast's level would have to be known to reach the WAPE ``target`` (an analysis, not a method).

    Each product's level is its mean ``log1p`` sales over the forecast weeks. The forecast keeps its shape and
    moves its level a share ``lam`` of the way to the product's true level (``lam=1``: the level known exactly).
    Returns the forecast's level R², its mean level error (true minus forecast), the WAPE with the exact level,
    the smallest ``lam`` (in 1% steps) that reaches ``target`` (``None`` when even the exact level does not) and
    the level R² it amounts to.
    """
    true = np.log1p(np.nan_to_num(actual)).mean(1)
    own = np.log1p(forecast).mean(1)
    total = float(((true - true.mean()) ** 2).sum())
    r2 = 1 - float(((true - own) ** 2).sum()) / total if total > 0 else float("nan")

    def wape_at(lam: float) -> float:
        return float(pooled_wape(actual, np.expm1(np.log1p(forecast) + lam * (true - own)[:, None])))

    needed = next((lam for lam in np.linspace(0, 1, 101) if wape_at(lam) <= target), None)
    return {"r2": r2, "level_bias": float((true - own).mean()), "wape_exact_level": wape_at(1.0), "target": target,
            "share_needed": None if needed is None else float(needed),
            "r2_needed": None if needed is None else 1 - (1 - float(needed)) ** 2 * (1 - r2)}


def ceiling_sentences(ceilings: dict, model: str) -> list[str]:
    """Per weeks of history, what the level of ``model``'s forecasts would need, computed from ``ceilings``."""
    out = []
    for k, c in ceilings.items():
        low = "below" if c["level_bias"] > 0 else "above"
        words = (f"- {k} week{'s' if k != '1' else ''} of history: the level of {model}'s forecasts has R² "
                 f"{c['r2']:.2f} and lies on average {abs(c['level_bias']):.2f} {low} the true level (a factor "
                 f"{np.exp(abs(c['level_bias'])):.1f} in units); with each product's level known exactly (the shape "
                 f"still the analogs') it would score {c['wape_exact_level']:.1f}%. ")
        if c["share_needed"] is None:
            words += f"Even that misses 0.80x the best without text ({c['target']:.1f}%)."
        else:
            words += (f"Reaching 0.80x the best without text ({c['target']:.1f}%) takes moving its level "
                      f"{100 * c['share_needed']:.0f}% of the way to the true level, a level R² of "
                      f"{c['r2_needed']:.2f}.")
        out.append(words)
    return out


def sentences(summary: dict) -> list[str]:
    """One sentence per weeks of history, computed from the numbers it states."""
    out = []
    for k, s in summary.items():
        weeks = f"- {k} week{'s' if k != '1' else ''} of history: "
        if s["lift_pct"] <= 0:
            out.append(weeks + f"no text approach beats the best without text, {s['best_no_text']} "
                       f"({s['wape_no_text']:.1f}%); the best with text, {s['best_text']} ({s['wape_text']:.1f}%), is "
                       f"{-s['lift_pct']:.1f}% worse.")
            continue
        words = (weeks + f"{s['best_text']} ({s['wape_text']:.1f}%) beats the best without text, "
                 f"{s['best_no_text']} ({s['wape_no_text']:.1f}%), by {s['lift_pct']:.1f}%")
        low = s["interval"][0]
        words += (f"; the 90% interval ({low:+.1f}% .. {s['interval'][1]:+.1f}%) "
                  + ("stays above zero" if low > 0 else "includes no gain"))
        if s["wape_shuffled"] is not None:
            given_back = 100 * (s["wape_shuffled"] - s["wape_text"]) / (s["wape_no_text"] - s["wape_text"])
            words += (f"; shuffled descriptions score {s['wape_shuffled']:.1f}%, giving back "
                      f"{min(given_back, 100):.0f}% of the gain")
        target = "meets" if s["ratio"] <= 0.80 else "misses"
        out.append(words + f". The ratio {s['ratio']:.2f} {target} the 0.80 target.")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the LightGBM and TiDE rows")
    parser.add_argument("--validation", action="store_true", help="the validation origins (settings are chosen there)")
    parser.add_argument("--quick", action="store_true", help="two origins, one seed (a smoke test)")
    parser.add_argument("--tuned", default="auto", help="'auto' (tune with LoRA), a tuned encoder folder, or 'none'")
    parser.add_argument("--tune-epochs", type=int, default=4)
    parser.add_argument("--no-tide", action="store_true", help="leave out the TiDE rows")
    parser.add_argument("--no-text-model", action="store_true", help="leave out the TextTiDE rows")
    args = parser.parse_args()

    import torch

    from darts_llm.models import LaunchCurveModel, TextAnalogModel
    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are >10x slower (spin-waiting)
    started = time.perf_counter()
    panel = load_panel(args.data, censored_weeks=ESTABLISHED_WEEKS, shuffle_seed=0)
    origins = VALIDATION_ORIGINS if args.validation else TEST_ORIGINS
    origins = origins[::6][:2] if args.quick else origins
    seeds = range(1 if args.quick else args.seeds)
    after = panel.times[ESTABLISHED_WEEKS - 1]
    tuned, tuning = tuned_encoder(panel, origins[0], args.tuned, args.tune_epochs)
    results: dict[str, dict[int, dict[int, list[np.ndarray]]]] = {}
    actual = {k: [] for k in HISTORY_KS}
    products = {k: [] for k in HISTORY_KS}

    def record(name, per_seed):  # results[name][k][seed]: the forecasts of every origin, in origin order
        for seed, seed_out in enumerate(per_seed):
            for k, forecast in seed_out.items():
                results.setdefault(name, {}).setdefault(k, {}).setdefault(seed, []).append(forecast)

    for origin in origins:
        t0 = time.perf_counter()
        tests = {k: new_products(panel, origin, k) for k in HISTORY_KS}
        tests = {k: t for k, t in tests.items() if len(t)}
        for k, t in tests.items():
            actual[k].append(panel.values[t, origin : origin + HORIZON])
            products[k].append(t)
        train = earlier_launches(panel, origin, MAX_K + HORIZON)
        real, shuffled = panel.texts["real"], panel.texts["shuffled"]
        cut = {"real": cut_series(panel, real, origin), "shuffled": cut_series(panel, shuffled, origin)}

        def launch(name, model, mode="real"):
            texts = real if mode == "real" else shuffled
            record(name, [launch_model_forecasts(model, panel, texts, cut[mode], origin, tests)])
            return model

        launch("launch curve, all products", LaunchCurveModel(launches_after=after))
        launch("launch curve, same product-type word", LaunchCurveModel(by="type", n_analogs=10, launches_after=after))
        launch("launch curve, nearest prices", LaunchCurveModel(by="price", launches_after=after))
        launch("launch curve, all products, ridge scale", LaunchCurveModel(scale="ridge", launches_after=after))
        launch(f"launch curve, all products, recency_half_life={RECENCY}",
               LaunchCurveModel(recency_half_life=RECENCY, launches_after=after))
        record("mean of observed weeks", [mean_of_observed(cut["real"], tests)])
        analogs = {mode: launch("TextAnalogModel" + ("" if mode == "real" else ", shuffled text"),
                                TextAnalogModel(text_cols="description", launches_after=after), mode)
                   for mode in ("real", "shuffled")}
        for mode in ("real", "shuffled"):
            launch(f"TextAnalogModel, recency_half_life={RECENCY}" + ("" if mode == "real" else ", shuffled text"),
                   TextAnalogModel(text_cols="description", recency_half_life=RECENCY, launches_after=after), mode)
        if tuned:
            for mode in ("real", "shuffled"):
                launch("TextAnalogModel, LoRA-tuned encoder" + ("" if mode == "real" else ", shuffled text"),
                       TextAnalogModel(text_cols="description", text_encoder=tuned, launches_after=after), mode)
        kinds = ["lightgbm"] if args.no_tide else ["lightgbm", "tide"]
        for kind in kinds:
            label = "LightGBM" if kind == "lightgbm" else "TiDE"
            record(f"{label}, no text", global_forecasts(kind, panel, train, tests, origin, seeds))
            for mode, texts in (("real", real), ("shuffled", shuffled)):
                suffix = "" if mode == "real" else ", shuffled text"
                record(f"{label} + analog curve{suffix}",
                       global_forecasts(kind, panel, train, tests, origin, seeds, analog=(analogs[mode], texts)))
        for mode, texts in (("real", real), ("shuffled", shuffled)):
            suffix = "" if mode == "real" else ", shuffled text"
            record(f"LightGBM + text neighbours{suffix}",
                   global_forecasts("lightgbm", panel, train, tests, origin, seeds, demand=demand_at(panel, texts, origin)))
        if not args.no_text_model:
            for name, mode in (("TextTiDE", "real"), ("TextTiDE, constant text", "constant"),
                               ("TextTiDE, shuffled text", "shuffled")):
                record(name, text_model_forecasts(panel, origin, tests, seeds, panel.texts[mode]))
        print(f"origin {panel.times[origin].date()} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    actual = {k: np.concatenate(v) for k, v in actual.items() if v}
    products = {k: np.concatenate(v) for k, v in products.items() if v}
    results = {name: {k: [np.concatenate(per_seed[seed]) for seed in sorted(per_seed)] for k, per_seed in by_k.items()}
               for name, by_k in results.items()}
    counts = {k: len(v) for k, v in actual.items()}
    rows, lifts, summary = summarise(results, actual, products, counts)
    ceilings = {str(k): level_ceiling(actual[k], np.mean(results[CEILING_MODEL][k], axis=0),
                                      0.80 * summary[str(k)]["wape_no_text"])
                for k in HISTORY_KS if str(k) in summary and k in results.get(CEILING_MODEL, {})}
    which = "validation" if args.validation else "test"
    tuning_clause = (f" The LoRA-tuned encoder: all-MiniLM-L6-v2 tuned by `tune_encoder_on_demand` on {tuning['launches']} "
                     f"launches completed before the first origin ({tuning['epochs']} epochs at most, best epoch "
                     f"{tuning['best_epoch']}, {tuning['seconds']:.0f} s on this CPU; a frozen model needs no such step)."
                     if tuning.get("launches") else "")
    markdown = (
        f"## Cold start on Online Retail (`{' '.join(['benchmarks/cold_start.py', *sys.argv[1:]])}`)\n\n"
        f"New products forecast {HORIZON} weeks ahead from 0, 1, 2 or 4 weeks of their own sales, at {len(origins)} "
        f"weekly {which} origins ({panel.times[origins[0]].date()} .. {panel.times[origins[-1]].date()}), learning "
        "from earlier sales only. WAPE % pooled over products, weeks and origins (lower is better); LightGBM, TiDE "
        f"and TextTiDE rows are mean ± std over {len(seeds)} seed(s), the launch models are deterministic. *text*: "
        "the method reads the descriptions; *control*: the same method with shuffled descriptions." + tuning_clause
        + f" {machine()}. Wall time {time.perf_counter() - started:.0f} s.\n\n"
        + table(rows)
        + "\n\nBest method with text against the best without text (controls excluded); the interval is a 90% "
        "bootstrap interval over products:\n\n"
        + table(lifts)
        + "\n\n" + "\n".join(sentences(summary)) + "\n"
        + (f"\nHow well the level would have to be known (an analysis of {CEILING_MODEL}'s forecasts, not a method: "
           "a forecast's level is its mean `log1p` sales over the forecast weeks, R² against the products' true "
           "levels):\n\n" + "\n".join(ceiling_sentences(ceilings, CEILING_MODEL)) + "\n" if ceilings else "")
    )
    print(markdown)
    payload = {"protocol": which, "origins": [str(panel.times[o].date()) for o in origins], "horizon": HORIZON,
               "seeds": len(seeds), "tuning": tuning, "weeks": summary, "level_ceiling": ceilings,
               "rows": {name: {str(k): float(np.mean([pooled_wape(actual[k], f) for f in per_seed]))
                               for k, per_seed in by_k.items()} for name, by_k in results.items()}}
    RESULTS.mkdir(exist_ok=True)
    if args.quick:
        (RESULTS / "cold_start_quick.md").write_text(markdown)
    elif args.validation:
        (RESULTS / "cold_start_validation.md").write_text(markdown)
        (RESULTS / "cold_start_validation.json").write_text(json.dumps(payload, indent=2) + "\n")
    else:
        write_section("cold_start", markdown)
        (RESULTS / "cold_start.json").write_text(json.dumps(payload, indent=2) + "\n")
        replace_block(ROOT_README, "headline", readme_headline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
