"""Online Retail: does product text improve weekly sales forecasts? Rolling-origin backtests, two cohorts.

Run (from the repository root)::

    python benchmarks/online_retail.py             # full mode (3 seeds, 7 origins; about 20 min on 2 CPU cores)
    python benchmarks/online_retail.py --quick     # about 6 min: fewer products, origins, epochs, 1 seed
    python benchmarks/online_retail.py --validate  # the validation run that chose text_dim/text_dropout

Protocol (nothing was tuned on the test origins):

- Data: :func:`darts_llm.datasets.load_online_retail` (weekly W-SUN, 53 weeks 2010-12-05..2011-12-04, one series
  per product from its first sale week, static covariates ``description`` and ``price``). ``price`` enters every
  model as ``log1p(price)``.
- Origins: the first forecast week of each backtest; full mode every week from 2011-09-04 to 2011-10-16 (7
  origins), each forecasting 8 weeks (the last ends 2011-12-04). Metrics pool horizons 1-8.
- Global models (LightGBM, TiDE, TFT, BlockRNN, TSMixer and their text twins) are fitted **once per seed** on the weeks
  before the first origin and forecast every origin without refitting. Local models (naive, mean, exponential
  smoothing) use each product's own history up to the origin.
- Cohorts: *warm* = a fixed seeded sample of products with at least 12 weeks of history before the first origin
  and at least one sale in those 12 weeks (the same products at every origin, for every model). *cold-start* =
  products first sold 0-4 weeks before the origin (0 weeks: the launch week is the first forecast week).
- Launch handling: global models see a product's history left-padded with up to 12 zero weeks before its launch
  and a known-in-advance launch covariate (``launched`` flag, ``log1p(age)``), so they can forecast a product
  with 0 weeks of history. Products already on sale in the first 4 weeks of the data are treated as old (age
  unknown) and not padded. Local models are not padded: below their minimum history they are reported as n/a.
- Heavy tails: every global model learns ``log1p(units)`` with quantile losses (0.1, 0.5, 0.9); the point forecast
  is the 0.5 quantile mapped back with ``expm1`` (the median is what pooled WAPE rewards).
- Text: ``StaticTextEmbedder`` (PCA to 16) as static covariates of LightGBM; ``TextNeighbours`` demand covariates
  (20 neighbours, 4-week window) as past covariates of LightGBM; ``TextTiDEModel`` / ``TextTFTModel`` with a
  frozen MiniLM encoder, ``text_dim=4``, ``text_dropout=0.5`` (chosen with ``--validate`` among (16, 0.1),
  (4, 0.1) and (4, 0.5) on validation origins whose forecasts end before the first test week).
- Ablations (``darts_llm.evaluation``): descriptions permuted across products (one seeded permutation, train and
  test alike), and every description replaced by the one constant text.
- Metrics (``benchmarks/harness/scoring.py``, from ``darts.metrics``): MAE; WAPE pooled over products, origins and
  horizons; MASE per forecast, averaged; wQL; bias. Mean ± std over seeds for the neural models.

Writes ``benchmarks/README.md`` (sections ``online_retail`` and ``headline``; the headline also into the
repository README), ``benchmarks/results/online_retail*`` and ``benchmarks/figures/online_retail_*.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from dataclasses import asdict, dataclass, field

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PYTHONWARNINGS", "ignore")  # also silences statsmodels in the joblib workers

import numpy as np
import pandas as pd
import torch

from harness.cohorts import rolling_instances, warm_sample
from harness.panels import add_data_argument, load_panel
from harness.report import RESULTS, ROOT_README, readme_headline, replace_block, write_section
from harness.runner import GlobalRunner, PanelInputs, ensemble_runs, local_baselines, trainable
from harness.scoring import has_mase_scale, score
from harness.specs import ModelSpec, ensemble_specs, with_ablations

WEEK = pd.offsets.Week(weekday=6)
HORIZON = 8
ICL = 12  # input window (weeks) of every global model; also the warm cohort's minimum history
CENSORED_WEEKS = 4  # first sold in the first 4 weeks of the data: on sale before, launch unknown
COLD_MAX_HISTORY = 4
QUANTILES = (0.1, 0.5, 0.9)
SHUFFLE_SEED = 12345
VALIDATION_TEXT = ((16, 0.1), (4, 0.1), (4, 0.5))
DEFAULT_TEXT = {"text_cols": ["description"]}  # every other text argument at the library default  # (text_dim, text_dropout) compared with --validate
TIDE = dict(hidden_size=64, num_encoder_layers=1, num_decoder_layers=1, decoder_output_dim=8,
            temporal_decoder_hidden=16, dropout=0.1)
TFT = dict(hidden_size=16, lstm_layers=1, num_attention_heads=2, hidden_continuous_size=8, dropout=0.1)
RNN = dict(model="LSTM", hidden_dim=32, n_rnn_layers=1, dropout=0.1)
TSMIXER = dict(hidden_size=64, ff_size=64, num_blocks=2, dropout=0.1)
ENSEMBLES = [  # label, member a, member b
    ("ExpSmoothing + TiDE", "ExponentialSmoothing (per series)", "TiDE"),
    ("ExpSmoothing + TextTiDE", "ExponentialSmoothing (per series)", "TextTiDE"),
    ("LightGBM + TiDE", "LightGBM", "TiDE"),
    ("LightGBM + nbrs + TextTiDE", "LightGBM + text neighbours", "TextTiDE"),
]
MODES = {  # mode -> origins, default seeds, sizes and epochs
    "full": dict(origins=("2011-09-04", "2011-10-16"), seeds=[0, 1, 2], n_warm=400, n_train_old=500,
                 tide_epochs=15, tft_epochs=5, rnn_epochs=15, lgbm_trees=200),
    "quick": dict(origins=("2011-09-18", "2011-10-09"), seeds=[0], n_warm=120, n_train_old=300,
                  tide_epochs=4, tft_epochs=2, rnn_epochs=4, lgbm_trees=100, origin_step=3),
    # validation origins: forecast windows end 2011-09-04 at the latest, before the first test week
    "validation": dict(origins=("2011-06-12", "2011-07-10"), seeds=[0, 1], n_warm=400, n_train_old=500,
                       tide_epochs=15, tft_epochs=5, rnn_epochs=15, lgbm_trees=200),
}
MODE_FLAG = {"full": "", "quick": " --quick", "validation": " --validate"}


@dataclass
class Config:
    mode: str
    origins: list[pd.Timestamp]
    seeds: list[int]
    n_warm: int
    n_train_old: int  # products on sale since the data start used for training (all later launches are used)
    tide_epochs: int
    tft_epochs: int
    rnn_epochs: int
    lgbm_trees: int
    models: list[str] | None = None
    text_dim: int = 4
    text_dropout: float = 0.5
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {**asdict(self), "origins": [str(o.date()) for o in self.origins]}


def make_config(args) -> Config:
    mode = "quick" if args.quick else "validation" if args.validate else "full"
    m = dict(MODES[mode])
    first, last = m.pop("origins")
    origins = list(pd.date_range(first, last, freq=WEEK))[:: m.pop("origin_step", 1)]
    cfg = Config(mode, origins, **{**m, "seeds": args.seeds or m["seeds"]})
    cfg.text_dim = args.text_dim or cfg.text_dim
    cfg.text_dropout = cfg.text_dropout if args.text_dropout is None else args.text_dropout
    cfg.n_warm = args.n_warm or cfg.n_warm
    cfg.models = args.models
    return cfg


# ================================================================================================ models
def torch_common(seed: int, epochs: int) -> dict:
    from darts.utils.likelihood_models import QuantileRegression

    return dict(
        input_chunk_length=ICL, output_chunk_length=HORIZON, n_epochs=epochs, batch_size=256,
        likelihood=QuantileRegression(list(QUANTILES)), optimizer_kwargs={"lr": 1e-3}, random_state=seed,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                           "logger": False, "enable_checkpointing": False},
        save_checkpoints=False, force_reset=True,
    )


def model_specs(cfg: Config) -> list[ModelSpec]:
    from darts.models import BlockRNNModel, LightGBMModel, TFTModel, TiDEModel, TSMixerModel

    from darts_llm.models import TextBlockRNNModel, TextTFTModel, TextTiDEModel, TextTSMixerModel

    def net(cls, arch, epochs, **extra):
        return lambda seed: cls(**arch, **extra, **torch_common(seed, epochs))

    def lgbm(past: bool):
        return lambda seed: LightGBMModel(
            lags=ICL, lags_past_covariates=[-4, -3, -2, -1] if past else None, lags_future_covariates=[0],
            output_chunk_length=HORIZON, likelihood="quantile", quantiles=list(QUANTILES), random_state=0,
            n_estimators=cfg.lgbm_trees, learning_rate=0.05, num_leaves=31, min_child_samples=20, num_threads=1,
            verbose=-1)

    def text(dim, dropout):
        return dict(text_cols=["description"], text_dim=dim, text_dropout=dropout)

    tide = ModelSpec("TiDE", "TiDE", net(TiDEModel, TIDE, cfg.tide_epochs), future=("age",))
    if cfg.mode == "validation":  # the candidates for the text pathway's regularisation
        return [tide] + [
            ModelSpec(f"TextTiDE (text_dim {d}, text_dropout {p})", "TiDE",
                      net(TextTiDEModel, TIDE, cfg.tide_epochs, **text(d, p)), "real", future=("age",), text=True)
            for d, p in VALIDATION_TEXT
        ]
    chosen = text(cfg.text_dim, cfg.text_dropout)
    specs = [
        ModelSpec("LightGBM", "LightGBM", lgbm(False), future=("age",), seeded=False),
        *with_ablations(ModelSpec("LightGBM + text PCA", "LightGBM", lgbm(False), "pca:{mode}", future=("age",),
                                  seeded=False)),
        *with_ablations(ModelSpec("LightGBM + text neighbours", "LightGBM", lgbm(True), past=("nbr:{mode}",),
                                  future=("age",), seeded=False)),
        tide,
        *with_ablations(ModelSpec("TextTiDE", "TiDE", net(TextTiDEModel, TIDE, cfg.tide_epochs, **chosen), "{mode}",
                                  future=("age",))),
        ModelSpec("TFT", "TFT", net(TFTModel, TFT, cfg.tft_epochs), future=("age",)),
        *with_ablations(ModelSpec("TextTFT", "TFT", net(TextTFTModel, TFT, cfg.tft_epochs, **chosen), "{mode}",
                                  future=("age",)), modes=("real",)),
        ModelSpec("BlockRNN (LSTM)", "RNN", net(BlockRNNModel, RNN, cfg.rnn_epochs), past=("age",)),
        ModelSpec("TSMixer", "TSMixer", net(TSMixerModel, TSMIXER, cfg.tide_epochs), future=("age",)),
        # the library's default text settings (chosen by benchmarks/text_pathway.py on validation origins)
        ModelSpec("TextTiDE (default settings)", "TiDE", net(TextTiDEModel, TIDE, cfg.tide_epochs, **DEFAULT_TEXT),
                  "real", future=("age",), text=True),
        ModelSpec("TextTFT (default settings)", "TFT", net(TextTFTModel, TFT, cfg.tft_epochs, **DEFAULT_TEXT),
                  "real", future=("age",), text=True),
        ModelSpec("TextBlockRNN (default settings)", "RNN",
                  net(TextBlockRNNModel, RNN, cfg.rnn_epochs, **DEFAULT_TEXT), "real", past=("age",), text=True),
        ModelSpec("TextTSMixer (default settings)", "TSMixer",
                  net(TextTSMixerModel, TSMIXER, cfg.tide_epochs, **DEFAULT_TEXT), "real", future=("age",), text=True),
    ]
    if cfg.models:
        specs = [s for s in specs if any(m.lower() in s.name.lower() for m in cfg.models)]
    return specs


def member_template(name: str, specs: dict[str, ModelSpec]):
    """An untrained Darts model of ensemble member ``name`` (what the ensemble is made of)."""
    if name in specs:
        return specs[name].build(0)
    from darts.models import ExponentialSmoothing
    from darts.utils.utils import ModelMode, SeasonalityMode

    return ExponentialSmoothing(trend=ModelMode.NONE, seasonal=SeasonalityMode.NONE)


# ================================================================================================= main
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def prewarm_encoder(panel) -> dict:
    """Load MiniLM and encode every description once (the one-off cost, kept out of the model timings)."""
    from darts_llm import default_cache, get_encoder

    t0 = time.perf_counter()
    encoder = get_encoder()
    load_s = time.perf_counter() - t0
    texts = sorted(set(panel.texts["real"]) | set(panel.texts["constant"]))
    t0 = time.perf_counter()
    default_cache().encode(encoder, texts, show_progress=False)
    return {"load_s": load_s, "encode_s": time.perf_counter() - t0, "n_texts": len(texts),
            "encoder_id": encoder.encoder_id}


def run(args, cfg: Config) -> dict:
    panel = load_panel(args.data, censored_weeks=CENSORED_WEEKS, shuffle_seed=SHUFFLE_SEED)
    o1 = panel.week(cfg.origins[0])
    warm = warm_sample(panel, o1, ICL, cfg.n_warm, seed=2011)
    inst = rolling_instances(panel, cfg.origins, warm, COLD_MAX_HISTORY, HORIZON)
    fr = inst.frame
    log(f"{len(panel.series)} products; warm sample {len(warm)}; instances {len(fr)} (cold "
        f"{int((fr.cohort == 'cold').sum())}, of which 0 weeks {int(inst.mask('cold', 0, 0).sum())})")
    # training panel of the global models: all later launches, the warm sample, and some older products
    launched = np.flatnonzero(~panel.censored & (panel.launch < o1))
    old = np.setdiff1d(np.flatnonzero(panel.censored), warm)
    extra = np.random.default_rng(7).choice(old, size=min(cfg.n_train_old, len(old)), replace=False)
    train_idx = np.unique(np.concatenate([launched, warm, extra]))
    log(f"training products: {len(train_idx)} ({len(launched)} launched after the data start)")
    enc = prewarm_encoder(panel)
    log(f"encoder: {enc['n_texts']} descriptions encoded in {enc['load_s'] + enc['encode_s']:.1f}s")

    runs, meta = {}, {}
    t0 = time.perf_counter()
    for name, res in local_baselines(panel, inst, o1, ICL, COLD_MAX_HISTORY).items():
        runs[name], meta[name] = [res], {"text": False, "family": "baseline"}
    log(f"local baselines done in {time.perf_counter() - t0:.0f}s")

    inputs = PanelInputs(panel, pad=ICL, neighbours={"k": 20, "window": 4})
    runner = GlobalRunner(inputs, inst, trainable(panel, train_idx, o1, ICL, ICL + HORIZON), o1, QUANTILES,
                          pca_idx=train_idx)
    specs = model_specs(cfg)
    for seed in cfg.seeds:  # seeds outermost: TiDE and TextTiDE timings alternate under the same machine load
        for spec in specs:
            if not spec.seeded and seed != cfg.seeds[0]:
                continue
            meta[spec.name] = {"text": spec.text, "family": spec.family}
            try:
                res = runner.run(spec, seed)
            except Exception as err:  # keep going; the report says which model failed
                log(f"FAILED {spec.name} seed {seed}: {type(err).__name__}: {err}")
                meta[spec.name]["error"] = f"{type(err).__name__}: {err}"
                continue
            runs.setdefault(spec.name, []).append(res)
            log(f"{spec.name} seed {seed}: fit {res['fit_s']:.0f}s predict {res['predict_s']:.1f}s "
                f"({res['n_train']} train series)")
    by_name = {s.name: s for s in specs}
    available = {name: m["text"] for name, m in meta.items() if name in runs}
    ablated = {n for n in available if f"{n}, shuffled text" in available}
    for ens in ensemble_specs(ENSEMBLES, available, ablated):
        if all(m in runs for m in ens.members):
            members = [member_template(m, by_name) for m in ens.members]
            runs[ens.name] = ensemble_runs(ens, runs, members)
            meta[ens.name] = {"text": ens.text, "family": ens.family}
    return {"panel": panel, "inst": inst, "runs": runs, "meta": meta, "enc": enc, "train_idx": train_idx,
            "warm": warm, "cfg": cfg}


def score_runs(d: dict) -> pd.DataFrame:
    """One row per (model, seed, subset) with every metric."""
    from online_retail_report import SUBSETS

    panel, inst = d["panel"], d["inst"]
    mase_ok = has_mase_scale(panel, inst)
    rows = []
    for subset, (cohort, lo, hi) in SUBSETS.items():
        mask = inst.mask(cohort, lo, hi)
        for name, rs in d["runs"].items():
            for r in rs:
                rows.append({"model": name, "seed": r.get("seed"), "subset": subset,
                             **score(panel, inst, r["pred"], r.get("quant"), QUANTILES, mask, mase_ok),
                             **{k: d["meta"][name][k] for k in ("text", "family")}})
    return pd.DataFrame(rows)


def report_and_save(d: dict, write: bool) -> None:
    from online_retail_report import build_report

    scores = score_runs(d)
    report = build_report(d, scores)
    print(report["markdown"])
    cfg = d["cfg"]
    suffix = {"full": "", "quick": "_quick", "validation": "_validation"}[cfg.mode]
    RESULTS.mkdir(exist_ok=True)
    scores.to_csv(RESULTS / f"online_retail_metrics{suffix}.csv", index=False)
    (RESULTS / f"online_retail_summary{suffix}.json").write_text(json.dumps(report["summary"], indent=2, default=str))
    if write and cfg.mode == "full":
        write_section("online_retail", report["markdown"])
        write_section("headline", report["headline"])
        replace_block(ROOT_README, "headline", readme_headline())
    else:
        (RESULTS / f"online_retail{suffix}.md").write_text(report["markdown"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--quick", action="store_true", help="small run (a few minutes) for development")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the neural models (default 0 1 2; quick: 0)")
    parser.add_argument("--n-warm", type=int, help="size of the warm-cohort sample")
    parser.add_argument("--validate", action="store_true",
                        help="validation origins 2011-06-12..07-10 (before the test weeks): compare TextTiDE's "
                        "text_dim/text_dropout candidates against TiDE; writes results/online_retail_validation.md")
    parser.add_argument("--text-dim", type=int, help="text_dim of TextTiDE/TextTFT (default 4)")
    parser.add_argument("--text-dropout", type=float, help="text_dropout of TextTiDE/TextTFT (default 0.5)")
    parser.add_argument("--models", nargs="+", help="only global models whose name contains one of these")
    parser.add_argument("--no-write", action="store_true", help="do not touch the README files")
    parser.add_argument("--dump", help="pickle the forecasts to this file (for re-rendering with --from-dump)")
    parser.add_argument("--from-dump", help="re-render the report and figures from a --dump file, no fitting")
    args = parser.parse_args(argv)
    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are >10x slower (spin-waiting)
    if args.from_dump:
        with open(args.from_dump, "rb") as fh:
            d = pickle.load(fh)
    else:
        cfg = make_config(args)
        started = time.perf_counter()
        log(f"config: {cfg.describe()}")
        d = run(args, cfg)
        d["elapsed"] = time.perf_counter() - started
        if args.dump:
            with open(args.dump, "wb") as fh:
                pickle.dump(d, fh)
    report_and_save(d, write=not args.no_write)
    log(f"done in {d['elapsed'] / 60:.1f} min of models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
