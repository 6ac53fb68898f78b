"""``darts-llm compare``: does the text help on *my* data? A sales table in, the text ablation table out.

The command reads a long table (one row per product and period), builds one Darts series per product with the
text (and any numeric static columns) as static covariates, and runs :func:`darts_llm.compare_text` on a text
model: real, shuffled and constant texts and the model without text, over several seeds. It prints the table and
what it says, and writes ``comparison.md`` and ``comparison.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MODELS = {
    "TextTiDE": "TextTiDEModel",
    "TextTFT": "TextTFTModel",
    "TextTSMixer": "TextTSMixerModel",
    "TextBlockRNN": "TextBlockRNNModel",
}


def add_compare_parser(sub) -> None:
    """Register the ``compare`` sub-command on the ``darts-llm`` parser."""
    compare = sub.add_parser("compare", help="does the text help? backtest a text model with real, shuffled, "
                             "constant and no text on a sales table")
    compare.add_argument("table", help="CSV (or .parquet) file: one row per product and period")
    compare.add_argument("--id-col", required=True, help="product id column (one series per value)")
    compare.add_argument("--time-col", required=True, help="period column (dates, or integers)")
    compare.add_argument("--target", required=True, help="the column to forecast (e.g. units sold)")
    compare.add_argument("--text-col", required=True, action="append",
                         help="text column (one text per product; repeat the option for several)")
    compare.add_argument("--static-col", action="append", default=[],
                         help="numeric per-product column to pass as a static covariate (repeatable)")
    compare.add_argument("--freq", default=None, help="pandas frequency of the periods (e.g. W, D, MS); rows "
                         "are summed per period, so a table of transactions works too; default: inferred")
    compare.add_argument("--model", default="TextTiDE", choices=list(MODELS))
    compare.add_argument("--horizon", type=int, default=4, help="forecast horizon (periods)")
    compare.add_argument("--backtest", type=int, default=12, help="periods at the end to backtest on")
    compare.add_argument("--input-length", type=int, default=12, help="input_chunk_length of the model")
    compare.add_argument("--epochs", type=int, default=15)
    compare.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    compare.add_argument("--encoder", default="minilm", help="text encoder: alias, Hugging Face id or folder")
    compare.add_argument("--no-log", action="store_true", help="learn on the raw target instead of log1p")
    compare.add_argument("--output", default="darts_llm_compare", help="folder for comparison.md and .png")
    compare.set_defaults(func=run_compare)


def _read_table(path: str):
    import pandas as pd

    if not Path(path).is_file():
        raise FileNotFoundError(f"`table`: no file at {path!r}.")
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)


def build_series(frame, args):
    """One series per product, the text and static columns as its static covariates."""
    import numpy as np
    import pandas as pd
    from darts import TimeSeries

    needed = [args.id_col, args.time_col, args.target, *args.text_col, *args.static_col]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"The table has no column(s) {missing}; its columns are {list(frame.columns)}. Check "
                         f"--id-col, --time-col, --target, --text-col and --static-col.")
    frame = frame[needed].copy()
    if not pd.api.types.is_integer_dtype(frame[args.time_col]):
        frame[args.time_col] = pd.to_datetime(frame[args.time_col])
    # several rows of one product and period are summed (with --freq, per period: transactions become weekly
    # sales); its text is the first one seen
    static = frame.groupby(args.id_col)[[*args.text_col, *args.static_col]].first()
    period = args.time_col if args.freq is None or pd.api.types.is_integer_dtype(frame[args.time_col]) else \
        pd.Grouper(key=args.time_col, freq=args.freq)
    sales = frame.groupby([args.id_col, period])[args.target].sum().reset_index()
    sales = sales.merge(static, left_on=args.id_col, right_index=True)
    series = TimeSeries.from_group_dataframe(
        sales, group_cols=args.id_col, time_col=args.time_col, value_cols=args.target,
        static_cols=[*args.text_col, *args.static_col], fill_missing_dates=True, freq=args.freq,
        drop_group_cols=args.id_col,
    )
    return [s.astype(np.float32).map(lambda x: np.nan_to_num(x, nan=0.0)) for s in series]


def run_compare(args: argparse.Namespace) -> int:
    """Run ``darts-llm compare`` (see the module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from darts.dataprocessing.transformers import InvertibleMapper

    from darts_llm import models
    from darts_llm.evaluation import compare_text, describe_comparison, markdown_table, plot_text_comparison
    from darts_llm.utils import quiet_training_output

    quiet_training_output()
    torch.set_num_threads(1)
    series = build_series(_read_table(args.table), args)
    if not args.no_log and any(float(s.values().min()) < 0 for s in series):
        print("Negative values (e.g. returns) are set to 0: the models learn log1p of the target (--no-log keeps "
              "them).")
        series = [s.map(lambda x: np.maximum(x, 0.0)) for s in series]
    needed = args.input_length + args.horizon + args.backtest  # a training window before the backtest
    kept = [s for s in series if len(s) >= needed]
    if not kept:
        raise ValueError(f"No product has the {needed} periods that --input-length {args.input_length}, --horizon {args.horizon} and "
                         f"--backtest {args.backtest} need; lower them.")
    end = max(s.end_time() for s in kept)
    kept = [s for s in kept if s.end_time() == end]
    start = end - (args.backtest - 1) * kept[0].freq
    print(f"{len(kept)} products with at least {needed} periods up to {end} (of {len(series)}); backtest from "
          f"{start}, {args.horizon}-period forecasts every {args.horizon} periods, seeds {args.seeds}.")
    cls = getattr(models, MODELS[args.model])
    extra = {"add_relative_index": True} if args.model == "TextTFT" else {}
    model = cls(input_chunk_length=args.input_length, output_chunk_length=args.horizon, n_epochs=args.epochs,
                text_encoder=args.encoder, text_cols=args.text_col, use_reversible_instance_norm=True,
                pl_trainer_kwargs={"enable_progress_bar": False, "enable_model_summary": False, "logger": False},
                **extra)
    log = None if args.no_log else InvertibleMapper(np.log1p, np.expm1, name="log1p")
    table = compare_text(model, kept, start=start, forecast_horizon=args.horizon, seeds=tuple(args.seeds),
                         target_transform=log, verbose=True)
    shown = markdown_table(table[["variant", "mean", "std", "n_forecasts"]])
    text = describe_comparison(table)
    print("\n" + shown + "\n\n" + text)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(f"{args.model} on {args.table}\n\n{shown}\n\n{text}\n")
    ax = plot_text_comparison(table)
    ax.figure.tight_layout()
    ax.figure.savefig(out / "comparison.png", dpi=110)
    plt.close(ax.figure)
    print(f"\nWrote {out / 'comparison.md'} and {out / 'comparison.png'}")
    return 0
