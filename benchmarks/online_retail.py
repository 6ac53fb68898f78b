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
  origins), each forecasting 8 weeks (the last ends 2011-12-04). Metrics pool horizons 1-8 (and are also given
  per horizon).
- Global models (LightGBM, TiDE, TFT, BlockRNN and their text twins) are fitted **once per seed** on the weeks
  before the first origin (last training week 2011-08-28) and forecast every origin without refitting (Darts'
  ``historical_forecasts(retrain=False)`` semantics, done with ``predict`` per origin). Local models (naive, mean,
  exponential smoothing) use each product's own history up to the origin.
- Cohorts: *warm* = a fixed seeded sample of products with at least 12 weeks of history before the first origin
  and at least one sale in those 12 weeks (the same products at every origin, for every model). *cold-start* =
  products first sold 0-4 weeks before the origin (0 weeks: the launch week is the first forecast week).
- Launch handling: the weeks before a product's first sale are real zeros (the shop did not sell it). Global models
  see a product's history left-padded with up to 12 zero weeks before its launch (never before the data start) and
  a known-in-advance "weeks since launch" covariate (``launched`` flag, ``log1p(age)``), so they learn the launch
  phase from the launches in the training weeks and can forecast a product with 0 weeks of history. Products
  already on sale in the first 4 weeks of the data are treated as old (age unknown, set to 52 weeks) and not padded.
  Local models are not padded: naive/mean need >= 1 week, exponential smoothing >= 3 weeks; below that they are
  reported as n/a rather than faked.
- Heavy tails: every global model is trained on ``log1p(units)`` (the transform of Darts'
  ``InvertibleMapper(np.log1p, np.expm1)``) with quantile losses (0.1, 0.5, 0.9); the point forecast is the 0.5
  quantile mapped back with ``expm1`` (the median is what pooled WAPE rewards, and quantiles survive monotone maps).
- Text: (a) ``StaticTextEmbedder`` (MiniLM, PCA to 16 on the training descriptions) as numeric static covariates of
  LightGBM; (b) ``TextNeighbours`` demand covariates (what the 20 products with the most similar descriptions sold,
  causal, 4-week window) as past covariates of LightGBM; (c) ``TextTiDEModel`` / ``TextTFTModel`` with a frozen
  MiniLM encoder, ``text_dim=4``, ``text_dropout=0.5``: chosen with ``--validate`` (validation origins
  2011-06-12..07-10, whose forecasts end before the first test week) among (16, 0.1) = the library defaults,
  (4, 0.1) and (4, 0.5). This is the only setting chosen on data; everything else was fixed beforehand.
- Ablations: descriptions permuted across products (one fixed permutation, train and test alike), and every
  description replaced by the same constant text.
- Metrics: MAE; WAPE = sum|error| / sum|actual| pooled over products, origins and horizons (%); MASE per product
  and origin, scaled by the in-sample mean absolute one-week change of the product's own history (skipped where
  that history has < 2 weeks or never changes), averaged; wQL = mean over the quantiles 0.1/0.5/0.9 of
  2 * sum(pinball loss) / sum|actual| (probabilistic models only). Mean ± std over seeds for the neural models.

Writes ``benchmarks/README.md`` (sections ``online_retail`` and ``headline``), ``benchmarks/results/online_retail*``
and ``benchmarks/figures/online_retail_*.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PYTHONWARNINGS", "ignore")  # also silences statsmodels in the joblib workers

import numpy as np
import pandas as pd
import torch
from darts import TimeSeries

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from report import machine, table, write_section

ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
RESULTS = HERE / "results"
FIGURES = HERE / "figures"

WEEK = pd.offsets.Week(weekday=6)
HORIZON = 8
ICL = 12  # input window (weeks) of every global model; also the warm cohort's minimum history
PAD = ICL  # zero weeks put before a launch for the global models
CENSORED_UNTIL = pd.Timestamp("2010-12-26")  # first sold by then: on sale when the data begin, age unknown
COLD_MAX_HISTORY = 4
QUANTILES = (0.1, 0.5, 0.9)
#: (text_dim, text_dropout) of TextTiDE compared on the validation origins (--validate)
VALIDATION_TEXT = ((16, 0.1), (4, 0.1), (4, 0.5))
CONSTANT_TEXT = "PRODUCT"
MODE_FLAG = {"full": "", "quick": " --quick", "validation": " --validate"}


@dataclass
class Config:
    origins: list[pd.Timestamp]
    seeds: list[int]
    n_warm: int
    n_train_old: int  # products on sale since the data start used for training (all later launches are used)
    tide_epochs: int
    tft_epochs: int
    rnn_epochs: int
    lgbm_trees: int
    quick: bool
    models: list[str] | None = None
    mode: str = "full"  # full | quick | validation
    # TextTiDE / TextTFT text pathway: chosen with --validate (origins 2011-06-12..07-10, before the test weeks)
    # among VALIDATION_TEXT; the library defaults are text_dim=16, text_dropout=0.1
    text_dim: int = 4
    text_dropout: float = 0.5

    def describe(self) -> dict:
        return {k: (v if k != "origins" else [str(o.date()) for o in v]) for k, v in self.__dict__.items()}


def make_config(args) -> Config:
    if args.quick:
        origins = [pd.Timestamp("2011-09-18"), pd.Timestamp("2011-10-09")]
        cfg = Config(
            origins,
            args.seeds or [0],
            n_warm=120,
            n_train_old=300,
            tide_epochs=4,
            tft_epochs=2,
            rnn_epochs=4,
            lgbm_trees=100,
            quick=True,
            mode="quick",
        )
    elif args.validate:
        # validation origins: forecast windows end 2011-09-04 at the latest, before the first test week
        origins = list(pd.date_range("2011-06-12", "2011-07-10", freq=WEEK))
        cfg = Config(
            origins,
            args.seeds or [0, 1],
            n_warm=400,
            n_train_old=500,
            tide_epochs=15,
            tft_epochs=5,
            rnn_epochs=15,
            lgbm_trees=200,
            quick=False,
            mode="validation",
        )
    else:
        origins = list(pd.date_range("2011-09-04", "2011-10-16", freq=WEEK))
        cfg = Config(
            origins,
            args.seeds or [0, 1, 2],
            n_warm=400,
            n_train_old=500,
            tide_epochs=15,
            tft_epochs=5,
            rnn_epochs=15,
            lgbm_trees=200,
            quick=False,
            mode="full",
        )
    if args.text_dim:
        cfg.text_dim = args.text_dim
    if args.text_dropout is not None:
        cfg.text_dropout = args.text_dropout
    if args.n_warm:
        cfg.n_warm = args.n_warm
    cfg.models = args.models
    return cfg


# ==================================================================================================== data
@dataclass
class Panel:
    """All products on the common weekly axis."""

    times: pd.DatetimeIndex
    values: np.ndarray  # (n_products, n_weeks) float64, NaN before the first sale
    launch: np.ndarray  # index of the first sale week
    censored: np.ndarray  # bool: on sale when the data begin
    codes: list[str]
    texts: dict[str, list[str]]  # text variant -> description per product
    log_price: np.ndarray
    series: list[TimeSeries] = field(repr=False, default_factory=list)

    def week(self, t: pd.Timestamp) -> int:
        return int(self.times.get_loc(t))


def load_panel(path: Path) -> Panel:
    from darts_llm.datasets import load_online_retail

    series = load_online_retail(path, freq="W", download=False)
    times = series[0].time_index
    for s in series[1:]:
        if s.start_time() < times[0]:
            times = s.time_index
    times = pd.date_range(min(s.start_time() for s in series), max(s.end_time() for s in series), freq=WEEK)
    values = np.full((len(series), len(times)), np.nan)
    for i, s in enumerate(series):
        values[i, times.get_indexer(s.time_index)] = s.univariate_values()
    launch = np.array([times.get_loc(s.start_time()) for s in series])
    censored = np.array([s.start_time() <= CENSORED_UNTIL for s in series])
    descriptions = [str(s.static_covariates["description"].iloc[0]) for s in series]
    rng = np.random.default_rng(12345)
    texts = {
        "real": descriptions,
        "shuffled": [descriptions[j] for j in rng.permutation(len(descriptions))],
        "constant": [CONSTANT_TEXT] * len(descriptions),
    }
    price = np.array([float(s.static_covariates["price"].iloc[0]) for s in series])
    codes = [s.metadata["stock_code"] for s in series]
    return Panel(times, values, launch, censored, codes, texts, np.log1p(price), series)


