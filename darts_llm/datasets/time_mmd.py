"""Time-MMD: a target series plus timestamped text, per domain.

Time-MMD (Liu et al., 2024, arXiv:2406.08627; https://github.com/AdityaLab/Time-MMD) pairs public
US series with text extracted by an LLM from official reports (``report``) and web searches
(``search``). Its repository states no license, so nothing is downloaded here: clone it (or copy its
``numerical/`` and ``textual/`` folders) and point ``root`` or ``$DARTS_LLM_TIME_MMD`` at it. Files may be
plain ``.csv`` or gzipped ``.csv.gz``.

Each text row covers ``[start_date, end_date]`` and has two columns: ``fact`` (what the source says
about that period) and ``preds`` (the LLM's *forward-looking* statements). Only ``fact`` is used by
default: ``preds`` speaks about the future and, having been written by an LLM that may know it, is a
look-ahead risk. A row describes its whole period, so it is safely known only from ``end`` on.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from darts import TimeSeries

from darts_llm.datasets.compat import check_frequency_supported
from darts_llm.datasets.regular import DUPLICATE_RULES, regular_series

__all__ = ["ALL_TIME_MMD_DOMAINS", "TIME_MMD_DOMAINS", "load_time_mmd"]

logger = logging.getLogger(__name__)

#: The five domains whose real files this project develops on (``../shared/data/time_mmd``).
TIME_MMD_DOMAINS = ("Agriculture", "Climate", "Economy", "Energy", "Traffic")
#: The ten domains of the full release. Any other folder under ``root/numerical`` is accepted too.
ALL_TIME_MMD_DOMAINS = (
    "Agriculture", "Climate", "Economy", "Energy", "Environment", "Health_AFR", "Health_US", "Security",
    "SocialGood", "Traffic",
)
#: Environment variable naming the Time-MMD root folder.
ENV_ROOT = "DARTS_LLM_TIME_MMD"
# Native frequencies: labels are the periods' start dates (``start_date``). Other domains: inferred.
_FREQ = {
    "Agriculture": "MS", "Climate": "W-TUE", "Economy": "MS", "Energy": "W-MON", "Environment": "D",
    "Health_AFR": "W-MON", "Health_US": "W-MON", "Security": "MS", "SocialGood": "MS", "Traffic": "MS",
}
_TEXT_KINDS = ("report", "search")

# Lines that are LLM headings, not content, and sentences that only say nothing was found.
_HEADING = re.compile(
    r"^(objective facts\b|here (is|are) (the|a) |(long|short)[- ]term predictions?\b|predictions?\b.{0,40}$"
    r"|.{0,100}\bsituation\W*$)",
    re.IGNORECASE,
)
_NON_ANSWER = re.compile(
    r"^\W*N/?A(\b|(?=Here\b|Note\b|Please\b))|^\W*here (is|are) (the|a|my)\b"
    r"|\b(does|do|did) not (provide|contain|include|mention|offer|have)\b"
    r"|\bno (relevant|objective|specific|direct|useful) (information|facts?|data|details)\b"
    r"|\bplease provide\b|\bI (would|will) be (happy|glad)\b|\bI (cannot|can't|apologi[sz]e)\b"
    r"|\b(irrelevant|not relevant|unrelated)\b|\bsearch results\b|\bas an AI\b|^\W*note\b",
    re.IGNORECASE,
)
# Sentence ends: punctuation then space, a newline, or a full stop glued to the next sentence ("a.The").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[a-z][.!?])(?=[A-Z])")


def load_time_mmd(
    domain: str,
    root: str | os.PathLike | None = None,
    text: str = "report",
    include_preds: bool = False,
    min_chars: int = 20,
    freq: str | None = None,
    duplicates: str = "mean",
    fill_missing: bool = True,
) -> tuple[TimeSeries, pd.DataFrame]:
    """Load the target series ``OT`` of one Time-MMD domain and its text events.

    Parameters
    ----------
    domain
        A domain name, case-insensitive: one of :data:`TIME_MMD_DOMAINS` (or another domain folder
        under ``root/numerical``).
    root
        The Time-MMD folder holding ``numerical/`` and ``textual/``; default ``$DARTS_LLM_TIME_MMD``.
    text
        Which text: ``"report"`` (official reports), ``"search"`` (weekly web-search summaries, from
        1979 on) or ``"both"``.
    include_preds
        Also use the ``preds`` column (forward-looking LLM statements; a look-ahead risk, see the
        module docstring). By default only ``fact`` is used.
    min_chars
        Texts shorter than this after cleaning are dropped.
    freq
        The target's frequency; default: the domain's native one (see below), or, for a domain not
        listed there, inferred from the most common step between dates.
    duplicates
        How ``OT`` values that share a date are combined: ``"mean"`` (default), ``"sum"``, ``"first"``,
        ``"last"``, ``"max"`` or ``"min"`` (Health_US has two rows for some New Year weeks: ISO week 53
        and week 1 start on the same Monday).
    fill_missing
        Fill missing steps inside the series (dates absent from the file, empty or non-finite ``OT``) by
        linear interpolation; otherwise they stay NaN.

    Returns
    -------
    series : TimeSeries
        ``OT`` on the domain's native frequency (Agriculture, Economy, Security, SocialGood, Traffic
        monthly ``MS``; Climate weekly ``W-TUE``; Energy, Health_AFR, Health_US weekly ``W-MON``;
        Environment daily ``D``), labelled by each period's start date, float32, component ``"OT"``,
        ``metadata={"domain": ...}``.
    events : pandas.DataFrame
        Columns ``start``, ``end`` (``datetime64``, the period the text covers) and ``text`` (``str``),
        sorted by ``start``. An ``end_date`` before its ``start_date`` (the year of a week across
        New Year left unchanged, three Traffic report rows) is moved on by a year. LLM boilerplate
        is removed: headings ("Objective facts about ..."),
        bold markers and bullets, and sentences that only say nothing relevant was found ("NA",
        "The search results do not contain ...", "Please provide ..."); rows with less than
        ``min_chars`` characters left are dropped.

    Notes
    -----
    Target cleaning, each step logged as a warning that names the domain and the counts: unreadable
    dates are dropped; non-numeric and non-finite ``OT`` values (Health_AFR has ``inf``) count as missing;
    duplicate dates are combined by ``duplicates``; empty leading and trailing values are cut off; gaps
    are filled to the frequency by ``fill_missing``. See :func:`darts_llm.datasets.regular.regular_series`.

    Text alignment: text rows about periods that start after the target's last period cannot concern it
    and are dropped. When no text row overlaps the target at all, a warning says so (the events are then
    all before the target, or none are left).
    """
    base = _resolve_root(root)
    name = _resolve_domain(base, domain)
    if text not in (*_TEXT_KINDS, "both"):
        raise ValueError(f"`text` must be 'report', 'search' or 'both', got {text!r}.")
    if not isinstance(min_chars, int) or min_chars < 0:
        raise ValueError(f"`min_chars` must be an integer >= 0, got {min_chars!r}.")
    if duplicates not in DUPLICATE_RULES:
        raise ValueError(f"`duplicates` must be one of {DUPLICATE_RULES}, got {duplicates!r}.")

    series = _load_series(_find_csv(base / "numerical" / name, name), name, freq, duplicates, fill_missing)
    kinds = _TEXT_KINDS if text == "both" else (text,)
    frames = [
        _load_text(_find_csv(base / "textual" / name, f"{name}_{kind}"), include_preds, min_chars)
        for kind in kinds
    ]
    events = pd.concat(frames, ignore_index=True).sort_values(["start", "end"], kind="stable")
    return series, _align_events(events.reset_index(drop=True), series, name)


def _resolve_root(root) -> Path:
    fix = (
        "Pass `root=` (or set the environment variable "
        f"{ENV_ROOT}) to a folder holding Time-MMD's `numerical/` and `textual/` folders, e.g. a clone of "
        "https://github.com/AdityaLab/Time-MMD."
    )
    if root is None:
        root = os.environ.get(ENV_ROOT)
        if not root:
            raise FileNotFoundError(f"No Time-MMD folder given. {fix}")
    base = Path(root).expanduser()
    if not (base / "numerical").is_dir():
        raise FileNotFoundError(f"`root` {str(base)!r} has no `numerical/` folder. {fix}")
    return base


def _resolve_domain(base: Path, domain: str) -> str:
    found = {p.name.lower(): p.name for p in (base / "numerical").iterdir() if p.is_dir()}
    if not isinstance(domain, str) or domain.lower() not in found:
        raise ValueError(
            f"`domain` {domain!r} is not in {str(base / 'numerical')!r}; "
            f"use one of {sorted(found.values()) or list(TIME_MMD_DOMAINS)}."
        )
    return found[domain.lower()]


def _find_csv(folder: Path, stem: str) -> Path:
    for suffix in (".csv.gz", ".csv"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    raise FileNotFoundError(f"Neither {stem}.csv nor {stem}.csv.gz is in {str(folder)!r}.")


def _load_series(path: Path, domain: str, freq, duplicates: str, fill_missing: bool) -> TimeSeries:
    df = pd.read_csv(path)
    time_col = next((c for c in ("start_date", "date") if c in df.columns), None)
    if time_col is None or "OT" not in df.columns:
        raise ValueError(f"{str(path)!r} needs an `OT` column and a `start_date` or `date` column.")
    series = regular_series(
        df[time_col],
        df["OT"],
        freq=freq or _FREQ.get(domain),
        duplicates=duplicates,
        fill_missing=fill_missing,
        name=f"Time-MMD {domain} (`{time_col}`, `OT`)",
        component="OT",
        metadata={"domain": domain},
    )
    check_frequency_supported(series.freq, "freq")
    return series


def _align_events(events: pd.DataFrame, series: TimeSeries, domain: str) -> pd.DataFrame:
    """Drop text about periods after the target; warn when no text overlaps the target."""
    first, last_end = series.start_time(), series.end_time() + series.freq
    after = events["start"] >= last_end
    if after.any():
        logger.warning(
            "Time-MMD %s: dropped %d of %d text rows about periods after the target's last one (%s).",
            domain, int(after.sum()), len(events), series.end_time().date(),
        )
        events = events[~after].reset_index(drop=True)
    if events.empty or not (events["end"] >= first).any():
        logger.warning(
            "Time-MMD %s: no text row overlaps the target (%s .. %s); %s.",
            domain, first.date(), series.end_time().date(),
            "none is left" if events.empty else f"all {len(events)} end before it starts",
        )
    return events


def _load_text(path: Path, include_preds: bool, min_chars: int) -> pd.DataFrame:
    df = pd.read_csv(path, index_col=0)
    missing = [c for c in ("start_date", "end_date", "fact", "preds") if c not in df.columns]
    if missing:
        raise ValueError(f"{str(path)!r} lacks the columns {missing}.")
    texts = df["fact"].map(_clean_text)
    if include_preds:
        preds = df["preds"].map(lambda p: " ".join(_clean_text(x) for x in str(p).split(";")))
        texts = (texts + " " + preds.where(df["preds"].notna(), "")).str.strip()
    start = pd.to_datetime(df["start_date"], errors="coerce")
    end = pd.to_datetime(df["end_date"], errors="coerce").fillna(start)
    # Weeks across New Year sometimes carry the old year in end_date (2020-12-28 .. "2020-01-03").
    next_year = end + pd.DateOffset(years=1)
    end = end.where(end >= start, next_year.where(next_year >= start, start))
    out = pd.DataFrame({"start": start, "end": end, "text": texts.astype("str")})
    undated = out["start"].isna()
    if undated.any():
        logger.warning("%s: dropped %d text rows whose `start_date` cannot be read.", path.name, int(undated.sum()))
    return out[~undated & (out["text"].str.len() >= max(min_chars, 1))]


def _clean_text(value) -> str:
    """Drop LLM headings, markdown and non-answer sentences; collapse whitespace."""
    if not isinstance(value, str):
        return ""
    lines = []
    for line in value.replace("**", "").splitlines():
        line = re.sub(r"^\s*([*\-\u2022]|\d+\.)\s+", "", line).strip()
        if line and not (len(line) < 150 and _HEADING.match(line)):
            lines.append(line)
    sentences = _SENTENCE_END.split("\n".join(lines))
    kept = [s for s in (s.strip() for s in sentences) if s and not _NON_ANSWER.search(s)]
    return " ".join(" ".join(kept).split())
