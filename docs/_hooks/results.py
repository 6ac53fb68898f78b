"""Docs text computed from the benchmark result files, so that it cannot disagree with them after a rerun.

MkDocs runs this file as a hook (``hooks:`` in ``mkdocs.yml``): before a page is rendered, each marker line

- ``<!-- results: where-text-helps -->``: three sentences on where text helps and where it does not, from
  ``benchmarks/results/online_retail_summary.json`` (and ``cold_start.json`` when present);
- ``<!-- results: approach-table -->``: the "which approach when" table, from ``online_retail.md``,
  ``time_mmd.md`` and ``cold_start.json`` in ``benchmarks/results/``;
- ``<!-- results: cold-start-by-history -->`` and ``<!-- results: cold-start-level -->``: the approach to use
  by weeks of sales history, and how well a new product's level would have to be known, from ``cold_start.json``;
- ``<!-- figure: NAME -->``: the picture ``docs/figures/NAME.png`` with a caption that names the data and the
  numbers it shows, from ``docs/figures/figures.json`` (both written by ``docs/_build_figures.py``);

is replaced by that Markdown. A result file that is absent gives "not measured yet" rows; one that is present but
not in the expected form is an error naming the file and what was expected, never a silently wrong table.

``benchmarks/results/cold_start.json`` (written by ``benchmarks/cold_start.py``) is read as one record per
number of weeks of sales history, either ``{"weeks": {"0": {...}, "1": {...}}}``, ``{"0": {...}, ...}`` or
``[{"weeks": 0, ...}, ...]``, each record with ``best_text``, ``wape_text``, ``best_no_text``, ``wape_no_text``,
``lift_pct`` (how much lower, in %, the WAPE with text is: positive when the text helps) and optionally
``interval`` (``[low, high]`` of the lift, in %) and ``wape_shuffled`` (the best text row with shuffled
descriptions); see :data:`COLD_START_FIELDS` for the accepted spellings. Other top-level entries (machine,
command, ...) are ignored.

Run it as a script to print what it generates: ``python docs/_hooks/results.py``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
FIGURES = ROOT / "docs" / "figures"
NOT_MEASURED = "not measured yet"
#: Differences between single runs (no seed spread) below this many WAPE points are "no clear difference".
SINGLE_RUN_FLOOR = 1.0

#: Field of a cold_start.json record -> the names accepted for it (first found wins).
COLD_START_FIELDS = {
    "best_text": ("best_text", "best_text_row", "text_row", "best_with_text"),
    "wape_text": ("wape_text", "best_text_wape", "text_wape", "wape_with_text"),
    "best_no_text": ("best_no_text", "best_no_text_row", "no_text_row", "best_without_text"),
    "wape_no_text": ("wape_no_text", "best_no_text_wape", "no_text_wape", "wape_without_text"),
    "lift_pct": ("lift_pct", "lift", "lift_percent"),
    "interval": ("interval", "lift_interval", "lift_ci", "ci"),
    "wape_shuffled": ("wape_shuffled", "shuffled_wape", "shuffled"),
}
_OPTIONAL = {"interval", "wape_shuffled"}

_MARKER = re.compile(r"^<!--\s*(?P<kind>results|figure):\s*(?P<name>[\w-]+)\s*-->[ \t]*$", re.MULTILINE)


class ResultsFormatError(ValueError):
    """A result file exists but does not hold what the docs read from it."""


# ---------------------------------------------------------------------------------------------------- reading


def shown(path: Path) -> str:
    """A path as error messages show it: relative to the repository when it is inside."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass(frozen=True)
class Stat:
    """A WAPE (or other metric) as a result table gives it: mean and the std over seeds (NaN: one run)."""

    mean: float
    std: float = math.nan

    @property
    def runs_known(self) -> bool:
        return not math.isnan(self.std)

    def __str__(self) -> str:
        return f"{self.mean:.1f}" + (f" ± {self.std:.1f}" if self.runs_known else "")


def parse_stat(cell: str) -> Stat | None:
    """``"70.2 ± 0.31"`` -> Stat(70.2, 0.31); ``"69.3"`` -> Stat(69.3); ``"n/a"``/empty -> None."""
    cell = cell.strip().replace(",", "")
    if cell in ("", "n/a", "nan"):
        return None
    parts = [p.strip() for p in cell.split("±")]
    try:
        return Stat(float(parts[0]), float(parts[1]) if len(parts) > 1 else math.nan)
    except ValueError:
        return None