@dataclass
class Instances:
    """One row per (origin, product) to forecast: cohort, weeks of history, actuals and the MASE scale."""

    frame: pd.DataFrame  # origin, o (week index of the origin), idx (product), cohort, history (weeks)
    actual: np.ndarray  # (N, HORIZON)
    scale: np.ndarray  # (N,) MASE denominator, NaN where undefined


def make_instances(panel: Panel, cfg: Config) -> tuple[Instances, np.ndarray]:
    o1 = panel.week(cfg.origins[0])
    last12 = np.nan_to_num(panel.values[:, o1 - ICL : o1]).sum(1)
    eligible = np.flatnonzero((panel.launch <= o1 - ICL) & (last12 > 0))
    rng = np.random.default_rng(2011)
    warm = np.sort(rng.choice(eligible, size=min(cfg.n_warm, len(eligible)), replace=False))
    rows = []
    for origin in cfg.origins:
        o = panel.week(origin)
        for i in warm:
            rows.append((origin, o, i, "warm", o - panel.launch[i]))
        cold = np.flatnonzero((panel.launch <= o) & (panel.launch >= o - COLD_MAX_HISTORY) & ~panel.censored)
        for i in cold:
            rows.append((origin, o, i, "cold", o - panel.launch[i]))
    frame = pd.DataFrame(rows, columns=["origin", "o", "idx", "cohort", "history"])
    actual = np.stack([panel.values[r.idx, r.o : r.o + HORIZON] for r in frame.itertuples()])
    scale = np.full(len(frame), np.nan)
    for n, r in enumerate(frame.itertuples()):
        hist = panel.values[r.idx, panel.launch[r.idx] : r.o]
        if len(hist) >= 2:
            d = np.abs(np.diff(hist)).mean()
            scale[n] = d if d > 0 else np.nan
    return Instances(frame, actual, scale), warm


# ============================================================================================ input series
class Inputs:
    """Builds (and caches) the Darts inputs of the global models: log1p targets with left zero padding,
    static covariates per text variant, the launch-age covariate and the text-neighbour demand covariates."""

    def __init__(self, panel: Panel):
        self.p = panel
        self._age: dict[int, TimeSeries] = {}
        self.nbr: dict[str, list[TimeSeries]] = {}
        self.pca: dict[str, object] = {}

    def static(self, i: int, variant: str) -> pd.DataFrame:
        """``variant``: ``num`` (price only), ``real``/``shuffled``/``constant`` (description + price)."""
        if variant == "num":
            return pd.DataFrame({"price": [np.float32(self.p.log_price[i])]})
        return pd.DataFrame(
            {
                "description": pd.array([self.p.texts[variant][i]], dtype="str"),
                "price": [np.float32(self.p.log_price[i])],
            }
        )

    def target(self, i: int, o: int, variant: str) -> TimeSeries:
        """log1p sales of product ``i`` before week ``o``, left-padded with zeros before its launch."""
        p = self.p
        start = p.launch[i] if p.censored[i] else max(0, p.launch[i] - PAD)
        vals = np.nan_to_num(p.values[i, start:o], nan=0.0)
        return TimeSeries.from_times_and_values(
            p.times[start:o],
            np.log1p(vals).astype(np.float32)[:, None],
            columns=["quantity"],
            static_covariates=self.static(i, variant),
            metadata={"stock_code": p.codes[i]},
        )

    def age(self, i: int) -> TimeSeries:
        if i not in self._age:
            p = self.p
            weeks = np.arange(len(p.times)) - p.launch[i]
            if p.censored[i]:
                weeks = np.full(len(p.times), 52)
            launched = (weeks >= 0).astype(np.float32)
            age = np.log1p(np.clip(weeks, 0, 52)) / np.log1p(52)
            self._age[i] = TimeSeries.from_times_and_values(
                p.times, np.stack([launched, age], 1).astype(np.float32), columns=["launched", "age"]
            )
        return self._age[i]

    def neighbours(self, variant: str) -> list[TimeSeries]:
        """Text-neighbour demand covariates of every product (``variant`` of the descriptions)."""
        if variant not in self.nbr:
            from darts_llm.neighbours import TextNeighbours

            p = self.p
            panel = [
                s.with_static_covariates(pd.DataFrame({"description": pd.array([t], dtype="str")}))
                for s, t in zip(p.series, p.texts[variant])
            ]
            nb = TextNeighbours().fit(panel)
            covs = nb.demand_covariates(panel, k=20, window=4, exclude_self=True)
            self.nbr[variant] = covs
        return self.nbr[variant]


# ================================================================================================ models
def trainer_kwargs() -> dict:
    return {
        "accelerator": "cpu",
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
        "enable_checkpointing": False,
    }


@dataclass
class Spec:
    """A global model: factory(seed), the static-covariate variant, and which covariates it reads."""

    name: str
    kind: str  # "lgbm" | "torch"
    factory: object
    static: str  # num | real | shuffled | constant | pca
    past: tuple = ()  # ("nbr:<variant>",) and/or ("age",)
    future: tuple = ()  # ("age",)
    text: bool = False
    seeded: bool = True
    family: str = ""


def _torch_common(seed: int, epochs: int) -> dict:
    from darts.utils.likelihood_models import QuantileRegression

    return dict(
        input_chunk_length=ICL,
        output_chunk_length=HORIZON,
        n_epochs=epochs,
        batch_size=256,
        likelihood=QuantileRegression(list(QUANTILES)),
        optimizer_kwargs={"lr": 1e-3},
        random_state=seed,
        pl_trainer_kwargs=trainer_kwargs(),
        save_checkpoints=False,
        force_reset=True,
    )


def tide_kwargs(seed, cfg):
    return dict(
        hidden_size=64,
        num_encoder_layers=1,
        num_decoder_layers=1,
        decoder_output_dim=8,
        temporal_decoder_hidden=16,
        dropout=0.1,
        **_torch_common(seed, cfg.tide_epochs),
    )


def tft_kwargs(seed, cfg):
    return dict(
        hidden_size=16,
        lstm_layers=1,
        num_attention_heads=2,
        hidden_continuous_size=8,
        dropout=0.1,
        **_torch_common(seed, cfg.tft_epochs),
    )


def rnn_kwargs(seed, cfg):
    return dict(model="LSTM", hidden_dim=32, n_rnn_layers=1, dropout=0.1, **_torch_common(seed, cfg.rnn_epochs))


def lgbm(seed, cfg, past: bool):
    from darts.models import LightGBMModel

    return LightGBMModel(
        lags=ICL,
        lags_past_covariates=[-4, -3, -2, -1] if past else None,
        lags_future_covariates=[0],
        output_chunk_length=HORIZON,
        likelihood="quantile",
        quantiles=list(QUANTILES),
        random_state=0,
        n_estimators=cfg.lgbm_trees,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=20,
        num_threads=1,
        verbose=-1,
    )


