"""The report of ``benchmarks/online_retail.py``: tables, targets and sentences, all computed from the scores.

A sentence that would be false for the numbers at hand is not printed (each is guarded by the comparison it
states), so the same code can describe another year of the shop or another data set honestly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.report import best, lift_pct, machine, mean_std, row, seed_std, summarise, table, versus, within_noise
from harness.specs import ABLATION, ablation_name

from darts_llm.evaluation import CONSTANT_TEXT

#: subset -> (cohort, min weeks of history, max weeks of history)
SUBSETS = {"warm": ("warm", 0, None), "cold": ("cold", 0, None), "cold, 0 weeks": ("cold", 0, 0),
           "cold, 1-4 weeks": ("cold", 1, None)}
TARGETS = {"warm": 5.0, "cold": 15.0}  # lift targets (% lower WAPE than the best model without text)
SHARE_TARGET = 0.5  # shuffled text should give back at least half of the lift
TIME_TARGET = 1.5  # TextTiDE time / TiDE time


def model_order(meta: dict, runs: dict) -> list[str]:
    """Baselines and models without text first, then the text models; ablations left out."""
    names = [n for n in meta if n in runs and meta[n]["family"] != ABLATION]
    return sorted(names, key=lambda n: (meta[n]["text"], meta[n]["family"] == "ensemble", names.index(n)))


def cell(r, stat: str, digits: int = 3) -> str:
    return "n/a" if r is None else mean_std(r[f"{stat}_mean"], r[f"{stat}_std"], int(r.runs), digits)


def setup_text(d: dict, masks: dict) -> list[str]:
    cfg, panel, inst = d["cfg"], d["panel"], d["inst"]
    fr = inst.frame
    n_cold, n_cold0 = int(masks["cold"].sum()), int(masks["cold, 0 weeks"].sum())
    origins = ", ".join(o.strftime("%Y-%m-%d") for o in cfg.origins)
    if cfg.mode == "validation":
        text_clause = "the (text_dim, text_dropout) candidates named in the tables; this run chooses between them"
    else:
        text_clause = (f"`text_dim={cfg.text_dim}`, `text_dropout={cfg.text_dropout}` (chosen among (16, 0.1) = "
                       "the library defaults, (4, 0.1) and (4, 0.5) on validation origins 2011-06-12..07-10, fitted "
                       "on the weeks before them, whose forecasts end before the first test week: `--validate`, "
                       "`benchmarks/results/online_retail_validation.md`)")
    horizon = inst.horizon
    return [
        "**Setup.** UCI Online Retail, weekly units per product (W-SUN, "
        f"{panel.times[0].date()}..{panel.times[-1].date()}), {len(panel.series):,} products with their description. "
        f"Rolling origins (first forecast week): {origins}; each forecasts {horizon} weeks, metrics pool horizons "
        f"1-{horizon} over products and origins. Global models (LightGBM, TiDE, TFT, BlockRNN, text twins) are "
        f"fitted once per seed on the weeks before the first origin ({len(d['train_idx']):,} products: every product "
        f"launched after the data start, the warm sample, and {cfg.n_train_old} more older products) and forecast "
        "every origin without refitting; naive, mean and exponential smoothing use each product's own history up "
        f"to the origin. Neural seeds: {', '.join(map(str, cfg.seeds))}. LightGBM and the local models are "
        "deterministic (one run).",
        "",
        f"- **Warm cohort**: a fixed seeded sample of {len(d['warm'])} products with enough history and at least "
        f"one recent sale before the first origin; the same products at every origin for every model "
        f"({int(masks['warm'].sum()):,} forecasts).",
        f"- **Cold-start cohort**: products first sold 0-4 weeks before the origin ({n_cold} forecasts of "
        f"{fr[masks['cold']].idx.nunique()} products; {n_cold0} with 0 weeks of history, i.e. the launch week is the "
        "first forecast week). Global models see the history left-padded with zero weeks before the launch plus a "
        "known-in-advance weeks-since-launch covariate; naive and mean need >= 1 week and exponential smoothing "
        ">= 3 weeks, so they are **n/a** where they cannot forecast. The launch profile is the median sales at "
        "each week since launch over the earlier launches (no text).",
        "- **Training**: global models learn `log1p(units)` with quantile losses (0.1/0.5/0.9); the point forecast "
        "is the median mapped back with `expm1`. TiDE: hidden 64, "
        f"{cfg.tide_epochs} epochs; TFT: hidden 16, 2 heads, {cfg.tft_epochs} epochs; BlockRNN: LSTM 32, "
        f"{cfg.rnn_epochs} epochs; batch 256, Adam 1e-3; LightGBM (Darts `LightGBMModel`): {cfg.lgbm_trees} trees, "
        "lr 0.05, 31 leaves, 12 lags.",
        "- **Text** (all-MiniLM-L6-v2, frozen): *LightGBM + text PCA* = `StaticTextEmbedder` (PCA to 16) as static "
        "covariates; *LightGBM + text neighbours* = `TextNeighbours` demand covariates (20 neighbours, 4-week "
        "window; lags 1-4) as past covariates; *TextTiDE* / *TextTFT* = the darts_llm models with " + text_clause
        + ". Ensembles average two models' forecasts with Darts' `NaiveEnsembleModel`, per seed of the neural "
        "member.",
        "- **Metrics** (`darts.metrics` through `darts_llm.evaluation`): MAE (units); WAPE = sum|error| / "
        "sum|actual| in %, pooled; MASE per product and origin (Darts `mase`, scaled by the product's own history "
        "before the origin; skipped where that history has < 2 weeks or never changes), averaged; wQL = mean over "
        "the quantiles of Darts' quantile loss summed / sum|actual|; bias = sum(forecast) / sum(actual). "
        "Mean ± std over seeds.",
        "",
    ]


def lift_section(sm: pd.DataFrame) -> tuple[list[dict], dict]:
    rows, cohorts = [], {}
    for subset in SUBSETS:
        b, t = best(sm, subset, False), best(sm, subset, True)
        if b is None or t is None:
            continue
        cohorts[subset] = {"no_text": b, "text": t, "lift": lift_pct(b.WAPE_mean, t.WAPE_mean)}
        rows.append({"cohort": subset, "best without text": b.model, "WAPE % (no text)": cell(b, "WAPE"),
                     "best with text": t.model, "WAPE % (text)": cell(t, "WAPE"),
                     "lift (WAPE % lower)": f"{cohorts[subset]['lift']:+.1f}%"})
    return rows, cohorts


def ablation_section(sm: pd.DataFrame, meta: dict) -> tuple[list[dict], dict]:
    rows, out = [], {}
    ablated = [n for n in meta if meta[n]["family"] != ABLATION and ablation_name(n, "shuffled") in meta]
    for subset in ("warm", "cold", "cold, 0 weeks"):
        b = best(sm, subset, False)
        for model in ablated:
            r, rs, rc = (row(sm, ablation_name(model, m), subset) for m in ("real", "shuffled", "constant"))
            if b is None or r is None or rs is None or rc is None or np.isnan(r.WAPE_mean):
                continue
            gain = b.WAPE_mean - r.WAPE_mean
            share = (rs.WAPE_mean - r.WAPE_mean) / gain if gain > 0 else np.nan
            out[(subset, model)] = {"real": r, "shuffled": rs, "constant": rc, "share": share}
            rows.append({"cohort": subset, "text model": model, "real text": cell(r, "WAPE"),
                         "shuffled text": cell(rs, "WAPE"), "constant text": cell(rc, "WAPE"),
                         "best without text": cell(b, "WAPE"),
                         "share of lift given back by shuffling": "no lift" if np.isnan(share) else f"{100 * share:.0f}%"})
    return rows, out


def timing_section(runs: dict, enc: dict, cfg) -> tuple[list[str], float | None]:
    tide = {r["seed"]: r for r in runs.get("TiDE", [])}
    ttide = {r["seed"]: r for r in runs.get("TextTiDE", [])}
    seeds = sorted(set(tide) & set(ttide))
    if not seeds:
        return [], None
    rows = []
    for s in seeds:
        a, b = tide[s]["fit_s"] + tide[s]["predict_s"], ttide[s]["fit_s"] + ttide[s]["predict_s"]
        rows.append({"seed": s, "TiDE fit s": tide[s]["fit_s"], "TiDE backtest s": tide[s]["predict_s"],
                     "TextTiDE fit s": ttide[s]["fit_s"], "TextTiDE backtest s": ttide[s]["predict_s"],
                     "ratio (fit+backtest)": f"{b / a:.2f}x"})
    ratio = (sum(ttide[s]["fit_s"] + ttide[s]["predict_s"] for s in seeds)
             / sum(tide[s]["fit_s"] + tide[s]["predict_s"] for s in seeds))
    return [
        "### Cost of the text pathway: TextTiDE (frozen) vs TiDE, same run", "",
        f"Same settings and training data; fit = training ({cfg.tide_epochs} epochs), backtest = the "
        f"{len(cfg.origins)} origins' forecasts. The one-off encoding of the {enc['n_texts']:,} distinct descriptions "
        f"(loading the weights included) took {enc['load_s'] + enc['encode_s']:.0f} s and is not in the model "
        "timings. The two models run back to back per seed on a shared machine, so single timings are noisy.", "",
        table(rows), "", f"Ratio of the totals: **{ratio:.2f}x** (target <= {TIME_TARGET}x).", "",
    ], ratio


def targets(cohorts: dict, ablations: dict, ratio: float | None) -> tuple[list[str], dict]:
    """The project's targets, each checked against the numbers (met / missed) with a noise caveat."""
    lines, met = [], {}
    for cohort, goal in TARGETS.items():
        if cohort not in cohorts:
            continue
        c = cohorts[cohort]
        met[cohort] = bool(c["lift"] >= goal)
        words = f"- {cohort.capitalize()} cohort: {versus(c['no_text'], c['text'])} (target >= {goal:g}% lower)"
        lines.append(f"{words}: **{'met' if met[cohort] else 'missed'}**.")
        a = ablations.get((cohort, c["text"].model))
        if a is None:
            continue
        share = a["share"]
        met[f"ablation {cohort}"] = bool(not np.isnan(share) and share >= SHARE_TARGET)
        what = ("there is no lift to give back" if np.isnan(share) else
                f"shuffling gives back {100 * share:.0f}% of the lift (WAPE {a['real'].WAPE_mean:.1f}% -> "
                f"{a['shuffled'].WAPE_mean:.1f}% shuffled, {a['constant'].WAPE_mean:.1f}% constant)")
        lines.append(f"- Shuffled-text ablation of {c['text'].model} ({cohort}): {what} (target >= "
                     f"{100 * SHARE_TARGET:.0f}%): **{'met' if met[f'ablation {cohort}'] else 'missed'}**.")
    if ratio is not None:
        met["timing"] = bool(ratio <= TIME_TARGET)
        lines.append(f"- TextTiDE fit+backtest time {ratio:.2f}x TiDE's (target <= {TIME_TARGET}x): "
                     f"**{'met' if met['timing'] else 'missed'}**.")
    return lines + [""], met


