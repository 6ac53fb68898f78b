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
    for command in ("demo", "encode", "list", "cache"):
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
    assert (tmp_path / "demo" / "established.png").stat().st_size > 10_000
    report = (tmp_path / "demo" / "comparison.md").read_text()
    assert "TextTiDE" in report and "shuffled" in report and "no text" in report and "TextAnalogModel" in report


def test_version_matches_the_distribution(capsys):
    from importlib.metadata import version

    import darts_llm

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"darts-llm {version('darts-llm')}"
    assert darts_llm.__version__ == version("darts-llm")


def test_version_and_help_import_neither_torch_nor_darts():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from darts_llm.cli import build_parser\n"
        "for argv in (['--version'], ['--help'], ['cache', '--help']):\n"
        "    try:\n"
        "        build_parser().parse_args(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'darts', 'transformers', 'pandas') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def _encode_into(cache_dir, tiny_bert_dir, texts):
    from darts_llm.cache import EmbeddingCache
    from darts_llm.encoders.huggingface import HuggingFaceEncoder

    encoder = HuggingFaceEncoder(tiny_bert_dir, max_length=16)
    EmbeddingCache(cache_dir).encode(encoder, texts)
    return encoder.encoder_id


def test_cache_info_and_clear_one_encoder(tmp_path, tiny_bert_dir, tiny_encoder, capsys):
    from darts_llm.cache import EmbeddingCache

    cache_dir = tmp_path / "emb"
    short_id = _encode_into(cache_dir, tiny_bert_dir, ["red candle", "blue mug", "red candle"])
    _encode_into(cache_dir, tiny_bert_dir, ["blue mug", "green star"])  # second shard, one repeat
    EmbeddingCache(cache_dir).encode(tiny_encoder, ["white heart"])  # another encoder (max_length 32)
    (cache_dir / "junk").mkdir()
    (cache_dir / "junk" / "broken.npz").write_bytes(b"not a zip")

    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert str(cache_dir) in out
    assert "Entries:   4 embeddings in 4 files" in out  # 3 distinct texts + 1; the broken file counts as a file
    assert f"{short_id}  3 embeddings" in out and f"{tiny_encoder.encoder_id}  1 embeddings" in out
    assert "Unreadable files" in out

    # a part of an id that fits both encoders is refused, naming them
    shared = "pool=mean"
    assert shared in short_id and shared in tiny_encoder.encoder_id
    assert main(["cache", "clear", "--cache-dir", str(cache_dir), "--encoder", shared]) == 2
    err = capsys.readouterr().err
    assert "matches 2 encoders" in err and short_id in err
    assert "maxlen=16" in short_id and "maxlen=16" not in tiny_encoder.encoder_id
    assert main(["cache", "clear", "--cache-dir", str(cache_dir), "--encoder", "maxlen=16"]) == 0
    assert "Removed 2 files" in capsys.readouterr().out
    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert short_id not in out and tiny_encoder.encoder_id in out

    # the remaining encoder's vectors are still served from disk
    fresh = EmbeddingCache(cache_dir)
    fresh.encode(tiny_encoder, ["white heart"])
    assert fresh.misses == 0

    assert main(["cache", "clear", "--cache-dir", str(cache_dir)]) == 0
    assert "Removed 2 files" in capsys.readouterr().out  # the shard and the broken file
    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    assert "Entries:   0 embeddings in 0 files" in capsys.readouterr().out
    assert cache_dir.is_dir()  # the directory itself stays


def test_cache_clear_unknown_encoder_and_default_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DARTS_LLM_CACHE_DIR", str(tmp_path / "root"))
    assert main(["cache", "info"]) == 0
    assert str(tmp_path / "root" / "embeddings") in capsys.readouterr().out
    assert main(["cache", "clear", "--encoder", "nope"]) == 2
    assert "matches no encoder" in capsys.readouterr().err
    assert main(["cache", "clear"]) == 0
    assert "Removed 0 files" in capsys.readouterr().out


def test_list_imports_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys; from darts_llm.cli import main; main(['list']); "
            "heavy = [m for m in ('torch', 'darts', 'transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TextTiDEModel" in result.stdout


def _sales_csv(path, n_products: int = 8, weeks: int = 36):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    words = ["red heart candle", "blue garden chair", "christmas tree light", "vintage tea mug"]
    rows = [
        {"sku": f"P{k}", "week": day, "qty": float(max(0, 5 + 3 * np.sin(t / 3 + k) + rng.normal())),
         "description": words[k % 4] + f" set {k}", "price": 1.0 + k}
        for k in range(n_products) for t, day in enumerate(pd.date_range("2024-01-07", periods=weeks, freq="W"))
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_compare_prints_the_ablation_table(tmp_path, tiny_bert_dir, capsys, monkeypatch):
    monkeypatch.setenv("DARTS_LLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    csv = _sales_csv(tmp_path / "sales.csv")
    code = main(["compare", str(csv), "--id-col", "sku", "--time-col", "week", "--target", "qty",
                 "--text-col", "description", "--static-col", "price", "--freq", "W", "--encoder", tiny_bert_dir,
                 "--seeds", "0", "--epochs", "1", "--backtest", "8", "--input-length", "8",
                 "--output", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    for variant in ("real", "shuffled", "constant", "no text"):
        assert f"| {variant} |" in printed
    assert "8 products" in printed
    assert (tmp_path / "out" / "comparison.png").stat().st_size > 5_000
    assert "WAPE % with the real text" in (tmp_path / "out" / "comparison.md").read_text()


def test_compare_names_a_missing_column(tmp_path, capsys):
    csv = _sales_csv(tmp_path / "sales.csv", n_products=2, weeks=10)
    with pytest.raises(ValueError, match=r"no column\(s\) \['title'\].*--text-col"):
        main(["compare", str(csv), "--id-col", "sku", "--time-col", "week", "--target", "qty", "--text-col", "title"])