def model_specs(cfg: Config) -> list[Spec]:
    from darts.models import BlockRNNModel, TFTModel, TiDEModel

    from darts_llm.models import TextTFTModel, TextTiDEModel

    text = {"text_cols": ["description"], "text_dim": cfg.text_dim, "text_dropout": cfg.text_dropout}
    if cfg.mode == "validation":  # the candidates for the text pathway's regularisation
        specs = [
            Spec("TiDE", "torch", lambda s: TiDEModel(**tide_kwargs(s, cfg)), "num", future=("age",), family="TiDE")
        ]
        for dim, drop in VALIDATION_TEXT:
            specs.append(
                Spec(
                    f"TextTiDE (text_dim {dim}, text_dropout {drop})",
                    "torch",
                    lambda s, d=dim, p=drop: TextTiDEModel(
                        text_cols=["description"], text_dim=d, text_dropout=p, **tide_kwargs(s, cfg)
                    ),
                    "real",
                    future=("age",),
                    text=True,
                    family="TiDE",
                )
            )
        return specs
    specs = [
        Spec(
            "LightGBM", "lgbm", lambda s: lgbm(s, cfg, False), "num", future=("age",), seeded=False, family="LightGBM"
        ),
        Spec(
            "LightGBM + text PCA",
            "lgbm",
            lambda s: lgbm(s, cfg, False),
            "pca",
            future=("age",),
            text=True,
            seeded=False,
            family="LightGBM",
        ),
        Spec(
            "LightGBM + text PCA, shuffled text",
            "lgbm",
            lambda s: lgbm(s, cfg, False),
            "pca:shuffled",
            future=("age",),
            text=True,
            seeded=False,
            family="ablation",
        ),
        Spec(
            "LightGBM + text PCA, constant text",
            "lgbm",
            lambda s: lgbm(s, cfg, False),
            "pca:constant",
            future=("age",),
            text=True,
            seeded=False,
            family="ablation",
        ),
        Spec(
            "LightGBM + text neighbours",
            "lgbm",
            lambda s: lgbm(s, cfg, True),
            "num",
            past=("nbr:real",),
            future=("age",),
            text=True,
            seeded=False,
            family="LightGBM",
        ),
        Spec(
            "LightGBM + nbrs, shuffled text",
            "lgbm",
            lambda s: lgbm(s, cfg, True),
            "num",
            past=("nbr:shuffled",),
            future=("age",),
            text=True,
            seeded=False,
            family="ablation",
        ),
        Spec(
            "LightGBM + nbrs, constant text",
            "lgbm",
            lambda s: lgbm(s, cfg, True),
            "num",
            past=("nbr:constant",),
            future=("age",),
            text=True,
            seeded=False,
            family="ablation",
        ),
        Spec("TiDE", "torch", lambda s: TiDEModel(**tide_kwargs(s, cfg)), "num", future=("age",), family="TiDE"),
        Spec(
            "TextTiDE",
            "torch",
            lambda s: TextTiDEModel(**text, **tide_kwargs(s, cfg)),
            "real",
            future=("age",),
            text=True,
            family="TiDE",
        ),
        Spec(
            "TextTiDE, shuffled text",
            "torch",
            lambda s: TextTiDEModel(**text, **tide_kwargs(s, cfg)),
            "shuffled",
            future=("age",),
            text=True,
            family="ablation",
        ),
        Spec(
            "TextTiDE, constant text",
            "torch",
            lambda s: TextTiDEModel(**text, **tide_kwargs(s, cfg)),
            "constant",
            future=("age",),
            text=True,
            family="ablation",
        ),
        Spec("TFT", "torch", lambda s: TFTModel(**tft_kwargs(s, cfg)), "num", future=("age",), family="TFT"),
        Spec(
            "TextTFT",
            "torch",
            lambda s: TextTFTModel(**text, **tft_kwargs(s, cfg)),
            "real",
            future=("age",),
            text=True,
            family="TFT",
        ),
        Spec(
            "BlockRNN (LSTM)",
            "torch",
            lambda s: BlockRNNModel(**rnn_kwargs(s, cfg)),
            "num",
            past=("age",),
            family="RNN",
        ),
    ]
    if cfg.models:
        specs = [s for s in specs if any(m.lower() in s.name.lower() for m in cfg.models)]
    return specs


class Runner:
    def __init__(self, panel: Panel, inst: Instances, inputs: Inputs, cfg: Config, train_idx: np.ndarray):
        self.p, self.inst, self.inputs, self.cfg, self.train_idx = panel, inst, inputs, cfg, train_idx
        self.o1 = panel.week(cfg.origins[0])
        self._series_cache: dict = {}

    def _targets(self, idx, o, static: str) -> list[TimeSeries]:
        key = (tuple(idx), o, static)
        if key not in self._series_cache:
            pca = static.startswith("pca")
            series = [self.inputs.target(i, o, "num" if pca else static) for i in idx]
            if pca:  # "pca" (real descriptions), "pca:shuffled", "pca:constant"
                series = self._pca_transform(series, idx, static.partition(":")[2] or "real")
            self._series_cache[key] = series
        return self._series_cache[key]

    def _pca_transform(self, series, idx, variant: str):
        """StaticTextEmbedder (PCA to 16, fitted on the training products' descriptions of ``variant``)."""
        if variant not in self.inputs.pca:
            from darts_llm.dataprocessing import StaticTextEmbedder

            train = [self.inputs.target(i, self.o1, variant) for i in self.train_idx]
            # one distinct text cannot be PCA'd (the library says so): the raw embedding, identical for every
            # product, is the same information (constant columns, which trees ignore)
            projection = None if variant == "constant" else "pca"
            self.inputs.pca[variant] = StaticTextEmbedder(
                text_cols="description", n_components=16, projection=projection
            ).fit(train)
        with_text = [s.with_static_covariates(self.inputs.static(i, variant)) for s, i in zip(series, idx)]
        return self.inputs.pca[variant].transform(with_text)

    def _covariates(self, spec: Spec, idx) -> tuple[list | None, list | None]:
        def build(names):
            if not names:
                return None
            out = []
            for i in idx:
                parts = []
                for n in names:
                    if n == "age":
                        parts.append(self.inputs.age(i))
                    else:
                        parts.append(self.inputs.neighbours(n.split(":")[1])[i])
                ts = parts[0]
                for other in parts[1:]:
                    ts = ts.stack(other.slice_intersect(ts))
                out.append(ts)
            return out

        return build(spec.past), build(spec.future)

    def run(self, spec: Spec, seed: int) -> dict:
        """Fit on the training weeks, forecast every origin; returns predictions, quantiles and timings."""
        train_idx = [
            i
            for i in self.train_idx
            if self.o1 - (self.p.launch[i] if self.p.censored[i] else max(0, self.p.launch[i] - PAD)) >= ICL + HORIZON
        ]
        series = self._targets(train_idx, self.o1, spec.static)
        past, future = self._covariates(spec, train_idx)
        model = spec.factory(seed)
        t0 = time.perf_counter()
        model.fit(series, past_covariates=past, future_covariates=future)
        fit_s = time.perf_counter() - t0
        frame = self.inst.frame
        n = len(frame)
        pred = np.full((n, HORIZON), np.nan)
        quant = np.full((n, HORIZON, len(QUANTILES)), np.nan)
        predict_s = 0.0
        for o, rows in frame.groupby("o").groups.items():
            rows = np.asarray(rows)
            idx = frame.loc[rows, "idx"].to_numpy()
            inputs = self._targets(idx, o, spec.static)
            past, future = self._covariates(spec, idx)
            t0 = time.perf_counter()
            fc = model.predict(
                HORIZON,
                series=inputs,
                past_covariates=past,
                future_covariates=future,
                predict_likelihood_parameters=True,
                show_warnings=False,
            )
            predict_s += time.perf_counter() - t0
            q = np.stack([f.values(copy=False) for f in fc])  # (rows, H, n_quantiles) on the log1p scale
            quant[rows] = np.expm1(np.clip(q, 0, None))
            pred[rows] = quant[rows][:, :, QUANTILES.index(0.5)]
        return {"pred": pred, "quant": quant, "fit_s": fit_s, "predict_s": predict_s, "n_train": len(series)}


# ========================================================================================= local baselines
def local_baselines(panel: Panel, inst: Instances, train_end: int) -> dict[str, dict]:
    """Naive last value, mean of the last 12 weeks, the no-text launch profile, per-series exponential smoothing."""
    frame = inst.frame
    n = len(frame)
    naive = np.full((n, HORIZON), np.nan)
    mean = np.full((n, HORIZON), np.nan)
    for k, r in enumerate(frame.itertuples()):
        hist = panel.values[r.idx, panel.launch[r.idx] : r.o]
        if len(hist):
            naive[k] = hist[-1]
            mean[k] = hist[-ICL:].mean()
    out = {"Naive (last value)": {"pred": naive}, "Mean of last 12 weeks": {"pred": mean}}

    # launch profile: median sales at each week since launch over the launches whose weeks lie before training end
    launches = np.flatnonzero(~panel.censored & (panel.launch < train_end))
    max_age = COLD_MAX_HISTORY + HORIZON
    profile = np.full(max_age, np.nan)
    for a in range(max_age):
        vals = [panel.values[i, panel.launch[i] + a] for i in launches if panel.launch[i] + a < train_end]
        profile[a] = np.median(vals)
    prof = np.full((n, HORIZON), np.nan)
    cold = (frame["cohort"] == "cold").to_numpy()
    for k in np.flatnonzero(cold):
        h = frame["history"].iat[k]
        prof[k] = profile[h : h + HORIZON]
    out["Launch profile (median by age)"] = {"pred": prof, "note": f"{len(launches)} earlier launches"}

    t0 = time.perf_counter()
    out["ExponentialSmoothing (per series)"] = {"pred": exp_smoothing(panel, inst)}
    out["ExponentialSmoothing (per series)"]["fit_s"] = time.perf_counter() - t0
    return out


