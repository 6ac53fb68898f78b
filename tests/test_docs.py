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


# ---------------------------------------------------------------------------------------------------------------
# Generated text and figures: docs/_hooks/results.py (the MkDocs hook) and the committed docs/figures/.

RESULTS = ROOT / "benchmarks" / "results"
_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)(?:\s+\"[^\"]*\")?\)|<img\s[^>]*src=\"(?P<html>[^\"]+)\"")
_PAGE_SNIPPET = re.compile(r"""^--8<--\s+["'](?P<path>[^"']+)["']\s*$""", re.MULTILINE)


def _load_hook():
    spec = importlib.util.spec_from_file_location("docs_results_hook", DOCS / "_hooks" / "results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def rendered_page(page: Path) -> str:
    """A page's Markdown as MkDocs renders it: markers replaced by the hook, snippet lines by their files."""
    text = hook.render(page.read_text(encoding="utf-8"), depth=len(page.relative_to(DOCS).parts) - 1)
    return _PAGE_SNIPPET.sub(lambda m: (ROOT / m["path"]).read_text(encoding="utf-8"), text)


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_image_a_page_shows_exists(page):
    """Images are committed (the suite never fits models to draw them): each one a page references is there."""
    missing = []
    for match in _IMAGE.finditer(rendered_page(page)):
        src = match["src"] or match["html"]
        if re.match(r"^[a-z]+:", src):  # http(s):, data:
            continue
        if not (page.parent / src.split("#")[0]).resolve().is_file():
            missing.append(src)
    assert not missing, f"docs/{page.relative_to(DOCS)} shows images that do not exist: {missing}; run " \
                        f"`python docs/_build_figures.py` (or fix the path)"


def test_generated_figures_are_recorded():
    """figures.json (the captions' source) names the data, and every figure it describes is committed."""
    facts = hook.figure_facts()
    assert facts["data"]
    for name in ("text_vs_no_text", "explain_text", "cold_start"):
        file, alt, caption = hook._caption(name, facts)
        assert (DOCS / "figures" / file).is_file(), file
        assert caption.startswith("Data: "), caption
    for name in ("text_vs_no_text", "explain_text"):
        assert facts[name]["source"] == facts["data"]


def test_marker_replaced_without_eating_paragraph_breaks(tmp_path):
    text = hook.render("before\n\n<!-- results: approach-table -->\n\nafter\n", results=tmp_path)
    assert "<!--" not in text
    assert text.endswith("\n\nafter\n")
    with pytest.raises(hook.ResultsFormatError, match="unknown marker"):
        hook.render("<!-- results: no-such-table -->", results=tmp_path)
    with pytest.raises(hook.ResultsFormatError, match="unknown figure"):
        hook.render("<!-- figure: no_such_figure -->")


def _table_rows(table: str) -> dict[str, str]:
    rows = [ln for ln in table.split("\n") if ln.startswith("| **")]
    return {re.match(r"\| \*\*(?P<name>[^*]+)\*\*", ln)["name"]: ln for ln in rows}


def test_approach_table_without_results_says_not_measured(tmp_path):
    rows = _table_rows(hook.approach_table(tmp_path))
    assert list(rows) == [name for name, _, _ in hook.APPROACHES]
    assert all(hook.NOT_MEASURED in row for row in rows.values())
    assert hook.NOT_MEASURED in hook.where_text_helps(tmp_path)


def test_approach_table_reads_the_committed_results():
    """The readers match the committed result files' format (a changed benchmark table fails here, not silently)."""
    retail = hook.OnlineRetail(RESULTS)
    tide, twin = retail.get("TextTiDE (default settings)", "warm"), retail.get("TiDE", "warm")
    assert tide is not None and tide.runs_known and twin is not None
    rows = _table_rows(hook.approach_table(RESULTS))
    assert f"{tide} vs {twin} (TiDE)" in rows["Frozen text model"]
    assert hook.NOT_MEASURED not in rows["Text events"]
    assert "Economy (Time-MMD)" in rows["Text events"]
    lines = [ln for ln in hook.where_text_helps(RESULTS).split("\n") if ln.startswith("- **")]
    assert len(lines) == 3


def _cold_start_file(tmp_path, records) -> Path:
    import json
    import shutil

    for name in ("online_retail.md", "time_mmd.md"):
        shutil.copyfile(RESULTS / name, tmp_path / name)
    (tmp_path / "cold_start.json").write_text(json.dumps(records))
    return tmp_path


def test_approach_table_reads_cold_start_json(tmp_path):
    weeks = {str(k): {"best_text": f"TextAnalogModel {k}", "wape_text": 80.0 - k, "best_no_text": "mean curve",
                      "wape_no_text": 90.0, "lift_pct": 100 * (10 + k) / 90, "interval": [2.0 - k, 20.0],
                      "wape_shuffled": 91.5} for k in (0, 1, 2, 4)}
    results = _cold_start_file(tmp_path, {"weeks": weeks, "machine": "x86_64"})
    parsed = hook.cold_start_weeks(results)
    assert list(parsed) == [0, 1, 2, 4] and parsed[4]["interval"] == (-2.0, 20.0)
    row = _table_rows(hook.approach_table(results))["New-product model"]
    assert hook.NOT_MEASURED not in row
    assert "TextAnalogModel 0 80.0 vs mean curve 90.0, shuffled 91.5" in row
    # the verdict follows the interval: it excludes zero at 0 and 1 weeks only
    assert "**0 weeks of sales**, **1 week of sales**" in row and "**2 weeks of sales**" not in row
    # a list of records with another spelling of the fields reads the same
    records = [{"weeks": int(k), "best_text_row": w["best_text"], "best_text_wape": w["wape_text"],
                "best_no_text_row": w["best_no_text"], "best_no_text_wape": w["wape_no_text"],
                "lift": w["lift_pct"], "lift_ci": {"low": w["interval"][0], "high": w["interval"][1]},
                "shuffled_wape": w["wape_shuffled"]} for k, w in weeks.items()]
    assert hook.cold_start_weeks(_cold_start_file(tmp_path, records)) == parsed


def test_cold_start_by_history_says_what_to_use_from_the_interval(tmp_path):
    weeks = {"0": {"best_text": "TextAnalogModel", "wape_text": 70.0, "best_no_text": "launch curve", "wape_no_text": 90.0,
                   "lift_pct": 22.2, "interval": [12.0, 30.0], "wape_shuffled": 89.0},
             "1": {"best_text": "LightGBM + analog curve", "wape_text": 80.0, "best_no_text": "LightGBM, no text",
                   "wape_no_text": 82.0, "lift_pct": 2.4, "interval": [-3.0, 7.0], "wape_shuffled": None}}
    results = _cold_start_file(tmp_path, {"weeks": weeks})
    rows = [line for line in hook.cold_start_by_history(results).splitlines() if line.startswith("| ")][1:]
    assert rows[0].startswith("| 0 | TextAnalogModel | 70.0 |") and "+22.2% (+12.0, +30.0)" in rows[0]
    assert rows[1].startswith("| 1 | LightGBM, no text | 82.0 |") and rows[1].endswith("| n/a |")
    (tmp_path / "cold_start.json").unlink()
    assert hook.NOT_MEASURED in hook.cold_start_by_history(tmp_path)


def test_cold_start_level_table_is_written_from_the_level_analysis(tmp_path):
    ceilings = {"0": {"r2": 0.12, "level_bias": 0.69, "wape_exact_level": 59.4, "target": 74.6, "share_needed": 0.49,
                      "r2_needed": 0.77},
                "2": {"r2": 0.7, "level_bias": -0.1, "wape_exact_level": 80.0, "target": 56.0, "share_needed": None,
                      "r2_needed": None}}
    results = _cold_start_file(tmp_path, {"weeks": {}, "level_ceiling": ceilings})
    rows = [line for line in hook.cold_start_level(results).splitlines() if line.startswith("| ")][1:]
    assert rows[0] == "| 0 | 0.12 | 2.0x | 59.4 | 74.6 | 0.77 |"
    assert rows[1] == "| 2 | 0.70 | 0.9x | 80.0 | 56.0 | out of reach |"
    assert "cold-start-level" not in hook.render("<!-- results: cold-start-level -->", results=results)
    del ceilings["0"]["r2"]
    _cold_start_file(tmp_path, {"level_ceiling": ceilings})
    with pytest.raises(hook.ResultsFormatError, match="level_ceiling 0: no usable 'r2'"):
        hook.cold_start_level(tmp_path)
    (tmp_path / "cold_start.json").unlink()
    assert hook.NOT_MEASURED in hook.cold_start_level(tmp_path)


def test_malformed_cold_start_json_is_an_error_not_a_wrong_table(tmp_path):
    results = _cold_start_file(tmp_path, {"weeks": {"0": {"best_text": "x", "best_no_text": "y", "lift_pct": 1}}})
    with pytest.raises(hook.ResultsFormatError, match=r"cold_start.json, 0 weeks: no 'wape_text'"):
        hook.approach_table(results)
    (tmp_path / "cold_start.json").write_text("{not json")
    with pytest.raises(hook.ResultsFormatError, match="not valid JSON"):
        hook.cold_start_weeks(tmp_path)


def test_changed_benchmark_table_is_an_error(tmp_path):
    (tmp_path / "online_retail.md").write_text("## Online Retail\n\n### Warm cohort\n\n| model | MAE |\n|---|---|\n"
                                              "| TiDE | 3 |\n")
    with pytest.raises(hook.ResultsFormatError, match="online_retail.md: no table under a heading starting with "
                                                      "'Warm cohort'"):
        hook.approach_table(tmp_path)


@pytest.mark.parametrize(
    ("text", "twin", "shuffled", "helps", "words"),
    [
        ((70.2, 0.3), (70.3, 0.2), None, False, "within seed noise"),
        ((94.1, 0.6), (92.2, 0.6), None, False, "2.1% higher"),
        ((85.6, None), (94.2, None), (94.2, None), True, "9.1% lower, lost with shuffled"),
        ((85.6, None), (94.2, None), (86.0, None), False, "shuffled descriptions keep"),
        ((93.8, None), (94.2, None), None, False, "single runs"),
        ((60.0, 0.5), (70.0, 1.0), None, True, "14.3% lower"),
    ],
)
def test_verdicts(text, twin, shuffled, helps, words):
    def stat(pair):
        return None if pair is None else hook.Stat(pair[0], float("nan") if pair[1] is None else pair[1])

    verdict = hook.compare(stat(text), stat(twin), stat(shuffled))
    assert verdict.helps is helps
    assert words in verdict.words
