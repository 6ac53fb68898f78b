"""The package as users get it: sdist and wheel built from the clone, installed into a fresh environment.

The fresh environment is a new virtual environment (its own ``site-packages``, no system site) that sees the
project environment's third-party packages (PyTorch, Darts, transformers) through a ``.pth`` file, so nothing
is downloaded; the wheel is installed into it with ``--no-deps --no-index``.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """An sdist, and a wheel built from that sdist (what ``python -m build`` does), without network."""
    pytest.importorskip("build", reason="`build` is in the dev extra: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_check_passes(dist):
    pytest.importorskip("twine", reason="`twine` is in the dev extra: pip install -e '.[dev]'")
    result = _run([sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])])
    assert result.stdout.count("PASSED") == 2


def test_wheel_holds_the_package_only(dist):
    from importlib.metadata import version

    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = zf.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"darts_llm", f"darts_llm-{version('darts-llm')}.dist-info"}
    assert "darts_llm/cli.py" in names and "darts_llm/py.typed" in names
    assert any(n.startswith("darts_llm/models/") for n in names)
    assert not any(part in n for n in names for part in ("tests/", "benchmarks/", "docs/", "conftest"))
    with zipfile.ZipFile(dist["wheel"]) as zf:
        metadata = zf.read(f"darts_llm-{version('darts-llm')}.dist-info/METADATA").decode()
        entry_points = zf.read(f"darts_llm-{version('darts-llm')}.dist-info/entry_points.txt").decode()
    assert "darts-llm = darts_llm.cli:main" in entry_points
    assert "Provides-Extra: xlsx" in metadata
    assert "Requires-Dist: openpyxl" in metadata and 'openpyxl>=3.1; extra == "xlsx"' in metadata


def test_sdist_carries_the_tests(dist):
    with tarfile.open(dist["sdist"]) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "tests/conftest.py", "tests/test_packaging.py"} <= names
    assert not any(n.startswith(("benchmarks/", "docs/")) for n in names)


#: Runs inside the fresh environment: the installed package, not the clone, fits and predicts offline.
SMOKE = r"""
import sys
import numpy as np
import pandas as pd
import darts_llm
from darts import TimeSeries
from darts_llm.models import TextTiDEModel

assert darts_llm.__file__.startswith(sys.argv[1]), darts_llm.__file__
rows = [{"sku": k, "week": t, "qty": 1.0 + k + np.sin(t / 2.0), "description": text}
        for k, text in enumerate(["red heart candle", "blue garden chair", "vintage tea mug"])
        for t in range(24)]
series = TimeSeries.from_group_dataframe(pd.DataFrame(rows), group_cols="sku", time_col="week",
                                         value_cols="qty", static_cols=["description"])
model = TextTiDEModel(input_chunk_length=6, output_chunk_length=2, hidden_size=8, decoder_output_dim=2,
                      temporal_decoder_hidden=8, n_epochs=1, batch_size=16, random_state=0,
                      text_encoder=sys.argv[2], text_dim=2,
                      pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                                         "enable_model_summary": False, "logger": False})
forecasts = model.fit(series).predict(2, series=series)
assert len(forecasts) == 3 and all(len(f) == 2 and np.isfinite(f.values()).all() for f in forecasts)
print("SMOKE OK", darts_llm.__version__)
"""


def test_wheel_installs_and_runs_in_a_fresh_environment(dist, tmp_path, tiny_bert_dir):
    from importlib.metadata import version

    env = tmp_path / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env)])
    python = env / "bin" / "python"
    env_site = Path(_run([str(python), "-c", "import site; print(site.getsitepackages()[0])"]).stdout.strip())
    # the project's third-party packages (torch, darts, ...) become visible *after* the fresh site-packages
    (env_site / "_base_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
          str(dist["wheel"])])

    run_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run_env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DARTS_LLM_DISABLE_PLUGINS="1")
    version_out = _run([str(env / "bin" / "darts-llm"), "--version"], cwd=tmp_path, env=run_env).stdout
    assert version_out.strip() == f"darts-llm {version('darts-llm')}"
    script = tmp_path / "smoke.py"
    script.write_text(SMOKE)
    result = _run([str(python), str(script), str(env_site), tiny_bert_dir], cwd=tmp_path, env=run_env,
                  timeout=300)
    assert "SMOKE OK" in result.stdout