def exp_smoothing(panel: Panel, inst: Instances) -> np.ndarray:
    from darts.models import ExponentialSmoothing
    from darts.utils.utils import ModelMode, SeasonalityMode

    from darts_llm.models import PerSeriesModel

    frame = inst.frame
    pred = np.full((len(frame), HORIZON), np.nan)
    template = ExponentialSmoothing(trend=ModelMode.NONE, seasonal=SeasonalityMode.NONE)
    min_len = template.min_train_series_length
    for o, rows in frame.groupby("o").groups.items():
        rows = np.asarray(rows)
        ok = [r for r in rows if o - panel.launch[frame["idx"].iat[r]] >= min_len]
        series = []
        for r in ok:
            i = frame["idx"].iat[r]
            series.append(
                TimeSeries.from_times_and_values(
                    panel.times[panel.launch[i] : o], panel.values[i, panel.launch[i] : o][:, None].astype(np.float32)
                )
            )
        model = PerSeriesModel(template, n_jobs=2)
        model.fit(series)
        fc = model.predict(HORIZON, series=series)
        pred[ok] = np.clip(np.stack([f.univariate_values() for f in fc]), 0, None)
    return pred


# ================================================================================================ metrics
def metrics(inst: Instances, pred: np.ndarray, quant: np.ndarray | None, mask: np.ndarray) -> dict:
    """MAE, WAPE %, MASE, wQL on the instances in ``mask``; NaN when any of them has no forecast."""
    p, a = pred[mask], inst.actual[mask]
    if mask.sum() == 0 or np.isnan(p).any():
        return {"MAE": np.nan, "WAPE": np.nan, "MASE": np.nan, "wQL": np.nan, "Bias": np.nan, "n": int(mask.sum())}
    err = np.abs(p - a)
    scale = inst.scale[mask]
    ok = ~np.isnan(scale)
    out = {
        "MAE": float(err.mean()),
        "WAPE": float(100 * err.sum() / a.sum()),
        "Bias": float(p.sum() / a.sum()),
        "MASE": float((err[ok].mean(1) / scale[ok]).mean()) if ok.any() else np.nan,
        "n": int(mask.sum()),
    }
    if quant is not None and not np.isnan(quant[mask]).any():
        q = quant[mask]
        losses = []
        for j, tau in enumerate(QUANTILES):
            d = a - q[:, :, j]
            losses.append(2 * np.maximum(tau * d, (tau - 1) * d).sum() / a.sum())
        out["wQL"] = float(np.mean(losses))
    else:
        out["wQL"] = np.nan
    return out


def wape_by_horizon(inst: Instances, pred: np.ndarray, mask: np.ndarray) -> np.ndarray:
    p, a = pred[mask], inst.actual[mask]
    if np.isnan(p).any():
        return np.full(HORIZON, np.nan)
    return 100 * np.abs(p - a).sum(0) / a.sum(0)


# ================================================================================================= main
def prewarm_encoder(panel: Panel) -> dict:
    """Load MiniLM and encode every description once (the one-off cost, kept out of the model timings)."""
    from darts_llm import default_cache
    from darts_llm.models.base import _resolve_encoder

    t0 = time.perf_counter()
    encoder = _resolve_encoder(None)
    load_s = time.perf_counter() - t0
    texts = sorted(set(panel.texts["real"]) | {CONSTANT_TEXT})
    t0 = time.perf_counter()
    default_cache().encode(encoder, texts, show_progress=False)
    return {
        "load_s": load_s,
        "encode_s": time.perf_counter() - t0,
        "n_texts": len(texts),
        "encoder_id": encoder.encoder_id,
    }


def quiet() -> None:
    from darts_llm.utils import quiet_training_output

    quiet_training_output()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("DARTS_LLM_ONLINE_RETAIL", DEFAULT_DATA)))
    parser.add_argument("--quick", action="store_true", help="small run (a few minutes) for development")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the neural models (default 0 1 2; quick: 0)")
    parser.add_argument("--n-warm", type=int, help="size of the warm-cohort sample")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="validation origins 2011-06-12..07-10 (before the test weeks): compare TextTiDE's "
        "text_dim/text_dropout candidates against TiDE; writes results/online_retail_validation.md",
    )
    parser.add_argument("--text-dim", type=int, help="text_dim of TextTiDE/TextTFT (default 16)")
    parser.add_argument("--text-dropout", type=float, help="text_dropout of TextTiDE/TextTFT (default 0.1)")
    parser.add_argument("--models", nargs="+", help="only global models whose name contains one of these")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks/README.md")
    parser.add_argument("--dump", help="pickle the forecasts to this file (for re-rendering with --from-dump)")
    parser.add_argument("--from-dump", help="re-render the report and figures from a --dump file, no fitting")
    args = parser.parse_args(argv)
    if args.from_dump:
        return rerender(args)
    quiet()
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are >10x slower (spin-waiting)
    cfg = make_config(args)
    started = time.perf_counter()
    log(f"config: {cfg.describe()}")

    panel = load_panel(args.data)
    inst, warm = make_instances(panel, cfg)
    o1 = panel.week(cfg.origins[0])
    fr = inst.frame
    log(
        f"{len(panel.codes)} products; warm sample {len(warm)}; instances {len(fr)} "
        f"(cold {int((fr.cohort == 'cold').sum())}, of which 0 weeks of history "
        f"{int(((fr.cohort == 'cold') & (fr.history == 0)).sum())})"
    )

    # training panel of the global models: all later launches, the warm sample, and some older products
    rng = np.random.default_rng(7)
    launched = np.flatnonzero(~panel.censored & (panel.launch < o1))
    old = np.setdiff1d(np.flatnonzero(panel.censored), warm)
    extra = rng.choice(old, size=min(cfg.n_train_old, len(old)), replace=False)
    train_idx = np.unique(np.concatenate([launched, warm, extra]))
    log(f"training products: {len(train_idx)} ({len(launched)} launched after the data start)")

    enc = prewarm_encoder(panel)
    log(
        f"encoder: {enc['n_texts']} descriptions encoded in {enc['load_s'] + enc['encode_s']:.1f}s "
        "(weights load included)"
    )

    runs: dict[str, list[dict]] = {}
    meta: dict[str, dict] = {}
    t0 = time.perf_counter()
    for name, res in local_baselines(panel, inst, o1).items():
        runs[name] = [res]
        meta[name] = {"text": False, "family": "baseline", "seeded": False}
    log(f"local baselines done in {time.perf_counter() - t0:.0f}s")

    inputs = Inputs(panel)
    t0 = time.perf_counter()
    for variant in ("real", "shuffled", "constant"):
        inputs.neighbours(variant)
    log(f"text-neighbour covariates (3 text variants) in {time.perf_counter() - t0:.0f}s")

    runner = Runner(panel, inst, inputs, cfg, train_idx)
    specs = model_specs(cfg)
    # seeds outermost so that TiDE and TextTiDE timings alternate under the same machine load
    for seed in cfg.seeds:
        for spec in specs:
            if not spec.seeded and seed != cfg.seeds[0]:
                continue
            t0 = time.perf_counter()
            try:
                res = runner.run(spec, seed)
            except Exception as err:  # keep going; the report says which model failed
                log(f"FAILED {spec.name} seed {seed}: {type(err).__name__}: {err}")
                meta.setdefault(spec.name, {"text": spec.text, "family": spec.family, "seeded": spec.seeded})
                meta[spec.name]["error"] = f"{type(err).__name__}: {err}"
                continue
            res["seed"] = seed
            runs.setdefault(spec.name, []).append(res)
            meta[spec.name] = {"text": spec.text, "family": spec.family, "seeded": spec.seeded}
            m = metrics(inst, res["pred"], res["quant"], (fr.cohort == "warm").to_numpy())
            c = metrics(inst, res["pred"], res["quant"], (fr.cohort == "cold").to_numpy())
            log(
                f"{spec.name} seed {seed}: fit {res['fit_s']:.0f}s predict {res['predict_s']:.1f}s "
                f"(total {time.perf_counter() - t0:.0f}s, {res['n_train']} train series); "
                f"WAPE warm {m['WAPE']:.1f}% cold {c['WAPE']:.1f}%"
            )

    add_ensembles(runs, meta)
    elapsed = time.perf_counter() - started
    if args.dump:
        import pickle

        with open(args.dump, "wb") as fh:
            pickle.dump(
                {
                    "inst": inst,
                    "cfg": cfg,
                    "runs": runs,
                    "meta": meta,
                    "enc": enc,
                    "train_idx": train_idx,
                    "warm": warm,
                    "elapsed": elapsed,
                },
                fh,
            )
    figures = make_figures(panel, inst, runs, meta, cfg)
    report = build_report(panel, inst, cfg, runs, meta, enc, train_idx, warm, elapsed, figures)
    print(report["markdown"])
    save(report, runs, inst, panel, cfg, write=not args.no_write)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


