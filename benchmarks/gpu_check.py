"""GPU check: TextTiDE (frozen and LoRA) trained in bf16-mixed on CUDA and reloaded on the CPU; encoder throughput.

Usage::

    python benchmarks/gpu_check.py [--device cuda:0] [--n-series 64] [--epochs 2] [--n-texts 2000] [--no-write]
    python benchmarks/gpu_check.py --device cpu --n-series 8 --epochs 1 --n-texts 64   # try the steps on a CPU

For each fine-tuning mode the script fits a TextTiDEModel with ``precision="bf16-mixed"`` on the GPU, forecasts,
saves the model, loads it with ``map_location="cpu"``, forecasts again on the CPU and compares the two
(relative difference = largest absolute difference / mean absolute forecast). It then times the encoder on the
same distinct texts on the CPU (float32, every core) and on the GPU (float32 and bfloat16). On CUDA the table
goes to ``benchmarks/README.md`` (section ``gpu_check``) and ``benchmarks/results/gpu_check.md``.

Without a CUDA device it says so and exits 0 (unless ``--device cpu`` asks for the steps on the CPU, which only
print their table).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from darts_llm import get_encoder
from darts_llm.datasets import make_synthetic_catalog

from harness.panels import add_data_argument
from harness.report import README, machine, table, write_section

HORIZON = 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    def positive(text: str) -> int:
        value = int(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
        return value

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--device", default="cuda:0",
                        help="cuda[:i] (default cuda:0), or cpu to try the steps without a GPU")
    parser.add_argument("--encoder", default="minilm", help="encoder alias, Hugging Face id or folder")
    parser.add_argument("--n-series", type=positive, default=64, help="synthetic products to fit on")
    parser.add_argument("--epochs", type=positive, default=2)
    parser.add_argument("--n-texts", type=positive, default=2000, help="distinct texts for the encoder timing")
    parser.add_argument("--batch-size", type=positive, default=128, help="texts per encoder forward pass")
    parser.add_argument("--rtol", type=float, default=0.02,
                        help="largest accepted relative difference of the GPU and CPU forecasts")
    parser.add_argument("--threads", type=positive, default=os.cpu_count() or 1,
                        help="torch threads for the CPU steps (default: every core)")
    parser.add_argument("--no-write", action="store_true", help="print the table only (CUDA runs write it)")
    args = parser.parse_args(argv)
    if not (args.device == "cpu" or args.device == "cuda" or args.device.startswith("cuda:")):
        parser.error(f"--device must be cpu, cuda or cuda:<index>, got {args.device!r}")
    if not args.rtol > 0:
        parser.error(f"--rtol must be positive, got {args.rtol}")
    return args


def trainer_kwargs(device: str) -> dict:
    placement = {"accelerator": "cpu"} if device == "cpu" else {
        "accelerator": "gpu", "devices": [int(device.partition(":")[2] or 0)]}
    return {**placement, "precision": "bf16-mixed", "enable_progress_bar": False, "enable_model_summary": False,
            "logger": False}


def check_fit_and_reload(mode: str, args, series, work: Path) -> dict:
    """Fit with bf16-mixed on ``args.device``, forecast, save, load on the CPU, forecast there, compare."""
    from darts_llm.models import TextTiDEModel

    extra = {"lora_r": 4, "encoder_lr": 1e-4} if mode == "lora" else {}
    model = TextTiDEModel(
        input_chunk_length=12, output_chunk_length=HORIZON, hidden_size=32, n_epochs=args.epochs, batch_size=64,
        random_state=0, text_encoder=args.encoder, encoder_finetuning=mode, text_dim=8,
        pl_trainer_kwargs=trainer_kwargs(args.device), **extra,
    )
    start = time.perf_counter()
    model.fit(series)
    fit_seconds = time.perf_counter() - start
    here = np.stack([f.all_values() for f in model.predict(HORIZON, series=series)])
    path = work / f"text_tide_{mode}.pt"
    model.save(str(path))
    loaded = TextTiDEModel.load(str(path), map_location="cpu")
    loaded.to_cpu()
    on_cpu = np.stack([f.all_values() for f in loaded.predict(HORIZON, series=series)])
    largest = float(np.abs(here - on_cpu).max())
    relative = largest / max(float(np.abs(here).mean()), 1e-12)
    return {"check": f"TextTiDE {mode}, bf16-mixed", "setting": f"{len(series)} series, {args.epochs} epoch(s)",
            "result": f"fit {fit_seconds:.1f} s; reloaded on CPU: largest difference {largest:.3g} "
                      f"({relative:.2%} of the mean forecast)",
            "passed": bool(np.isfinite(here).all() and relative <= args.rtol)}


def distinct_texts(args) -> list[str]:
    """Distinct Online Retail descriptions when the file is there, else the synthetic catalogue's."""
    if args.data.is_file():
        column = pd.read_csv(args.data, usecols=["Description"])["Description"].dropna().astype(str).str.strip()
        texts = list(dict.fromkeys(t for t in column if t))
    else:
        catalogue = make_synthetic_catalog(n_products=max(args.n_texts, 8), n_periods=8, seed=1)
        texts = list(dict.fromkeys(str(s.static_covariates["description"].iloc[0]) for s in catalogue))
    return texts[: args.n_texts]


