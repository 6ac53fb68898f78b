"""The ``darts-llm`` command."""

from __future__ import annotations

import argparse
import sys


def _cmd_list(args: argparse.Namespace) -> int:
    from darts_llm import list_encoders, list_models
    from darts_llm.plugins import get_plugins

    print("Encoders:")
    for name, description in list_encoders().items():
        print(f"  {name:22s} {description}")
    print("Models:")
    for name, cls in list_models().items():
        print(f"  {name:22s} {cls.__module__}")
    print("Plugins:")
    for info in get_plugins():
        print(f"  {info['name']}")
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from darts_llm import EmbeddingCache, get_encoder

    frame = pd.read_csv(args.csv)
    if args.column not in frame.columns:
        print(f"error: column {args.column!r} not in {args.csv}; columns: {list(frame.columns)}", file=sys.stderr)
        return 2
    texts = frame[args.column].where(frame[args.column].notna(), None).tolist()
    texts = [t if t is None or isinstance(t, str) else str(t) for t in texts]
    cache = EmbeddingCache(args.cache_dir) if args.cache_dir else EmbeddingCache()
    vectors = cache.encode(get_encoder(args.encoder), texts, batch_size=args.batch_size, show_progress=True)
    if args.output:
        np.save(args.output, vectors)
        print(f"Wrote {vectors.shape[0]} x {vectors.shape[1]} embeddings to {args.output}")
    if args.cache_dir:
        print(f"Embeddings cached under {args.cache_dir} ({cache.misses} encoded, {cache.hits} already cached)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from darts_llm.demo import run_demo

    return run_demo(data=args.data, output=args.output, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darts-llm", description="Text as a covariate for Darts forecasting models."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit TiDE and TextTiDE on product sales, backtest both, plot a forecast")
    demo.add_argument("--data", default=None, help="Online Retail file (else $DARTS_LLM_ONLINE_RETAIL, "
                      "../shared/data, the UCI download, or the bundled synthetic catalog)")
    demo.add_argument("--output", default="darts_llm_demo", help="folder for the plot and the table")
    demo.add_argument("--quick", action="store_true", help="fewer series and epochs")
    demo.set_defaults(func=_cmd_demo)

    encode = sub.add_parser("encode", help="encode a CSV text column into embeddings (and the cache)")
    encode.add_argument("csv")
    encode.add_argument("--column", required=True)
    encode.add_argument("--encoder", default=None, help="alias, Hugging Face id or local directory")
    encode.add_argument("--cache-dir", default=None)
    encode.add_argument("--output", default=None, help=".npy file for the embedding matrix")
    encode.add_argument("--batch-size", type=int, default=64)
    encode.set_defaults(func=_cmd_encode)

    lst = sub.add_parser("list", help="list encoders, models and plugins")
    lst.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