def findings(sm: pd.DataFrame, d: dict, cohorts: dict, ablations: dict, masks: dict) -> list[str]:
    """Plain-words reading of the numbers; each sentence is printed only when the numbers bear it out."""
    out = ["What the numbers say:", ""]
    inst, panel, cfg = d["inst"], d["panel"], d["cfg"]
    z = cohorts.get("cold, 0 weeks")
    if z is not None:
        share = 100 * inst.actual[masks["cold, 0 weeks"]].sum() / inst.actual[masks["cold"]].sum()
        words = f"- **Launch week (0 weeks of history)**: {versus(z['no_text'], z['text'])}"
        a = ablations.get(("cold, 0 weeks", z["text"].model))
        if a is not None and z["lift"] > 0:
            words += (f"; with shuffled descriptions {a['shuffled'].WAPE_mean:.1f}%, with one constant text "
                      f"{a['constant'].WAPE_mean:.1f}%")
            if min(a["shuffled"].WAPE_mean, a["constant"].WAPE_mean) >= z["no_text"].WAPE_mean:
                words += ", so the whole gain comes from what the descriptions say"
        out.append(words + f". These are {int(masks['cold, 0 weeks'].sum())} of the {int(masks['cold'].sum())} "
                   f"cold-start forecasts and {share:.0f}% of the cohort's units.")
    for subset, label in (("cold, 1-4 weeks", "1-4 weeks of history"), ("warm", "Warm products")):
        c = cohorts.get(subset)
        if c is None:
            continue
        if c["lift"] <= 0:
            verdict = "no text model beats the best model without text"
        elif within_noise(c["no_text"], c["text"]):
            verdict = "the best text model is ahead by less than the seed noise"
        else:
            verdict = "the best text model is ahead"
        out.append(f"- **{label}**: {verdict}: {versus(c['no_text'], c['text'])}.")
    moves = [abs(a[m].WAPE_mean - a["real"].WAPE_mean) for (s, _), a in ablations.items() if s == "warm"
             for m in ("shuffled", "constant")]
    if moves:
        out.append(f"- **Warm ablations**: shuffling or replacing the descriptions moves a text model's warm WAPE by "
                   f"at most {max(moves):.1f} points.")
    seeded = sm[(sm.runs > 1) & sm.subset.isin(["warm", "cold"])]
    if not seeded.empty:
        std = seeded.groupby("subset", sort=False).WAPE_std.max()
        out.append("- **Noise**: the WAPE of one neural model varies over seeds by up to "
                   + ", ".join(f"{v:.1f} points ({k})" for k, v in std.items())
                   + " (std); smaller gaps are not distinguishable from noise.")
    glob = sm[(sm.subset == "warm") & sm.family.isin(["LightGBM", "TiDE", "TFT", "RNN"])]
    if not glob.empty and glob.Bias_mean.max() < 1:
        o1 = panel.week(cfg.origins[0])
        total = np.nansum(panel.values, 0)
        rise = total[o1 : panel.week(cfg.origins[-1]) + inst.horizon].mean() / total[o1 - 12 : o1].mean()
        out.append(f"- **Every global model under-forecasts the warm volume** (bias {glob.Bias_mean.min():.2f}-"
                   f"{glob.Bias_mean.max():.2f}); the shop's weekly units over the test weeks were {rise:.2f}x those "
                   "of the last 12 training weeks, and the median of a right-skewed quantity lies below its mean.")
    w = cohorts.get("warm")
    if w is not None:
        overall = w["no_text"] if w["no_text"].WAPE_mean <= w["text"].WAPE_mean else w["text"]
        out.append(f"- **Best warm WAPE overall**: {overall.model} ({overall.WAPE_mean:.1f}%).")
    return out + [""]