def encode_speed(texts: list[str], args, device: str, dtype: str | None) -> tuple[float, np.ndarray]:
    """(texts per second, vectors) of encoding ``texts`` once after a warm-up batch."""
    encoder = get_encoder(args.encoder, device=device, dtype=dtype).load()
    encoder.encode(texts[: args.batch_size], batch_size=args.batch_size)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=args.batch_size)  # returns host arrays: the GPU work is done
    return len(texts) / (time.perf_counter() - start), vectors


def check_encoder(args) -> list[dict]:
    texts = distinct_texts(args)
    threads = torch.get_num_threads()
    cpu_rate, cpu_vectors = encode_speed(texts, args, "cpu", None)
    rows = [{"check": "encoder, CPU float32", "setting": f"{len(texts)} texts, {threads} threads",
             "result": f"{cpu_rate:,.0f} texts/s", "passed": True}]
    if args.device == "cpu":
        return rows
    for dtype in (None, "bfloat16"):
        rate, vectors = encode_speed(texts, args, args.device, dtype)
        cosine = np.sum(vectors * cpu_vectors, axis=1) / (
            np.linalg.norm(vectors, axis=1) * np.linalg.norm(cpu_vectors, axis=1) + 1e-12)
        rows.append({"check": f"encoder, GPU {dtype or 'float32'}", "setting": f"batch {args.batch_size}",
                     "result": f"{rate:,.0f} texts/s ({rate / cpu_rate:.1f}x the CPU); lowest cosine to the CPU "
                               f"vectors {cosine.min():.4f}",
                     "passed": bool(cosine.min() > 0.99)})
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device != "cpu" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        print(f"No CUDA device here (torch {torch.__version__}, {build}): nothing to check. Run this script on a "
              f"machine with an NVIDIA GPU and a CUDA build of PyTorch, or pass --device cpu to try its steps.")
        return 0
    if args.device != "cpu":
        index = int(args.device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            print(f"--device {args.device}: this machine has {torch.cuda.device_count()} CUDA device(s).")
            return 2
    torch.set_num_threads(args.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    started = time.perf_counter()
    series = [s for s in make_synthetic_catalog(n_products=args.n_series, n_periods=60, seed=0) if len(s) >= 30]
    with tempfile.TemporaryDirectory() as work:
        rows = [check_fit_and_reload(mode, args, series, Path(work)) for mode in ("frozen", "lora")]
    rows += check_encoder(args)
    where = torch.cuda.get_device_name(int(args.device.partition(":")[2] or 0)) if args.device != "cpu" else "CPU"
    for row in rows:
        row["passed"] = "yes" if row["passed"] else "**no**"
    markdown = (
        f"## GPU check (`benchmarks/gpu_check.py`)\n\n"
        f"Command: `python benchmarks/gpu_check.py {' '.join(argv if argv is not None else sys.argv[1:])}`; "
        f"{where}; {machine()}; {time.perf_counter() - started:.0f} s in all. TextTiDE on the SYNTHETIC catalogue, "
        f"encoder `{args.encoder}`; the forecasts of the reloaded model must stay within {args.rtol:.0%} of the "
        f"mean forecast, and bfloat16 vectors within cosine 0.99 of the CPU's.\n\n"
        + table(rows, ["check", "setting", "result", "passed"])
    )
    print(markdown)
    if args.device != "cpu" and not args.no_write:
        path = write_section("gpu_check", markdown, readme=README)
        print(f"Written to {path} and the gpu_check section of {README}.")
    return 0 if all(row["passed"] == "yes" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
