"""The `darts-llm` command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darts_llm.cli import build_parser, main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "encode", "list"):
        assert command in out


def test_list_shows_encoders_and_models(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "minilm" in out and "TextTiDEModel" in out


def test_encode_csv_column_into_cache_and_npy(tmp_path, tiny_bert_dir, capsys):
    csv = tmp_path / "products.csv"
    pd.DataFrame({"sku": [1, 2, 3], "title": ["red candle", None, "red candle"]}).to_csv(csv, index=False)
    out = tmp_path / "emb.npy"
    args = ["encode", str(csv), "--column", "title", "--encoder", tiny_bert_dir, "--output", str(out),
            "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    vectors = np.load(out)
    assert vectors.shape == (3, 32)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert main(args) == 0
    assert "0 encoded" in capsys.readouterr().out


def test_encode_names_a_missing_column(tmp_path, capsys):
    csv = tmp_path / "products.csv"
    pd.DataFrame({"title": ["a"]}).to_csv(csv, index=False)
    assert main(["encode", str(csv), "--column", "description"]) == 2
    assert "column 'description' not in" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_on_the_synthetic_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("DARTS_LLM_ONLINE_RETAIL", str(tmp_path / "missing.csv.gz"))
    monkeypatch.setenv("DARTS_LLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--quick", "--output", str(tmp_path / "demo")]) == 0
    assert (tmp_path / "demo" / "forecasts.png").stat().st_size > 10_000
    assert "TextTiDE" in (tmp_path / "demo" / "comparison.md").read_text()