def headline(d: dict, cohorts: dict, ablations: dict, met: dict) -> str:
    cfg = d["cfg"]
    labels = {"warm": "warm (established products)", "cold": "cold start (0-4 weeks of history)",
              "cold, 0 weeks": "cold start, launch week (0 weeks)"}
    rows = [{"cohort": label, "best without text (WAPE %)": f"{c['no_text'].WAPE_mean:.1f} ({c['no_text'].model})",
             "best with text (WAPE %)": f"{c['text'].WAPE_mean:.1f} ({c['text'].model})",
             "lift": f"{c['lift']:+.1f}%"} for s, label in labels.items() if (c := cohorts.get(s)) is not None]
    lines = [
        "**Online Retail benchmark** (`benchmarks/online_retail.py`: weekly unit sales of real products, "
        f"{len(cfg.origins)} rolling origins Sept-Oct 2011, 8-week forecasts, {len(cfg.seeds)} seeds). Lift = how much "
        "lower the pooled WAPE of the best model with product text is than that of the best model without text.",
        "", table(rows), "",
    ]
    sentences, noisy = [], []
    for subset, label in (("cold, 0 weeks", "In the launch week (0 weeks of history)"), ("warm", "For warm products"),
                          ("cold, 1-4 weeks", "For launches with 1-4 weeks of sales")):
        c = cohorts.get(subset)
        if c is None:
            continue
        if within_noise(c["no_text"], c["text"]):
            noisy.append(label.split(" ", 1)[1])
        elif c["lift"] > 0:
            words = f"{label}, {c['text'].model} is {c['lift']:.1f}% better than the best model without text"
            a = ablations.get((subset, c["text"].model))
            if a is not None and not np.isnan(a["share"]):
                words += (", and the gain disappears with shuffled descriptions" if a["share"] >= 1
                          else f"; shuffled descriptions give back {100 * a['share']:.0f}% of it")
            sentences.append(words)
        else:
            sentences.append(f"{label}, the best model without text ({c['no_text'].model}) is {-c['lift']:.1f}% "
                             "better than the best with text")
    if noisy:
        sentences.append(f"For {' and '.join(noisy)}, the best models with and without text are within seed noise of "
                         "each other")
    if sentences:
        lines += [". ".join(sentences) + ".", ""]
    names = {"warm": f"warm lift >= {TARGETS['warm']:g}%", "cold": f"cold-start lift >= {TARGETS['cold']:g}%",
             "ablation warm": "shuffled text gives back >= half the lift (warm)",
             "ablation cold": "shuffled text gives back >= half the lift (cold)",
             "timing": f"TextTiDE time <= {TIME_TARGET}x TiDE"}
    hit = [names[k] for k, v in met.items() if v]
    miss = [names[k] for k, v in met.items() if not v]
    lines.append(f"Targets met: {'; '.join(hit) or 'none'}. Missed: {'; '.join(miss) or 'none'}. Details, ablations "
                 "and timing: benchmarks/README.md.")
    return "\n".join(lines) + "\n"