def rerender(args) -> int:
    import pickle

    quiet()
    torch.set_num_threads(1)  # as in the run (machine() reports it)
    with open(args.from_dump, "rb") as fh:
        d = pickle.load(fh)
    panel = load_panel(args.data)
    figures = make_figures(panel, d["inst"], d["runs"], d["meta"], d["cfg"])
    report = build_report(
        panel, d["inst"], d["cfg"], d["runs"], d["meta"], d["enc"], d["train_idx"], d["warm"], d["elapsed"], figures
    )
    print(report["markdown"])
    print(report["headline"])
    save(report, d["runs"], d["inst"], panel, d["cfg"], write=not args.no_write)
    return 0


def add_ensembles(runs: dict, meta: dict) -> None:
    """Mean of two models' forecasts (what ``NaiveEnsembleModel`` does), per seed of the neural member."""
    pairs = {
        "Ensemble: ExpSmoothing + TiDE": ("ExponentialSmoothing (per series)", "TiDE", False),
        "Ensemble: ExpSmoothing + TextTiDE": ("ExponentialSmoothing (per series)", "TextTiDE", True),
        "Ensemble: LightGBM + TiDE": ("LightGBM", "TiDE", False),
        "Ensemble: LightGBM + nbrs + TextTiDE": ("LightGBM + text neighbours", "TextTiDE", True),
    }
    for variant in ("shuffled", "constant"):  # the ensembles' ablations: both text members ablated
        pairs[f"Ensemble: ExpSmoothing + TextTiDE, {variant} text"] = (
            "ExponentialSmoothing (per series)",
            f"TextTiDE, {variant} text",
            True,
        )
        pairs[f"Ensemble: LightGBM + nbrs + TextTiDE, {variant} text"] = (
            f"LightGBM + nbrs, {variant} text",
            f"TextTiDE, {variant} text",
            True,
        )
    for name, (a, b, text) in pairs.items():
        if a not in runs or b not in runs:
            continue
        out = []
        for rb in runs[b]:
            ra = runs[a][0]
            res = {"pred": (ra["pred"] + rb["pred"]) / 2, "seed": rb.get("seed")}
            if ra.get("quant") is not None and rb.get("quant") is not None:
                res["quant"] = (ra["quant"] + rb["quant"]) / 2
            out.append(res)
        runs[name] = out
        meta[name] = {"text": text, "family": "ablation" if name.endswith(" text") else "ensemble", "seeded": True}


def save(report: dict, runs: dict, inst: Instances, panel: Panel, cfg: Config, write: bool) -> None:
    RESULTS.mkdir(exist_ok=True)
    suffix = {"full": "", "quick": "_quick", "validation": "_validation"}[cfg.mode]
    report["metrics"].to_csv(RESULTS / f"online_retail_metrics{suffix}.csv", index=False)
    (RESULTS / f"online_retail_summary{suffix}.json").write_text(json.dumps(report["summary"], indent=2, default=str))
    if write and cfg.mode == "full":
        write_section("online_retail", report["markdown"])
        write_section("headline", report["headline"])
    else:
        (RESULTS / f"online_retail{suffix}.md").write_text(report["markdown"])


# ================================================================================================= report
MAIN_ORDER = [
    "Naive (last value)",
    "Mean of last 12 weeks",
    "Launch profile (median by age)",
    "ExponentialSmoothing (per series)",
    "LightGBM",
    "TiDE",
    "TFT",
    "BlockRNN (LSTM)",
    "Ensemble: ExpSmoothing + TiDE",
    "Ensemble: LightGBM + TiDE",
    "LightGBM + text PCA",
    "LightGBM + text neighbours",
    "TextTiDE",
    "TextTFT",
    "Ensemble: ExpSmoothing + TextTiDE",
    "Ensemble: LightGBM + nbrs + TextTiDE",
]
ABLATIONS = {  # text model -> (shuffled, constant)
    "LightGBM + text PCA": ("LightGBM + text PCA, shuffled text", "LightGBM + text PCA, constant text"),
    "LightGBM + text neighbours": ("LightGBM + nbrs, shuffled text", "LightGBM + nbrs, constant text"),
    "TextTiDE": ("TextTiDE, shuffled text", "TextTiDE, constant text"),
    "Ensemble: ExpSmoothing + TextTiDE": (
        "Ensemble: ExpSmoothing + TextTiDE, shuffled text",
        "Ensemble: ExpSmoothing + TextTiDE, constant text",
    ),
    "Ensemble: LightGBM + nbrs + TextTiDE": (
        "Ensemble: LightGBM + nbrs + TextTiDE, shuffled text",
        "Ensemble: LightGBM + nbrs + TextTiDE, constant text",
    ),
}


def cohort_masks(inst: Instances) -> dict[str, np.ndarray]:
    fr = inst.frame
    cold = (fr.cohort == "cold").to_numpy()
    return {
        "warm": (fr.cohort == "warm").to_numpy(),
        "cold": cold,
        "cold, 0 weeks": cold & (fr.history == 0).to_numpy(),
        "cold, 1-4 weeks": cold & (fr.history >= 1).to_numpy(),
    }


def metric_frame(inst: Instances, runs: dict, meta: dict) -> pd.DataFrame:
    """One row per (model, seed, subset) with every metric."""
    rows = []
    for subset, mask in cohort_masks(inst).items():
        for name, rs in runs.items():
            for r in rs:
                m = metrics(inst, r["pred"], r.get("quant"), mask)
                rows.append(
                    {
                        "model": name,
                        "seed": r.get("seed"),
                        "subset": subset,
                        **m,
                        "text": meta[name]["text"],
                        "family": meta[name]["family"],
                    }
                )
    return pd.DataFrame(rows)


