"""benchmarks/gpu_check.py where there is no GPU: its message and exit status, its steps on the CPU, its arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gpu_check  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run its checks")
def test_without_cuda_it_says_so_and_exits_0(capsys):
    assert gpu_check.main([]) == 0
    assert "No CUDA device here" in capsys.readouterr().out


def test_its_steps_run_on_the_cpu_and_print_a_table_without_writing(tiny_bert_dir, capsys, monkeypatch):
    written = []
    monkeypatch.setattr(gpu_check, "write_section", lambda *a, **k: written.append(a))
    argv = ["--device", "cpu", "--encoder", tiny_bert_dir, "--n-series", "8", "--epochs", "1", "--n-texts", "16",
            "--threads", "1"]
    assert gpu_check.main(argv) == 0
    out = capsys.readouterr().out
    for check in ("TextTiDE frozen, bf16-mixed", "TextTiDE lora, bf16-mixed", "encoder, CPU float32"):
        assert f"| {check} |" in out
    assert "| **no** |" not in out and not written


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--device", "tpu"], ["--rtol", "-1"], ["--n-texts", "x"]])
def test_bad_arguments_exit_2_naming_the_argument(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.parse_args(argv)
    assert exit_info.value.code == 2 and argv[0] in capsys.readouterr().err
