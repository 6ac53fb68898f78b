"""The documentation: every ``python`` code block in ``docs/**/*.md`` runs, and ``mkdocs build --strict`` passes.

Conventions (also in ``docs/contributing-docs.md``):

- The fenced blocks of a page whose info string is ``python`` (or ``py``) run in order, in one namespace per
  page. Nothing is hidden from the reader: the test only quiets logging and limits threads around a page, so each
  page can be copied and run as it is.
- A block preceded by the line ``<!-- skip-test -->`` (blank lines in between allowed) is not executed: for
  snippets that need the user's data, a GPU, or the network. Use it sparingly.
- A ``--8<-- "path"`` line inside a block (pymdownx.snippets, paths relative to the repository root) is replaced
  by that file, as in the built site, so a page can show and run a file of the repository.
- Each page runs in a fresh temporary working directory (``darts_logs/``, saved models and cache folders land
  there), with the plugin registry reset afterwards. The process-wide embedding cache is shared between pages,
  so the synthetic catalogue's descriptions are encoded once.

A failure names the page, the block number and the Markdown line, and the traceback points at that line.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: The marker line that keeps the next ``python`` block from being executed.
SKIP_MARKER = "<!-- skip-test -->"
#: Info strings (first word after the fence) of blocks that are executed.
PYTHON_LANGS = {"python", "py", "python3"}

#: Loggers quieted while a page runs (Lightning's GPU/TPU notices, Darts' and transformers' chatter).
QUIET_LOGGERS = ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "darts", "transformers")

# a pymdownx.snippets line, `--8<-- "path"` (relative to the repository root, as in mkdocs.yml)
_SNIPPET = re.compile(r"""^\s*--8<--\s+["']?(?P<path>[^"']+?)["']?\s*$""")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass
class Block:
    page: str
    number: int  # 1-based, among the page's python blocks
    line: int  # 1-based line of the first code line in the Markdown file
    source: str
    skipped: bool


def python_blocks(path: Path) -> list[Block]:
    """The fenced ``python`` blocks of a Markdown page, with their skip status."""
    lines = path.read_text(encoding="utf-8").split("\n")
    page = path.relative_to(DOCS).as_posix()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip()
        lang = info.split()[0].lstrip(".{").rstrip("}").lower() if info else ""
        start = i + 1
        end = start
        while end < len(lines) and not (
            lines[end].strip().startswith(fence[0] * len(fence)) and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        if lang in PYTHON_LANGS:
            body = []
            for ln in lines[start:end]:
                ln = ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                snippet = _SNIPPET.match(ln)
                body += (ROOT / snippet["path"]).read_text(encoding="utf-8").split("\n") if snippet else [ln]
            prev = i - 1
            while prev >= 0 and not lines[prev].strip():
                prev -= 1
            skipped = prev >= 0 and lines[prev].strip() == SKIP_MARKER
            blocks.append(Block(page, len(blocks) + 1, start + 1, "\n".join(body), skipped))
        i = end + 1
    return blocks


def doc_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if not any(part.startswith("_") for part in p.parts))


PAGES_WITH_CODE = [p for p in doc_pages() if any(not b.skipped for b in python_blocks(p))]


def test_pages_found():
    assert (DOCS / "index.md").is_file()
    assert PAGES_WITH_CODE, "no page with an executed python block: did the fence syntax change?"


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    """A temporary working directory, one CPU thread per library, quiet logs; the plugin registry reset afterwards.

    The examples train tiny models, for which extra threads only cost: on a busy machine, OpenMP threads of torch,
    LightGBM and BLAS spin against each other and make a page several times slower. The limits are restored after
    the page, so the rest of the test session is unaffected.
    """
    import torch
    from threadpoolctl import threadpool_limits

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if importlib.util.find_spec("lightgbm") is not None:
        import lightgbm  # noqa: F401 - loaded now, so that its OpenMP pool is limited below

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    limits = threadpool_limits(limits=1)
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    yield tmp_path
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    limits.restore_original_limits()
    torch.set_num_threads(threads)
    from darts_llm import registry
    from darts_llm.plugins import reset_plugins

    reset_plugins()
    registry.refresh()


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_code_runs(page, page_env):
    namespace: dict = {"__name__": "__docs__"}
    timings = []
    for block in python_blocks(page):
        if block.skipped:
            continue
        # pad with newlines so that tracebacks show the Markdown file's own line numbers
        code = compile("\n" * (block.line - 1) + block.source, str(page), "exec")
        started = time.perf_counter()
        failure = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Lightning's and Darts' notices; a failure is an exception
                exec(code, namespace)
        except Exception:  # noqa: BLE001 - report any failure with its location
            failure = traceback.format_exc()
        if failure is not None:
            pytest.fail(f"docs/{block.page}: python block {block.number} (line {block.line}) failed:\n{failure}",
                        pytrace=False)
        timings.append(f"block {block.number} (line {block.line}): {time.perf_counter() - started:.1f}s")
    print(f"docs/{page.relative_to(DOCS).as_posix()}: " + "; ".join(timings))


def test_skip_marker_only_before_python_blocks():
    """A skip marker that does not precede a python block is a typo that would silently run nothing."""
    for page in doc_pages():
        lines = page.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if line.strip() != SKIP_MARKER:
                continue
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            match = _FENCE.match(lines[j]) if j < len(lines) else None
            lang = (match["info"].split() or [""])[0].lower() if match else ""
            assert lang in PYTHON_LANGS, f"docs/{page.relative_to(DOCS)}:{i + 1}: {SKIP_MARKER} not followed by a python block"


def _mkdocs_available() -> str | None:
    missing = [m for m in ("mkdocs", "mkdocstrings_handlers.python", "material") if importlib.util.find_spec(m) is None]
    return None if not missing else f"documentation tools not installed ({', '.join(missing)}); pip install -e '.[docs]'"


@pytest.mark.skipif(_mkdocs_available() is not None, reason=str(_mkdocs_available()))
def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` passes: no broken link, no docstring the API reference cannot parse."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    problems = [ln for ln in result.stderr.splitlines() if "WARNING" in ln or "ERROR" in ln]
    assert result.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or [result.stderr[-4000:]])
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "models" / "index.html").is_file()