def validation_choice(sm: pd.DataFrame) -> list[str]:
    """Which text setting had the lowest WAPE in each cohort of a validation run."""
    out = []
    for subset in ("warm", "cold"):
        t = best(sm, subset, True)
        if t is not None:
            out.append(f"{subset}: {t.model} ({t.WAPE_mean:.1f}%)")
    return ["**Lowest WAPE among the text candidates**: " + "; ".join(out) + ".", ""] if out else []


#: each text model's default-settings row and its no-text twin
DEFAULT_TWINS = {"TextTiDE (default settings)": "TiDE", "TextTFT (default settings)": "TFT",
                 "TextBlockRNN (default settings)": "BlockRNN (LSTM)", "TextTSMixer (default settings)": "TSMixer"}


def default_settings_section(scores: pd.DataFrame, subset: str = "warm") -> list[str]:
    """Each text model with its default settings against its twin, seed by seed (same seeds), on ``subset``."""
    wape = scores[scores.subset == subset].pivot_table(index="seed", columns="model", values="WAPE")
    rows, verdicts = [], []
    for text, twin in DEFAULT_TWINS.items():
        if text not in wape or twin not in wape:
            continue
        paired = wape[[text, twin]].dropna()
        diff = paired[text] - paired[twin]
        twin_std = float(paired[twin].std(ddof=0))
        mean_ok, seed_ok = paired[text].mean() <= paired[twin].mean(), diff.max() <= twin_std
        rows.append({"text model (default settings)": text, "WAPE %": f"{paired[text].mean():.2f}",
                     "twin": twin, "twin WAPE %": f"{paired[twin].mean():.2f} ± {twin_std:.2f}",
                     "worst seed minus twin": f"{diff.max():+.2f}", "seeds": len(paired)})
        verdicts.append(f"- {text}: mean {'at or below' if mean_ok else 'above'} its twin; worst seed "
                        f"{diff.max():+.2f} against the twin's seed std {twin_std:.2f} "
                        f"({'within' if seed_ok else 'beyond'}).")
    if not rows:
        return []
    return [f"### Default settings against the no-text twin ({subset} cohort, WAPE %, seed by seed)", "",
            table(rows), "", *verdicts, ""]