def summarise(mf: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (model, subset)."""
    g = mf.groupby(["model", "subset"], sort=False)
    out = g[["MAE", "WAPE", "MASE", "wQL", "Bias"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["runs"] = g.size()
    out["text"] = g["text"].first()
    out["family"] = g["family"].first()
    out["n"] = g["n"].first()
    return out.reset_index()


def fmt(mean: float, std: float, runs: int, digits: int = 3) -> str:
    if mean is None or np.isnan(mean):
        return "n/a"
    m = f"{mean:.{digits}g}" if abs(mean) < 1000 else f"{mean:,.0f}"
    if runs > 1 and not np.isnan(std):
        return f"{m} ± {std:.2g}"
    return m


def best(summary: pd.DataFrame, subset: str, text: bool) -> pd.Series | None:
    s = summary[(summary.subset == subset) & (summary.text == text) & (summary.family != "ablation")]
    s = s[~s.WAPE_mean.isna()]
    return None if s.empty else s.loc[s.WAPE_mean.idxmin()]


def tab(rows: list[dict]) -> str:
    return table(rows) if rows else "(nothing to show: the models it needs did not run)"


def lift(base: float, text: float) -> float:
    return 100 * (base - text) / base


def build_report(panel, inst, cfg, runs, meta, enc, train_idx, warm, elapsed, figures) -> dict:
    mf = metric_frame(inst, runs, meta)
    sm = summarise(mf)
    fr = inst.frame
    masks = cohort_masks(inst)
    n_cold = int(masks["cold"].sum())
    n_cold0 = int(masks["cold, 0 weeks"].sum())
    cold_products = fr[masks["cold"]].idx.nunique()
    seeds = ", ".join(map(str, cfg.seeds))
    origins = ", ".join(o.strftime("%Y-%m-%d") for o in cfg.origins)
    if cfg.mode == "validation":
        text_clause = "the (text_dim, text_dropout) candidates named in the tables; this run chooses between them"
    else:
        text_clause = (
            f"`text_dim={cfg.text_dim}`, `text_dropout={cfg.text_dropout}` (chosen among (16, 0.1) = the library "
            "defaults, (4, 0.1) and (4, 0.5) on validation origins 2011-06-12..07-10, fitted on the weeks before "
            "them, whose forecasts end before the first test week: `--validate`, "
            "`benchmarks/results/online_retail_validation.md`; the library defaults were "
            "clearly worse there)"
        )
    title = {
        "full": "",
        "quick": " [QUICK MODE: small, not for conclusions]",
        "validation": " [VALIDATION ORIGINS, used only to choose TextTiDE's text_dim/text_dropout]",
    }[cfg.mode]
    lines = [
        f"## Online Retail: does product text improve weekly sales forecasts? (`benchmarks/online_retail.py`){title}",
        "",
        f"Command: `python benchmarks/online_retail.py{MODE_FLAG[cfg.mode]}`; {machine()}; "
        f"total wall time {elapsed / 60:.1f} min (torch and LightGBM on 1 thread each: the 2 cores were shared "
        f"with other jobs).",
        "",
        "**Setup.** UCI Online Retail, weekly units per product (W-SUN, 2010-12-05..2011-12-04), "
        f"{len(panel.codes):,} products with their description. Rolling origins (first forecast week): {origins}; "
        f"each forecasts {HORIZON} weeks, metrics pool horizons 1-{HORIZON} over products and origins. "
        f"Global models (LightGBM, TiDE, TFT, BlockRNN, text twins) are fitted once per seed on the weeks before the "
        f"first origin ({len(train_idx):,} products: every product launched after the data start, the warm sample, "
        f"and {cfg.n_train_old} more older products; samples of {ICL} input + {HORIZON} output weeks) and forecast "
        f"every origin without refitting; naive, mean and exponential smoothing use each product's own history up "
        f"to the origin. Neural seeds: {seeds}. LightGBM and the local models are deterministic (one run).",
        "",
        f"- **Warm cohort**: a fixed seeded sample of {len(warm)} products with >= {ICL} weeks of history and at least "
        f"one sale in the {ICL} weeks before the first origin; the same products at every origin for every model "
        f"({int(masks['warm'].sum()):,} forecasts).",
        f"- **Cold-start cohort**: products first sold 0-{COLD_MAX_HISTORY} weeks before the origin "
        f"({n_cold} forecasts of {cold_products} products; {n_cold0} with 0 weeks of history, i.e. the launch week "
        "is the first forecast week). Global models see the history left-padded with zero weeks before the launch "
        "(the product was not on sale, so its sales were 0) plus a known-in-advance weeks-since-launch covariate, "
        "so a launch with 0 weeks of history can be forecast; naive and mean need >= 1 week and exponential "
        "smoothing >= 3 weeks, so they are **n/a** where they cannot forecast (they are not faked). The launch "
        "profile is the median sales at each week since launch over the earlier launches (no text).",
        "- **Training**: global models learn `log1p(units)` (Darts `InvertibleMapper(np.log1p, np.expm1)`'s "
        'transform) with quantile losses (0.1/0.5/0.9; LightGBM `likelihood="quantile"`, torch models '
        "`QuantileRegression`); the point forecast is the median mapped back with `expm1`, because pooled WAPE is "
        f"minimised by the median. Input window {ICL} weeks, static covariate `log1p(price)`. TiDE: hidden 64, "
        f"{cfg.tide_epochs} epochs; TFT: hidden 16, 2 heads, {cfg.tft_epochs} epochs; BlockRNN: LSTM 32, "
        f"{cfg.rnn_epochs} epochs (the launch covariate as past covariate); batch 256, Adam 1e-3; LightGBM: "
        f"{cfg.lgbm_trees} trees, lr 0.05, 31 leaves, lags 1-{ICL}. Settings chosen before the first run and not "
        "tuned, except the text pathway's two settings (next item).",
        "- **Text** (all-MiniLM-L6-v2, frozen): *LightGBM + text PCA* = `StaticTextEmbedder` (PCA to 16 on the "
        "training descriptions) as static covariates; *LightGBM + text neighbours* = `TextNeighbours` demand "
        "covariates (what the 20 products with the most similar descriptions sold, causal, 4-week window; lags "
        "1-4) as past covariates; *TextTiDE* / *TextTFT* = the darts_llm models with "
        + text_clause
        + ". Ensembles average two models' forecasts (the rule of Darts' `NaiveEnsembleModel`), per seed of the "
        "neural member.",
        "- **Metrics**: MAE (units); WAPE = sum|error| / sum|actual| in %, pooled; MASE per product and origin "
        "(scaled by the mean absolute one-week change of the product's own history before the origin; skipped "
        "where that history has < 2 weeks or never changes), averaged; wQL = mean over the quantiles 0.1/0.5/0.9 "
        "of 2 x sum(pinball loss) / sum|actual| (probabilistic models only); bias = sum(forecast) / sum(actual) "
        "(1 = unbiased volume; mean over seeds). Mean ± std over seeds.",
        "",
    ]

    def model_rows(subset_cols: list[str], cols_fn, order):
        rows = []
        for name in order:
            if name not in runs:
                continue
            rows.append({"model": name, "text": "yes" if meta[name]["text"] else "", **cols_fn(name)})
        return rows

    def get(name, subset):
        r = sm[(sm.model == name) & (sm.subset == subset)]
        return None if r.empty else r.iloc[0]

    order = [m for m in MAIN_ORDER if m in runs] + [
        m for m in runs if m not in MAIN_ORDER and meta[m]["family"] != "ablation"
    ]
    failed = [m for m, v in meta.items() if "error" in v]

    # ---- warm table
    def warm_cols(name):
        r = get(name, "warm")
        return {
            "MAE": fmt(r.MAE_mean, r.MAE_std, r.runs),
            "WAPE %": fmt(r.WAPE_mean, r.WAPE_std, r.runs),
            "MASE": fmt(r.MASE_mean, r.MASE_std, r.runs),
            "wQL": fmt(r.wQL_mean, r.wQL_std, r.runs),
            "bias": fmt(r.Bias_mean, np.nan, 1, 2),
            "runs": int(r.runs),
        }

    lines += [f"### Warm cohort ({len(warm)} products x {len(cfg.origins)} origins)", ""]
    lines.append(tab(model_rows([], warm_cols, [m for m in order if m != "Launch profile (median by age)"])))
    lines.append("")

    # ---- cold table
    def cold_cols(name):
        r, r0, r1 = get(name, "cold"), get(name, "cold, 0 weeks"), get(name, "cold, 1-4 weeks")
        return {
            "WAPE % (all)": fmt(r.WAPE_mean, r.WAPE_std, r.runs),
            "WAPE % (0 wk)": fmt(r0.WAPE_mean, r0.WAPE_std, r0.runs),
            "WAPE % (1-4 wk)": fmt(r1.WAPE_mean, r1.WAPE_std, r1.runs),
            "MAE (all)": fmt(r.MAE_mean, r.MAE_std, r.runs),
            "MASE (2-4 wk)": fmt(r.MASE_mean, r.MASE_std, r.runs),
            "wQL (all)": fmt(r.wQL_mean, r.wQL_std, r.runs),
            "bias (all)": fmt(r.Bias_mean, np.nan, 1, 2),
            "runs": int(r.runs),
        }

    lines += [
        f"### Cold-start cohort ({n_cold} forecasts: {n_cold0} with 0 weeks of history, "
        f"{n_cold - n_cold0} with 1-{COLD_MAX_HISTORY})",
        "",
        "n/a: the model cannot forecast some of these products (too little history). MASE is defined only "
        "for products with >= 2 weeks of history.",
        "",
    ]
    lines.append(tab(model_rows([], cold_cols, order)))
    lines.append("")

    # ---- lift
    summary = {"cohorts": {}}
    lift_rows = []
    for subset in ("warm", "cold", "cold, 0 weeks", "cold, 1-4 weeks"):
        b, t = best(sm, subset, False), best(sm, subset, True)
        if b is None or t is None:
            continue
        lf = lift(b.WAPE_mean, t.WAPE_mean)
        lift_rows.append(
            {
                "cohort": subset,
                "best without text": b.model,
                "WAPE % (no text)": fmt(b.WAPE_mean, b.WAPE_std, b.runs),
                "best with text": t.model,
                "WAPE % (text)": fmt(t.WAPE_mean, t.WAPE_std, t.runs),
                "lift (WAPE % lower)": f"{lf:+.1f}%",
            }
        )
        summary["cohorts"][subset] = {
            "best_no_text": b.model,
            "wape_no_text": b.WAPE_mean,
            "best_text": t.model,
            "wape_text": t.WAPE_mean,
            "lift_pct": lf,
            "wape_text_std": t.WAPE_std,
            "wape_no_text_std": b.WAPE_std,
        }
    lines += [
        "### Lift of the best text model over the best model without text",
        "",
        "Best = lowest mean WAPE in that cohort among the models that forecast all of it (ablations excluded). "
        "Both sides are picked on these same origins, so both are equally optimistic.",
        "",
    ]
    lines.append(tab(lift_rows))
    lines.append("")

    if cfg.mode == "validation":
        lines += [
            "**Choice for the test run**: more regularisation of the text pathway was better in both cohorts; "
            "the candidate with the lowest WAPE in both, `text_dim=4, text_dropout=0.5`, is used for TextTiDE and "
            "TextTFT in the test run (`Config.text_dim`, `Config.text_dropout`). No other setting was chosen "
            "on these origins.",
            "",
        ]

    # ---- ablations
    abl_rows = []
    summary["ablations"] = {}
    for subset in ("warm", "cold", "cold, 0 weeks"):
        b = best(sm, subset, False)
        for model, (shuf, const) in ABLATIONS.items():
            r, rs, rc = get(model, subset), get(shuf, subset), get(const, subset)
            if r is None or rs is None or rc is None or b is None or np.isnan(r.WAPE_mean):
                continue
            gain = b.WAPE_mean - r.WAPE_mean
            back = rs.WAPE_mean - r.WAPE_mean
            share = back / gain if gain > 0 else np.nan
            abl_rows.append(
                {
                    "cohort": subset,
                    "text model": model,
                    "real text": fmt(r.WAPE_mean, r.WAPE_std, r.runs),
                    "shuffled text": fmt(rs.WAPE_mean, rs.WAPE_std, rs.runs),
                    "constant text": fmt(rc.WAPE_mean, rc.WAPE_std, rc.runs),
                    "best without text": fmt(b.WAPE_mean, b.WAPE_std, b.runs),
                    "share of lift given back by shuffling": "no lift" if np.isnan(share) else f"{100 * share:.0f}%",
                }
            )
            summary["ablations"][f"{subset}|{model}"] = {
                "real": r.WAPE_mean,
                "shuffled": rs.WAPE_mean,
                "constant": rc.WAPE_mean,
                "best_no_text": b.WAPE_mean,
                "share_given_back": share,
            }
    lines += [
        "### Ablations (WAPE %)",
        "",
        "Shuffled: the descriptions permuted across products (one fixed permutation, training and test alike). "
        'Constant: every description replaced by the same text (`"PRODUCT"`); for the neighbour features '
        "that makes the 20 'neighbours' an arbitrary fixed set of products, i.e. a market-demand covariate "
        "without text. Share given back = (WAPE shuffled - WAPE real) / (best WAPE without text - WAPE real); above "
        "100% means the model with shuffled text is worse than the best model without text.",
        "",
    ]
    lines.append(tab(abl_rows))
    lines.append("")

    # ---- timing
    tide = {r["seed"]: r for r in runs.get("TiDE", [])}
    ttide = {r["seed"]: r for r in runs.get("TextTiDE", [])}
    t_rows = []
    ratios = []
    for seed in sorted(set(tide) & set(ttide)):
        a = tide[seed]["fit_s"] + tide[seed]["predict_s"]
        b = ttide[seed]["fit_s"] + ttide[seed]["predict_s"]
        ratios.append(b / a)
        t_rows.append(
            {
                "seed": seed,
                "TiDE fit s": tide[seed]["fit_s"],
                "TiDE backtest s": tide[seed]["predict_s"],
                "TextTiDE fit s": ttide[seed]["fit_s"],
                "TextTiDE backtest s": ttide[seed]["predict_s"],
                "ratio (fit+backtest)": f"{b / a:.2f}x",
            }
        )
    if t_rows:
        tot_a = sum(tide[s]["fit_s"] + tide[s]["predict_s"] for s in set(tide) & set(ttide))
        tot_b = sum(ttide[s]["fit_s"] + ttide[s]["predict_s"] for s in set(tide) & set(ttide))
        ratio = tot_b / tot_a
        summary["timing"] = {"ratio": ratio, "per_seed": ratios, "encode_s": enc["encode_s"], "load_s": enc["load_s"]}
        lines += [
            "### Cost of the text pathway: TextTiDE (frozen) vs TiDE, same run",
            "",
            f"Same settings and training data; fit = training ({cfg.tide_epochs} epochs), backtest = the "
            f"{len(cfg.origins)} origins' forecasts. The one-off encoding of the {enc['n_texts']:,} distinct "
            f"descriptions (MiniLM on CPU, loading the weights included) took {enc['load_s'] + enc['encode_s']:.0f} s "
            "and is not in the model timings (the embedding cache serves the models). The two models run "
            "back to back per seed; the machine was shared, so single timings are noisy.",
            "",
        ]
        lines.append(table(t_rows))
        lines += ["", f"Ratio of the totals: **{ratio:.2f}x** (target <= 1.5x).", ""]

    # ---- figures
    if figures:
        lines += ["### Figures", ""]
        for title, path in figures:
            lines.append(f"![{title}]({path})")
            lines.append("")

    if failed:
        lines += ["### Models that failed", ""] + [f"- {m}: {meta[m]['error']}" for m in failed] + [""]

    # ---- conclusion
    lines += ["### Conclusion", ""]
    lines += conclusion(summary)
    lines += findings(sm, inst, summary, panel, cfg)
    markdown = "\n".join(lines).rstrip() + "\n"
    headline = make_headline(summary, cfg, elapsed)
    summary["config"] = cfg.describe()
    summary["elapsed_min"] = elapsed / 60
    return {"markdown": markdown, "headline": headline, "metrics": mf, "summary": summary}


def findings(sm: pd.DataFrame, inst: Instances, summary: dict, panel: Panel, cfg: Config) -> list[str]:
    """Plain-words reading of the numbers (every figure quoted here is computed from the tables above)."""

    def row(name, subset):
        r = sm[(sm.model == name) & (sm.subset == subset)]
        return None if r.empty else r.iloc[0]

    out = ["What the numbers say:", ""]
    c = summary["cohorts"]
    fr = inst.frame
    cold = (fr.cohort == "cold").to_numpy()
    if "cold, 0 weeks" in c and cold.any():
        z = c["cold, 0 weeks"]
        zero = cold & (fr.history == 0).to_numpy()
        share = 100 * inst.actual[zero].sum() / inst.actual[cold].sum()
        words = (
            f"- **Launch week (0 weeks of history)**: {z['best_text']} {z['wape_text']:.1f}% vs "
            f"{z['best_no_text']} {z['wape_no_text']:.1f}% ({z['lift_pct']:+.1f}%)"
        )
        if z["best_text"] in ABLATIONS:
            shuf, const = (row(n, "cold, 0 weeks") for n in ABLATIONS[z["best_text"]])
            if shuf is not None and const is not None:
                words += (
                    f"; with shuffled descriptions {shuf.WAPE_mean:.1f}%, with one constant text "
                    f"{const.WAPE_mean:.1f}%, so this gain comes from what the descriptions say"
                )
        words += (
            f". These forecasts are {int(zero.sum())} of the {int(cold.sum())} cold-start forecasts and "
            f"{share:.0f}% of the cohort's units, so the gain is diluted in the whole cohort."
        )
        out.append(words)
    if "cold, 1-4 weeks" in c:
        z = c["cold, 1-4 weeks"]
        out.append(
            f"- **1-4 weeks of history**: text adds little once the product has sold for a week or more: "
            f"{z['best_text']} {z['wape_text']:.1f}% vs {z['best_no_text']} {z['wape_no_text']:.1f}% "
            f"({z['lift_pct']:+.1f}%)."
        )
    if "warm" in c:
        diffs = []
        for model, (shuf, const) in ABLATIONS.items():
            r, rs, rc = row(model, "warm"), row(shuf, "warm"), row(const, "warm")
            if r is not None and rs is not None and rc is not None and not np.isnan(r.WAPE_mean):
                diffs += [abs(rs.WAPE_mean - r.WAPE_mean), abs(rc.WAPE_mean - r.WAPE_mean)]
        if diffs:
            out.append(
                f"- **Warm products**: no text variant beats the best model without text "
                f"({c['warm']['lift_pct']:+.1f}%), and shuffling or replacing the descriptions moves WAPE by at "
                f"most {max(diffs):.1f} points: for products with a sales history the descriptions add nothing "
                "the history does not already hold."
            )
    seeded = sm[(sm.runs > 1) & sm.subset.isin(["warm", "cold"])]
    if not seeded.empty:
        std = seeded.groupby("subset").WAPE_std.max()
        out.append(
            "- **Noise**: the WAPE of one neural model varies over seeds by up to "
            + ", ".join(f"{v:.1f} points ({k})" for k, v in std.items())
            + " (std); lifts smaller than that are not distinguishable from noise."
        )
    glob = sm[(sm.subset == "warm") & sm.family.isin(["LightGBM", "TiDE", "TFT", "RNN"])]
    es = row("ExponentialSmoothing (per series)", "warm")
    if not glob.empty and es is not None:
        o1, o_end = panel.week(cfg.origins[0]), panel.week(cfg.origins[-1]) + HORIZON
        total = np.nansum(panel.values, 0)
        rise = total[o1:o_end].mean() / total[o1 - ICL : o1].mean()
        out.append(
            f"- **All global models under-forecast the volume** (bias {glob.Bias_mean.min():.2f}-"
            f"{glob.Bias_mean.max():.2f} on warm products, exponential smoothing {es.Bias_mean:.2f}). Two "
            f"measured facts fit this: the shop's weekly units over the test weeks were {rise:.2f}x those of "
            f"the last {ICL} training weeks (the pre-Christmas season; the global models are not refitted "
            "after August), and the median forecast of a right-skewed quantity lies below its mean. "
            "Averaging exponential smoothing with a global model gives the best warm WAPE."
        )
    out.append("")
    return out


def target_words(met: bool | None) -> str:
    return "**met**" if met else "**missed**"


def conclusion(summary: dict) -> list[str]:
    out = []
    c = summary["cohorts"]
    checks = []
    if "warm" in c:
        w = c["warm"]
        checks.append(
            (
                "warm",
                bool(w["lift_pct"] >= 5),
                f"Warm cohort: the best text model ({w['best_text']}, WAPE {w['wape_text']:.1f}%) vs the best "
                f"without text ({w['best_no_text']}, {w['wape_no_text']:.1f}%): {w['lift_pct']:+.1f}% "
                f"(target >= 5% lower)",
            )
        )
    if "cold" in c:
        w = c["cold"]
        checks.append(
            (
                "cold",
                bool(w["lift_pct"] >= 15),
                f"Cold-start cohort: {w['best_text']} ({w['wape_text']:.1f}%) vs {w['best_no_text']} "
                f"({w['wape_no_text']:.1f}%): {w['lift_pct']:+.1f}% (target >= 15% lower)",
            )
        )
    abl = summary.get("ablations", {})
    for cohort in ("warm", "cold"):
        if cohort not in c:
            continue
        key = f"{cohort}|{c[cohort]['best_text']}"
        if key in abl:
            a = abl[key]
            share = a["share_given_back"]
            met = bool(not np.isnan(share) and share >= 0.5)
            words = (
                "there is no lift to give back, so the target cannot be met"
                if np.isnan(share)
                else f"shuffling gives back {100 * share:.0f}% of the lift "
                f"(WAPE {a['real']:.1f}% -> {a['shuffled']:.1f}% shuffled, {a['constant']:.1f}% constant)"
            )
            checks.append(
                (
                    f"ablation {cohort}",
                    met,
                    f"Shuffled-text ablation of {c[cohort]['best_text']} ({cohort}): {words} (target >= 50%)",
                )
            )
        else:
            checks.append(
                (
                    f"ablation {cohort}",
                    None,
                    f"Shuffled-text ablation ({cohort}): the best text model "
                    f"({c[cohort]['best_text']}) has no ablation run; see the table for TextTiDE and "
                    "LightGBM + text neighbours",
                )
            )
    if "timing" in summary:
        r = summary["timing"]["ratio"]
        checks.append(("timing", bool(r <= 1.5), f"TextTiDE fit+backtest time {r:.2f}x TiDE's (target <= 1.5x)"))
    noise = {}
    for cohort in ("warm", "cold"):
        if cohort in c:
            noise[cohort] = np.nanmax(
                [c[cohort].get("wape_text_std", np.nan), c[cohort].get("wape_no_text_std", np.nan), 0.0]
            )
    for key, met, words in checks:
        cohort = key.split()[-1]
        caveat = ""
        if cohort in noise and cohort in c:
            gap = abs(c[cohort]["wape_no_text"] - c[cohort]["wape_text"])
            if gap < noise[cohort]:
                what = "the lift being tested" if key.startswith("ablation") else "the WAPE gap"
                caveat = (
                    f" ({what}, {gap:.1f} points, is smaller than the seed std of the models compared, "
                    f"{noise[cohort]:.1f})"
                )
        out.append(f"- {words}: {target_words(met) if met is not None else 'not measured'}{caveat}.")
    summary["targets"] = {k: met for k, met, _ in checks}
    out.append("")
    return out


def make_headline(summary: dict, cfg: Config, elapsed: float) -> str:
    c = summary["cohorts"]
    rows = []
    for cohort, label in (
        ("warm", "warm (established products)"),
        ("cold", "cold start (0-4 weeks of history)"),
        ("cold, 0 weeks", "cold start, launch week (0 weeks)"),
    ):
        if cohort in c:
            w = c[cohort]
            rows.append(
                {
                    "cohort": label,
                    "best without text (WAPE %)": f"{w['wape_no_text']:.1f} ({w['best_no_text']})",
                    "best with text (WAPE %)": f"{w['wape_text']:.1f} ({w['best_text']})",
                    "lift": f"{w['lift_pct']:+.1f}%",
                }
            )
    labels = {
        "warm": "warm lift >= 5%",
        "cold": "cold-start lift >= 15%",
        "ablation warm": "shuffled text gives back >= half the lift (warm)",
        "ablation cold": "shuffled text gives back >= half the lift (cold)",
        "timing": "TextTiDE time <= 1.5x TiDE",
    }
    t = summary.get("targets", {})
    met = [labels.get(k, k) for k, v in t.items() if v]
    missed = [labels.get(k, k) for k, v in t.items() if v is False]
    z = c.get("cold, 0 weeks")
    lines = [
        "**Online Retail benchmark** (`benchmarks/online_retail.py`: weekly unit sales of real products, "
        f"{len(cfg.origins)} rolling origins Sept-Oct 2011, 8-week forecasts, {len(cfg.seeds)} seeds). "
        "Lift = how much lower the pooled WAPE of the best model with product text is than that of the best model "
        "without text.",
        "",
        table(rows) if rows else "(no results)",
        "",
    ]
    if z:
        abl = summary.get("ablations", {}).get(f"cold, 0 weeks|{z['best_text']}")
        words = (
            f"In the launch week (0 weeks of history), {z['best_text']} is {z['lift_pct']:.1f}% better than the best "
            "model without text"
        )
        if abl and not np.isnan(abl["share_given_back"]):
            sh = abl["share_given_back"]
            words += (
                ", and the gain disappears with shuffled descriptions"
                if sh >= 1
                else f"; shuffled descriptions give back {100 * sh:.0f}% of it"
            )
        within = []
        for k, label in (("warm", "warm products"), ("cold, 1-4 weeks", "launches with 1-4 weeks of sales")):
            if k in c:
                gap = abs(c[k]["wape_no_text"] - c[k]["wape_text"])
                std = np.nanmax([c[k]["wape_text_std"], c[k]["wape_no_text_std"], 0.0])
                if gap < std:
                    within.append(label)
        if within:
            words += (
                ". For " + " and ".join(within) + ", the best models with and without text are within seed "
                "noise of each other"
            )
        lines += [words + ".", ""]
    lines.append(
        f"Targets met: {'; '.join(met) or 'none'}. Missed: {'; '.join(missed) or 'none'}. Details, ablations "
        "and timing: benchmarks/README.md."
    )
    return "\n".join(lines) + "\n"


def make_figures(panel, inst, runs, meta, cfg) -> list[tuple[str, str]]:
    try:
        from online_retail_plots import plot_all
    except ImportError as err:  # pragma: no cover
        log(f"no figures: {err}")
        return []
    suffix = {"full": "", "quick": "_quick", "validation": "_validation"}[cfg.mode]
    try:
        return plot_all(panel, inst, runs, meta, cfg, FIGURES, suffix, cohort_masks(inst))
    except Exception as err:  # figures must not lose the tables
        log(f"figures failed: {type(err).__name__}: {err}")
        return []


if __name__ == "__main__":
    raise SystemExit(main())