def markdown_tables(path: Path) -> list[tuple[str, list[dict[str, str]]]]:
    """Every pipe table of a Markdown file, with the last heading above it: ``[(heading, rows)]``."""
    tables, heading, lines = [], "", path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s|:-]+\|$", lines[i + 1].strip()):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells)))
                i += 1
            tables.append((heading, rows))
            continue
        i += 1
    return tables


def find_table(path: Path, heading_start: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The table under the heading that starts with ``heading_start`` and has ``columns``; an error otherwise."""
    for heading, rows in markdown_tables(path):
        if heading.startswith(heading_start) and rows and all(c in rows[0] for c in columns):
            return rows
    raise ResultsFormatError(
        f"{shown(path)}: no table under a heading starting with {heading_start!r} with the columns "
        f"{list(columns)}; the docs read it (docs/_hooks/results.py): regenerate the file with its benchmark "
        f"script, or update the reader."
    )


class OnlineRetail:
    """The per-model WAPE of ``benchmarks/results/online_retail.md`` (warm and cold-start cohorts, ablations)."""

    WARM, COLD, ABLATIONS = "Warm cohort", "Cold-start cohort", "Ablations"

    def __init__(self, results: Path = RESULTS):
        self.path = results / "online_retail.md"
        self.present = self.path.is_file()
        self.wape: dict[tuple[str, str], Stat | None] = {}
        self.shuffled: dict[tuple[str, str], Stat | None] = {}
        if not self.present:
            return
        for row in find_table(self.path, self.WARM, ("model", "WAPE %")):
            self.wape[(row["model"], "warm")] = parse_stat(row["WAPE %"])
        cold = find_table(self.path, self.COLD, ("model", "WAPE % (0 wk)", "WAPE % (1-4 wk)"))
        for row in cold:
            self.wape[(row["model"], "0 wk")] = parse_stat(row["WAPE % (0 wk)"])
            self.wape[(row["model"], "1-4 wk")] = parse_stat(row["WAPE % (1-4 wk)"])
        cohorts = {"warm": "warm", "cold, 0 weeks": "0 wk"}
        for row in find_table(self.path, self.ABLATIONS, ("cohort", "text model", "shuffled text")):
            if row["cohort"] in cohorts:
                self.shuffled[(row["text model"], cohorts[row["cohort"]])] = parse_stat(row["shuffled text"])

    def get(self, model: str, cohort: str) -> Stat | None:
        if (model, cohort) not in self.wape:
            models = sorted({m for m, _ in self.wape})
            raise ResultsFormatError(f"{shown(self.path)}: no row {model!r} (cohort {cohort}); rows: {models}")
        return self.wape[(model, cohort)]


def time_mmd_verdicts(results: Path = RESULTS) -> list[dict[str, str]] | None:
    """The per-domain verdict table of ``time_mmd.md``, or None when the file is absent."""
    path = results / "time_mmd.md"
    if not path.is_file():
        return None
    return find_table(path, "Time-MMD", ("domain", "text vs no text (MASE)", "verdict"))


def _pick(record: dict, field: str, where: str):
    for name in COLD_START_FIELDS[field]:
        if name in record:
            value = record[name]
            if isinstance(value, dict) and field in ("best_text", "best_no_text"):
                value = value.get("name", value.get("method", value.get("row")))
            return value
    if field in _OPTIONAL:
        return None
    raise ResultsFormatError(
        f"{where}: no {field!r} (accepted names: {list(COLD_START_FIELDS[field])}); keys found: {sorted(record)}."
    )


def _interval(value, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value.get("low", value.get("lower")), value.get("high", value.get("upper"))]
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ResultsFormatError(f"{where}: 'interval' must be [low, high] of the lift in %, got {value!r}.") from None
    return low, high


def cold_start_weeks(results: Path = RESULTS) -> dict[int, dict] | None:
    """Per weeks of history, the best rows with and without text of ``cold_start.json`` (None: no file).

    Each value has ``best_text``, ``wape_text``, ``best_no_text``, ``wape_no_text``, ``lift_pct`` and, when the
    file has them, ``interval`` (low, high) and ``wape_shuffled``.
    """
    path = results / "cold_start.json"
    if not path.is_file():
        return None
    where = shown(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ResultsFormatError(f"{where} is not valid JSON ({err}).") from None
    if isinstance(data, dict):
        for key in ("weeks", "by_weeks", "by_history", "history"):
            if isinstance(data.get(key), (dict, list)):
                data = data[key]
                break
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = []
        for record in data:
            key = next((k for k in ("weeks", "k", "weeks_of_history", "history_weeks") if k in record), None)
            if key is None:
                raise ResultsFormatError(f"{where}: a record without 'weeks' (the weeks of history): {record!r}.")
            items.append((record[key], record))
    else:
        raise ResultsFormatError(f"{where}: expected an object or a list of records, got {type(data).__name__}.")
    weeks = {}
    for key, record in items:
        try:
            k = int(str(key).split()[0])
        except ValueError:
            continue  # other top-level entries (machine, command, ...)
        if not isinstance(record, dict):
            continue
        at = f"{where}, {k} weeks"
        out = {field: _pick(record, field, at) for field in COLD_START_FIELDS}
        for field in ("wape_text", "wape_no_text", "lift_pct", "wape_shuffled"):
            if out[field] is not None:
                out[field] = float(out[field])
        out["interval"] = _interval(out["interval"], at)
        weeks[k] = out
    if not weeks:
        raise ResultsFormatError(f"{where}: no record per weeks of history (expected e.g. {{'weeks': {{'0': {{...}}}}}}).")
    return dict(sorted(weeks.items()))


# ------------------------------------------------------------------------------------------------ sentences


@dataclass(frozen=True)
class Verdict:
    """What one comparison of a text method with its no-text counterpart shows (WAPE: lower is better)."""

    helps: bool
    words: str  # e.g. "7.2% lower", "within seed noise"


def compare(text: Stat | None, twin: Stat | None, shuffled: Stat | None = None) -> Verdict:
    """The verdict on two WAPEs, from the seed spread (or :data:`SINGLE_RUN_FLOOR`) and the shuffled control.

    A gain counts as help only if it exceeds the noise and, when a shuffled-text run is given, shuffling the
    descriptions loses it (the gain then comes from what the texts say).
    """
    if text is None or twin is None:
        return Verdict(False, "cannot forecast all of it")
    noise = max((s.std for s in (text, twin) if s.runs_known), default=math.nan)
    single = math.isnan(noise)
    threshold = SINGLE_RUN_FLOOR if single else noise
    gap = twin.mean - text.mean
    pct = 100 * abs(gap) / twin.mean
    if abs(gap) <= threshold:
        return Verdict(False, "no clear difference, " + ("single runs" if single else "within seed noise"))
    if gap < 0:
        return Verdict(False, f"worse, {pct:.1f}% higher")
    if shuffled is not None and shuffled.mean < twin.mean - threshold:
        return Verdict(False, f"{pct:.1f}% lower, but shuffled descriptions keep most of it")
    return Verdict(True, f"{pct:.1f}% lower" + (", lost with shuffled descriptions" if shuffled is not None else ""))


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def _read_summary(results: Path) -> dict | None:
    path = results / "online_retail_summary.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def where_text_helps(results: Path = RESULTS) -> str:
    """Three lines, launch week / first weeks of sales / established products, from the summary JSON."""
    summary = _read_summary(results)
    if summary is None:
        return f"Where text helps: {NOT_MEASURED} (`benchmarks/online_retail.py` writes `online_retail_summary.json`)."
    cohorts, ablations = summary.get("cohorts", {}), summary.get("ablations", {})
    labels = (("New products in their launch week", "cold, 0 weeks"),
              ("New products with 1-4 weeks of sales", "cold, 1-4 weeks"),
              ("Established products", "warm"))
    missing = [key for _, key in labels if key not in cohorts]
    if missing:
        raise ResultsFormatError(f"benchmarks/results/online_retail_summary.json: no cohort {missing} under "
                                 f"'cohorts'; the docs read 'warm', 'cold, 0 weeks' and 'cold, 1-4 weeks'.")
    lines = []
    for label, key in labels:
        c = cohorts[key]
        text = Stat(c["wape_text"], _nan(c.get("wape_text_std")))
        twin = Stat(c["wape_no_text"], _nan(c.get("wape_no_text_std")))
        ablation = ablations.get(f"{key}|{c['best_text']}") or {}
        shuffled = Stat(ablation["shuffled"]) if ablation.get("shuffled") is not None else None
        verdict = compare(text, twin, shuffled)
        head = "text helps" if verdict.helps else "no gain from text"
        words = verdict.words.replace(", lost with shuffled descriptions", "")
        tail = ""
        if shuffled is not None:
            lost = "lost" if "lost with shuffled" in verdict.words else "kept" if "keep" in verdict.words else ""
            tail = f"; with shuffled descriptions {shuffled.mean:.1f}%" + (f", the gain is {lost}" if lost else "")
            words = words.replace(", but shuffled descriptions keep most of it", "")
        lines.append(f"- **{label}: {head}.** Best with text: {c['best_text']}, {text.mean:.1f}% WAPE; best "
                     f"without: {c['best_no_text']}, {twin.mean:.1f}% ({words}{tail}).")
    n_origins = len(summary.get("config", {}).get("origins") or [])
    lines.append("")
    lines.append(
        f"Pooled WAPE on UCI Online Retail{f', {n_origins} forecast origins' if n_origins else ''} "
        "(`benchmarks/online_retail.py`). Every table, the other data sets and the commands: "
        "[Benchmarks](benchmarks.md); which method to use when: [Which approach when](which-approach.md)."
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the table

#: (approach, API, what it is built for) per row of the table; the measured columns are computed.
APPROACHES = [
    ("Frozen text model", "`TextTiDEModel` and its siblings (the default `encoder_finetuning=\"frozen\"`)",
     "one global network reads each product's sales history and its description"),
    ("LightGBM + static text", "`StaticTextEmbedder`, then Darts' `LightGBMModel`",
     "any Darts model: the description as a few numeric static covariates"),
    ("Text events", "`TextEventsEmbedder`",
     "dated texts (reports, promotions, news) as past or known-future covariates"),
    ("Text neighbours", "`TextNeighbours`, then Darts' `LightGBMModel`",
     "what the products with the most similar descriptions sold, as covariates"),
    ("New-product model", "`darts_llm.models.TextAnalogModel`",
     "products with no or a few weeks of sales"),
    ("LoRA fine-tuning", "`tune_encoder_on_demand(mode=\"lora\")`, or `encoder_finetuning=\"lora\"` (needs peft)",
     "texts whose meaning for sales the pretrained encoder misses; tunes the encoder on earlier launches' sales"),
]

#: A measured row: [(situation, what was measured, verdict)], or a string when nothing is measured.
Measured = "list[tuple[str, str, Verdict]] | str"

_RETAIL_COHORTS = (("established products", "warm"), ("launch week", "0 wk"), ("1-4 weeks of sales", "1-4 wk"))


def _pairs(retail: OnlineRetail, pairs) -> Measured:
    out = []
    for situation, cohort, text_name, twin_name in pairs:
        text, twin = retail.get(text_name, cohort), retail.get(twin_name, cohort)
        shuffled = retail.shuffled.get((text_name, cohort))
        verdict = compare(text, twin, shuffled)
        shown = "n/a" if text is None or twin is None else f"{text} vs {twin} ({twin_name})"
        extra = f", shuffled {shuffled}" if shuffled is not None else ""
        out.append((situation, shown + extra, verdict))
    return out


def _frozen(retail: OnlineRetail) -> Measured:
    backbone = {"warm": ("TextTiDE (default settings)", "TiDE"), "0 wk": ("TextTiDE (default settings)", "TiDE"),
                "1-4 wk": ("TextTFT (default settings)", "TFT")}
    return _pairs(retail, [(f"{s}, {backbone[c][0].split(' (')[0]}", c, *backbone[c]) for s, c in _RETAIL_COHORTS])


def _lightgbm(retail: OnlineRetail, text_model: str) -> Measured:
    return _pairs(retail, [(s, c, text_model, "LightGBM") for s, c in _RETAIL_COHORTS])


def _events(results: Path) -> Measured:
    rows = time_mmd_verdicts(results)
    if rows is None:
        return NOT_MEASURED
    out = []
    for r in rows:
        helps = r["verdict"].lower().startswith("text helps")
        words = re.sub(r"\s*\([^)]*\)", "", r["verdict"])
        out.append((f"{r['domain']} (Time-MMD)", f"MASE {r['text vs no text (MASE)']}", Verdict(helps, words)))
    return out


def _cold_start(results: Path) -> Measured:
    weeks = cold_start_weeks(results)
    if weeks is None:
        return NOT_MEASURED + " (`benchmarks/cold_start.py` writes `benchmarks/results/cold_start.json`)"
    rows = json.loads((results / "cold_start.json").read_text(encoding="utf-8"))
    rows = rows.get("rows", {}) if isinstance(rows, dict) else {}
    model, control = rows.get("TextAnalogModel"), rows.get("TextAnalogModel, shuffled text")
    out = []
    for k, w in weeks.items():
        situation = f"{k} week{'' if k == 1 else 's'} of sales"
        if model and str(k) in model:  # the new-product model itself against the best method without text
            mine, base = model[str(k)], w["wape_no_text"]
            shuffled = control.get(str(k)) if control else None
            lift = 100 * (1 - mine / base)
            kept_by_shuffle = shuffled is not None and shuffled <= mine
            helps = lift >= 1.0 and not kept_by_shuffle
            extra = f", shuffled {shuffled:.1f}" if shuffled is not None else ""
            out.append((situation, f"TextAnalogModel {mine:.1f} vs {w['best_no_text']} {base:.1f}{extra}",
                        Verdict(helps, f"{lift:+.1f}%" if helps else f"no clear gain, {lift:+.1f}%")))
            continue
        interval = w["interval"]
        helps = interval[0] > 0 if interval else w["lift_pct"] > 0
        shown = f"lift {w['lift_pct']:+.1f}%" + (f" [{interval[0]:+.1f}%, {interval[1]:+.1f}%]" if interval else "")
        shuffled = f", shuffled {w['wape_shuffled']:.1f}" if w["wape_shuffled"] is not None else ""
        out.append((situation,
                    f"{w['best_text']} {w['wape_text']:.1f} vs {w['best_no_text']} {w['wape_no_text']:.1f}{shuffled}",
                    Verdict(helps, shown if helps else f"no clear gain, {shown}")))
    return out


def cold_start_by_history(results: Path = RESULTS) -> str:
    """Per weeks of sales history, the approach to use for new products, from ``cold_start.json``."""
    weeks = cold_start_weeks(results)
    if weeks is None:
        return f"*{NOT_MEASURED}: `benchmarks/cold_start.py` writes `benchmarks/results/cold_start.json`.*"
    lines = ["| weeks of sales | use | its WAPE % | best without text | lift (90% interval) | with shuffled text |",
             "|---|---|---|---|---|---|"]
    for k, w in weeks.items():
        interval = w["interval"]
        helps = interval[0] > 0 if interval else w["lift_pct"] > 0
        use, wape = (w["best_text"], w["wape_text"]) if helps else (w["best_no_text"], w["wape_no_text"])
        shown = f"{w['lift_pct']:+.1f}%" + (f" ({interval[0]:+.1f}, {interval[1]:+.1f})" if interval else "")
        shuffled = "n/a" if w["wape_shuffled"] is None else f"{w['wape_shuffled']:.1f}"
        lines.append(f"| {k} | {use} | {wape:.1f} | {w['best_no_text']} ({w['wape_no_text']:.1f}) | {shown} | "
                     f"{shuffled} |")
    return "\n".join(lines) + (
        "\n\n*use*: the best text approach where the lower end of its interval is a gain, else the best approach "
        "without text. From `benchmarks/results/cold_start.json`."
    )


def cold_start_level(results: Path = RESULTS) -> str:
    """How well a new product's level would have to be known, from the ``level_ceiling`` of ``cold_start.json``."""
    path = results / "cold_start.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    ceilings = data.get("level_ceiling") if isinstance(data, dict) else None
    if not ceilings:
        return f"*{NOT_MEASURED}: `benchmarks/cold_start.py` writes the level analysis into `cold_start.json`.*"
    lines = ["| weeks of sales | level R² | true / forecast level (factor) | WAPE % with the exact level | target WAPE % | "
             "level R² needed |", "|---|---|---|---|---|---|"]
    for k in sorted(ceilings, key=int):
        c = ceilings[k]
        try:
            needed = "out of reach" if c["r2_needed"] is None else f"{c['r2_needed']:.2f}"
            lines.append(f"| {k} | {c['r2']:.2f} | {math.exp(c['level_bias']):.1f}x | {c['wape_exact_level']:.1f} | "
                         f"{c['target']:.1f} | {needed} |")
        except (KeyError, TypeError) as error:
            raise ResultsFormatError(f"{shown(path)}, level_ceiling {k}: no usable {error} (expected r2, level_bias, "
                                     "wape_exact_level, target, r2_needed).") from error
    return "\n".join(lines) + (
        "\n\nAn analysis of `TextAnalogModel`'s forecasts, not a method: a forecast's level is its mean `log1p` "
        "sales over the forecast weeks; *target*: 0.80x the best method without text; *level R² needed*: how much "
        "of the variation between products' levels a forecast must explain to reach it, its shape unchanged. "
        "From `benchmarks/results/cold_start.json`."
    )


def _lora(results: Path) -> Measured:
    """The LoRA-tuned encoder against the frozen one, both in ``TextAnalogModel``, from ``cold_start.json``."""
    path = results / "cold_start.json"
    rows = json.loads(path.read_text(encoding="utf-8")).get("rows", {}) if path.is_file() else {}
    tuned, frozen = rows.get("TextAnalogModel, LoRA-tuned encoder"), rows.get("TextAnalogModel")
    if tuned and frozen:
        out = []
        for k in sorted(set(tuned) & set(frozen), key=int):
            lift = 100 * (1 - tuned[k] / frozen[k])
            out.append((f"{k} week{'' if k == '1' else 's'} of sales",
                        f"TextAnalogModel, LoRA-tuned encoder {tuned[k]:.1f} vs frozen MiniLM {frozen[k]:.1f}",
                        Verdict(lift >= 1.0, f"{lift:+.1f}%" if lift >= 1.0 else f"no clear gain, {lift:+.1f}%")))
        return out
    found = [p.name for p in sorted(results.glob("*.md")) if p.stem in ("lora", "fine_tuning", "demand_tuning")]
    if found:
        return NOT_MEASURED + " against the other rows; see " + ", ".join(f"`benchmarks/results/{n}`" for n in found)
    return NOT_MEASURED


def _cells(measured: Measured) -> tuple[str, str]:
    """(where it helped, what was measured) cells of a row."""
    if isinstance(measured, str):
        return "—", measured
    helped = [situation for situation, _, verdict in measured if verdict.helps]
    details = "<br>".join(
        f"{situation}: {shown}: {'**' + verdict.words + '**' if verdict.helps else verdict.words}."
        for situation, shown, verdict in measured
    )
    return (", ".join(f"**{h}**" for h in helped) if helped else "no measured gain"), details


def approach_table(results: Path = RESULTS) -> str:
    """The "which approach when" table, every number and verdict read from the result files."""
    retail = OnlineRetail(results)
    online = (retail.present and (_frozen(retail), _lightgbm(retail, "LightGBM + text PCA"),
                                  _lightgbm(retail, "LightGBM + text neighbours"))) or (NOT_MEASURED,) * 3
    measured = [online[0], online[1], _events(results), online[2], _cold_start(results), _lora(results)]
    lines = ["| approach | built for | text helped | measured: with text vs without |", "|---|---|---|---|"]
    for (name, api, built_for), row in zip(APPROACHES, measured):
        helped, details = _cells(row)
        lines.append(f"| **{name}**<br>{api} | {built_for} | {helped} | {details} |")
    lines.append("")
    lines.append(
        "Numbers: pooled WAPE % (lower is better), mean ± std over seeds, read from `benchmarks/results/` when the "
        "site is built: `online_retail.md` (UCI Online Retail: established products, and new products in their "
        "launch week or with 1-4 weeks of sales; in brackets the same kind of model without text; *shuffled*: the "
        "text model with the descriptions permuted across products), `time_mmd.md` (Time-MMD report texts: the "
        "change of LightGBM's MASE with the texts, per domain) and `cold_start.json` (new products by weeks of "
        "sales: the best method with text against the best without). A gap within the seed std, or under "
        f"{SINGLE_RUN_FLOOR:g} WAPE point between single runs, is no clear difference; a gain that shuffled "
        "descriptions keep does not come from what the texts say."
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- figures


def figure_facts(figures: Path = FIGURES) -> dict:
    path = figures / "figures.json"
    if not path.is_file():
        raise ResultsFormatError(f"{shown(path)} is missing: run `python docs/_build_figures.py`.")
    return json.loads(path.read_text(encoding="utf-8"))


def _caption(name: str, facts: dict) -> tuple[str, str, str]:
    """(file name, alternative text, caption) of a figure, from what the figure script recorded."""
    if name not in ("text_vs_no_text", "explain_text", "cold_start", "launch_analogs"):
        raise ResultsFormatError(f"unknown figure {name!r} in a `<!-- figure: ... -->` marker; known: "
                                 f"text_vs_no_text, explain_text, cold_start, launch_analogs.")
    if name not in facts:
        raise ResultsFormatError(f"docs/figures/figures.json has no entry {name!r}: run `python docs/_build_figures.py`.")
    f = facts[name]
    if name == "text_vs_no_text":
        return "text_vs_no_text.png", "Forecasts of four products with and without their description", (
            f"Data: {f['source']}, the {f['products']} best-selling products. `TiDEModel` and `TextTiDEModel`, same "
            f"settings ({f['epochs']} epochs, seed {f['seed']}), forecast their last {f['horizon']} weeks, held out; "
            f"shown: the products ranked 1, 21, 41 and 61 by units sold. Pooled WAPE over the {f['products']}: "
            f"{f['wape_no_text']:.1f}% without text, {f['wape_text']:.1f}% with text (one seed)."
            + (f" `TextTiDEModel`'s text check: {f['text_check']}." if "text_check" in f else "")
        )
    if name == "explain_text":
        return "explain_text.png", "A new product's forecast with and without its text, and its nearest products", (
            f"Data: {f['source']}. The product launched on {f['launch']} that sold most in its first "
            f"{f['horizon']} weeks, forecast from its description by a `TextTiDEModel` "
            f"(`min_input_chunk_length=1`, {f['epochs']} epochs) that learned from the weeks before of "
            f"{f['train_series']} other products; its actual sales were never seen. WAPE on this one product: "
            f"{f['wape_text']:.1f}% with its text, {f['wape_without']:.1f}% with the empty text."
            + (f" The model uses its text correction without the check (`text_min_gain=None`); the check on its "
               f"training weeks found: {f['text_check']}." if "text_check" in f else "")
        )
    if name == "launch_analogs":
        products = "; ".join(f"{p} ({w:.0f}%)" for p, w in zip(f["products"], f["wape"]))
        return "launch_analogs.png", "Launch forecasts of three new products with their analogs", (
            f"Data: {f['source']}. `TextAnalogModel` (defaults, {f['n_analogs']} analogs) learned from the sales of "
            f"{f['train_series']} products before {f['origin']} and, in one `predict_new_products` call made then, "
            f"forecast three products first sold in the four weeks after, each from its launch week and from its "
            f"description and price alone; grey: each one's 5 closest earlier launches by text, aligned on weeks "
            f"since launch; the band: 10-90% of 200 samples. WAPE of each forecast: {products}."
        )
    if name == "cold_start":
        return f["file"], "WAPE of new products by weeks of sales history", f"Data: {f['data']}. {f['caption']}"
    raise AssertionError(name)  # unreachable: the names are checked above


def figure_block(name: str, depth: int, figures: Path = FIGURES) -> str:
    """The Markdown of a figure with its caption, for a page ``depth`` folders below ``docs/``."""
    facts = figure_facts(figures)
    file, alt, caption = _caption(name, facts)
    if not (figures / file).exists():
        raise ResultsFormatError(f"docs/figures/{file} is missing: run `python docs/_build_figures.py`.")
    src = "../" * depth + "figures/" + file
    return f'<figure markdown="span">\n  ![{alt}]({src})\n  <figcaption markdown="span">{caption}</figcaption>\n</figure>'


# ------------------------------------------------------------------------------------------------ the hook


def render(markdown: str, depth: int = 0, results: Path = RESULTS, figures: Path = FIGURES) -> str:
    """Replace every marker of a page's Markdown (``depth``: how many folders below ``docs/`` the page is)."""

    def replace(match: re.Match) -> str:
        kind, name = match["kind"], match["name"]
        if kind == "figure":
            return figure_block(name, depth, figures)
        if name == "where-text-helps":
            return where_text_helps(results)
        if name == "approach-table":
            return approach_table(results)
        if name == "cold-start-by-history":
            return cold_start_by_history(results)
        if name == "cold-start-level":
            return cold_start_level(results)
        raise ResultsFormatError(f"unknown marker <!-- results: {name} -->; known: where-text-helps, approach-table, "
                                 f"cold-start-by-history, cold-start-level.")

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - the MkDocs hook signature
    depth = page.file.src_uri.count("/")
    return render(markdown, depth)


if __name__ == "__main__":
    print(where_text_helps())
    print()
    print(approach_table())