def build_report(d: dict, scores: pd.DataFrame) -> dict:
    from online_retail_plots import plot_all

    cfg, runs, meta, inst = d["cfg"], d["runs"], d["meta"], d["inst"]
    sm = summarise(scores)
    masks = {s: inst.mask(*spec) for s, spec in SUBSETS.items()}
    title = {"full": "", "quick": " [QUICK MODE: small, not for conclusions]",
             "validation": " [VALIDATION ORIGINS, used only to choose TextTiDE's text_dim/text_dropout]"}[cfg.mode]
    flag = {"full": "", "quick": " --quick", "validation": " --validate"}[cfg.mode]
    lines = [f"## Online Retail: does product text improve weekly sales forecasts? (`benchmarks/online_retail.py`)"
             f"{title}", "", f"Command: `python benchmarks/online_retail.py{flag}`; {machine()}; total wall time "
             f"{d['elapsed'] / 60:.1f} min (torch and LightGBM on 1 thread each).", ""]
    lines += setup_text(d, masks)
    order = model_order(meta, runs)
    warm_rows = [{"model": n, "text": "yes" if meta[n]["text"] else "",
                  **{k: cell(row(sm, n, "warm"), s) for k, s in (("MAE", "MAE"), ("WAPE %", "WAPE"), ("MASE", "MASE"),
                                                                 ("wQL", "wQL"))},
                  "bias": cell(row(sm, n, "warm"), "Bias", 2), "runs": len(runs[n])}
                 for n in order if n != "Launch profile (median by age)"]
    lines += [f"### Warm cohort ({len(d['warm'])} products x {len(cfg.origins)} origins)", "", table(warm_rows), ""]
    cold_rows = [{"model": n, "text": "yes" if meta[n]["text"] else "",
                  "WAPE % (all)": cell(row(sm, n, "cold"), "WAPE"),
                  "WAPE % (0 wk)": cell(row(sm, n, "cold, 0 weeks"), "WAPE"),
                  "WAPE % (1-4 wk)": cell(row(sm, n, "cold, 1-4 weeks"), "WAPE"),
                  "MAE (all)": cell(row(sm, n, "cold"), "MAE"), "MASE (2-4 wk)": cell(row(sm, n, "cold"), "MASE"),
                  "wQL (all)": cell(row(sm, n, "cold"), "wQL"), "bias (all)": cell(row(sm, n, "cold"), "Bias", 2),
                  "runs": len(runs[n])} for n in order]
    n_cold, n_cold0 = int(masks["cold"].sum()), int(masks["cold, 0 weeks"].sum())
    lines += [f"### Cold-start cohort ({n_cold} forecasts: {n_cold0} with 0 weeks of history, {n_cold - n_cold0} "
              "with 1-4)", "", "n/a: the model cannot forecast some of these products (too little history). MASE is "
              "defined only for products with >= 2 weeks of history.", "", table(cold_rows), ""]
    lift_rows, cohorts = lift_section(sm)
    lines += ["### Lift of the best text model over the best model without text", "",
              "Best = lowest mean WAPE in that cohort among the models that forecast all of it (ablations excluded). "
              "Both sides are picked on these same origins, so both are equally optimistic.", "", table(lift_rows), ""]
    if cfg.mode == "validation":
        lines += validation_choice(sm)
    lines += default_settings_section(scores)
    abl_rows, ablations = ablation_section(sm, meta)
    lines += ["### Ablations (WAPE %)", "",
              "Shuffled: the descriptions permuted across products (one fixed permutation, training and test alike). "
              f'Constant: every description replaced by the same text (`"{CONSTANT_TEXT}"`); for the neighbour '
              "features that makes the 20 'neighbours' an arbitrary fixed set of products. Share given back = "
              "(WAPE shuffled - WAPE real) / (best WAPE without text - WAPE real); above 100% means the model with "
              "shuffled text is worse than the best model without text.", "", table(abl_rows), ""]
    timing, ratio = timing_section(runs, d["enc"], cfg)
    lines += timing
    figures = plot_all(d["panel"], inst, runs, meta, cfg, masks, cohorts)
    if figures:
        lines += ["### Figures", ""] + [f"![{t}]({p})\n" for t, p in figures]
    failed = [m for m, v in meta.items() if "error" in v]
    if failed:
        lines += ["### Models that failed", ""] + [f"- {m}: {meta[m]['error']}" for m in failed] + [""]
    checks, met = targets(cohorts, ablations, ratio)
    lines += ["### Conclusion", ""] + checks + findings(sm, d, cohorts, ablations, masks)
    summary = {
        "cohorts": {s: {"best_no_text": c["no_text"].model, "wape_no_text": c["no_text"].WAPE_mean,
                        "best_text": c["text"].model, "wape_text": c["text"].WAPE_mean, "lift_pct": c["lift"],
                        "wape_no_text_std": c["no_text"].WAPE_std, "wape_text_std": c["text"].WAPE_std}
                    for s, c in cohorts.items()},
        "ablations": {f"{s}|{m}": {k: a[k].WAPE_mean for k in ("real", "shuffled", "constant")} | {"share": a["share"]}
                      for (s, m), a in ablations.items()},
        "targets": met, "timing_ratio": ratio, "config": cfg.describe(), "elapsed_min": d["elapsed"] / 60,
        "seed_std_max": seed_std(*[r for _, r in sm.iterrows()]),
    }
    return {"markdown": "\n".join(lines).rstrip() + "\n", "headline": headline(d, cohorts, ablations, met),
            "summary": summary}
