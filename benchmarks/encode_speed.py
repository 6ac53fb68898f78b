"""Encoder throughput against a plain hand-batched ``transformers`` loop, and the speed of cached repeats.

Usage::

    python benchmarks/encode_speed.py [--data PATH] [--n-texts 3000] [--batch-size 64]

All timings come from one run on the same texts and the same model (all-MiniLM-L6-v2 by default).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from darts_llm import EmbeddingCache, get_encoder
from darts_llm.encoders.pooling import pool

from harness.panels import add_data_argument
from harness.report import machine, table, timed, write_section



def product_descriptions(path: Path, n: int) -> list[str]:
    """``n`` distinct product descriptions from the Online Retail file, in file order."""
    descriptions = pd.read_csv(path, usecols=["Description"])["Description"].dropna().astype(str).str.strip()
    unique = list(dict.fromkeys(d for d in descriptions if d))
    return unique[:n]


def plain_transformers_loop(tokenizer, model, texts, batch_size, max_length):
    """What a user writes by hand: batches in input order, padding per batch, mean pooling."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size], padding=True, truncation=True,
                max_length=max_length, return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            out.append(pool(hidden, batch["attention_mask"], "mean").numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--n-texts", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each method; the best is kept")
    args = parser.parse_args()

    texts = product_descriptions(args.data, args.n_texts)
    encoder = get_encoder(args.encoder).load()
    tokenizer, model = encoder.tokenizer, encoder.model
    # warm-up of both paths (thread pools, allocator)
    encoder.encode(texts[:128], batch_size=args.batch_size)
    plain_transformers_loop(tokenizer, model, texts[:128], args.batch_size, encoder.max_length)

    plain_times, encode_times = [], []
    for _ in range(args.rounds):
        t, plain = timed(lambda: plain_transformers_loop(tokenizer, model, texts, args.batch_size, encoder.max_length))
        plain_times.append(t)
        t, ours = timed(lambda: encoder.encode(texts, batch_size=args.batch_size, show_progress=False))
        encode_times.append(t)
    max_diff = float(np.abs(plain - ours).max())

    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(tmp)
        first, _ = timed(lambda: cache.encode(encoder, texts, batch_size=args.batch_size))
        repeat, _ = timed(lambda: cache.encode(encoder, texts, batch_size=args.batch_size))
        from_disk, _ = timed(lambda: EmbeddingCache(tmp).encode(encoder, texts, batch_size=args.batch_size))

    t_plain, t_ours = min(plain_times), min(encode_times)
    rows = [
        {"method": "plain transformers loop (input order)", "seconds": t_plain, "texts/s": len(texts) / t_plain,
         "vs plain loop": 1.0},
        {"method": "TextEncoder.encode (length-sorted)", "seconds": t_ours, "texts/s": len(texts) / t_ours,
         "vs plain loop": t_plain / t_ours},
        {"method": "EmbeddingCache.encode, first call", "seconds": first, "texts/s": len(texts) / first,
         "vs plain loop": t_plain / first},
        {"method": "EmbeddingCache.encode, repeat (memory)", "seconds": repeat, "texts/s": len(texts) / repeat,
         "vs plain loop": t_plain / repeat},
        {"method": "EmbeddingCache.encode, new process view (disk)", "seconds": from_disk,
         "texts/s": len(texts) / from_disk, "vs plain loop": t_plain / from_disk},
    ]
    markdown = (
        "## Encoder throughput (`benchmarks/encode_speed.py`)\n\n"
        f"{len(texts):,} distinct Online Retail product descriptions, encoder `{encoder.encoder_id}`, "
        f"batch size {args.batch_size}, best of {args.rounds} rounds. {machine()}.\n\n"
        + table(rows)
        + f"\n\nThroughput of `encode` relative to the plain loop: **{t_plain / t_ours:.2f}x** (target >= 0.9x). "
        f"A cached repeat is **{first / repeat:,.0f}x** faster than encoding (target >= 50x); "
        f"from the disk cache, {first / from_disk:,.0f}x. "
        f"Largest difference between the two methods' embeddings: {max_diff:.2e}.\n"
    )
    print(markdown)
    write_section("encode_speed", markdown)


if __name__ == "__main__":
    main()
