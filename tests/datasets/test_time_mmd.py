"""Time-MMD loader on a tiny fake folder in the real layout, plus the real folder if present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darts_llm.datasets import TIME_MMD_DOMAINS, load_time_mmd
from darts_llm.datasets import time_mmd as tm

REAL_ROOT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "time_mmd"

GOOD = "The U.S. trade deficit increased to $28.0 billion in January 2000."
HEADED = (
    "Objective facts about the Monthly international trade balance of U.S. situation**\n\n"
    "* Exports of goods and services decreased to $84.1 billion.\n"
    "* Imports increased to $112.1 billion.\n\n**"
)
NON_ANSWER = "The provided search results do not contain any objective facts about the economy."
PREDS = "Long-term predictions (next 4-18 months)**\n* Deficits may widen.;Exports may recover."
MIXED = (
    "The report does not provide direct information on the balance. However, it provides data on "
    "exports, which rose 2%."
)


def _write_text(path: Path, rows) -> None:
    df = pd.DataFrame(rows, columns=["start_date", "end_date", "fact", "preds"])
    df.to_csv(path)  # with the unnamed index column, as in the release


@pytest.fixture
def root(tmp_path) -> Path:
    num, txt = tmp_path / "numerical" / "Economy", tmp_path / "textual" / "Economy"
    num.mkdir(parents=True)
    txt.mkdir(parents=True)
    months = pd.date_range("2000-01-01", periods=6, freq="MS")
    numerical = pd.DataFrame(
        {
            "Month": [m.strftime("%B %Y") for m in months],
            "Exports": np.arange(6.0),
            "OT": [-1.5, -2.0, -2.5, -3.0, -3.5, -4.0],
            "start_date": months.strftime("%Y-%m-%d"),
            "date": months.strftime("%Y-%m-%d"),
            "end_date": (months + pd.offsets.MonthEnd(1)).strftime("%Y-%m-%d"),
        }
    ).iloc[::-1]  # unsorted, like Climate
    numerical.to_csv(num / "Economy.csv", index=False)
    _write_text(
        txt / "Economy_report.csv",
        [
            ("2000-03-01", "2000-03-31", MIXED, "NA;NA"),
            ("2000-01-01", "2000-01-31", GOOD, PREDS),
            ("2000-02-01", "2000-02-29", HEADED, "NAHere is the summarized output:;NA"),
            ("2000-04-01", "2000-04-30", "NA", "Prices may rise in the coming months."),
            ("2000-05-01", "2000-05-31", None, "NA"),
            ("2000-06-01", "2000-06-30", "Short.", "NA"),
            ("2000-06-01", "2000-06-30", NON_ANSWER, "NA"),
            ("2000-06-01", "2000-06-30", "NA (No relevant information found)", "NA"),
        ],
    )
    search = [("1999-12-27", "2000-01-02", "Markets rallied strongly at year end.", "NA")]
    _write_text(txt / "Economy_search.csv", search)
    # a weekly domain with gzipped files
    num_e, txt_e = tmp_path / "numerical" / "Energy", tmp_path / "textual" / "Energy"
    num_e.mkdir(parents=True)
    txt_e.mkdir(parents=True)
    weeks = pd.date_range("2011-01-03", periods=5, freq="W-MON")
    pd.DataFrame({"date": weeks, "OT": [3.1, 3.2, 3.3, 3.2, 3.1], "start_date": weeks,
                  "end_date": weeks + pd.Timedelta(days=6)}).to_csv(num_e / "Energy.csv.gz", index=False)
    report = [("2011-01-03", "2011-01-07", "Gasoline prices rose for a third week.", "NA")]
    _write_text(txt_e / "Energy_report.csv.gz", report)
    return tmp_path


def test_series_on_native_frequency(root):
    series, _ = load_time_mmd("Economy", root)
    assert series.freq_str == "MS"
    assert series.dtype == np.float32
    assert list(series.components) == ["OT"]
    assert series.start_time() == pd.Timestamp("2000-01-01")
    np.testing.assert_allclose(series.values()[:, 0], [-1.5, -2.0, -2.5, -3.0, -3.5, -4.0])
    assert series.metadata == {"domain": "Economy"}
    weekly, events = load_time_mmd("energy", root)  # case-insensitive, .csv.gz
    assert weekly.freq_str == "W-MON" and len(weekly) == 5
    assert events["text"].tolist() == ["Gasoline prices rose for a third week."]


def test_events_are_facts_without_boilerplate(root):
    _, events = load_time_mmd("Economy", root)
    assert list(events.columns) == ["start", "end", "text"]
    assert pd.api.types.is_datetime64_any_dtype(events["start"])
    assert pd.api.types.is_datetime64_any_dtype(events["end"])
    assert events["start"].is_monotonic_increasing
    texts = events["text"].tolist()
    assert texts == [
        GOOD,
        "Exports of goods and services decreased to $84.1 billion. Imports increased to $112.1 billion.",
        "However, it provides data on exports, which rose 2%.",
    ]
    assert not any("may" in t for t in texts)  # preds are not used by default


def test_preds_on_request(root):
    _, events = load_time_mmd("Economy", root, include_preds=True)
    by_start = dict(zip(events["start"], events["text"]))
    assert by_start[pd.Timestamp("2000-01-01")] == f"{GOOD} Deficits may widen. Exports may recover."
    assert by_start[pd.Timestamp("2000-04-01")] == "Prices may rise in the coming months."
    assert "summarized" not in " ".join(events["text"])


def test_search_and_both(root):
    _, search = load_time_mmd("Economy", root, text="search")
    assert search["text"].tolist() == ["Markets rallied strongly at year end."]
    _, both = load_time_mmd("Economy", root, text="both")
    assert len(both) == 4 and both["start"].iloc[0] == pd.Timestamp("1999-12-27")


def test_min_chars(root):
    _, events = load_time_mmd("Economy", root, min_chars=0)
    assert "Short." in events["text"].tolist()


def test_root_from_env(root, monkeypatch):
    monkeypatch.setenv(tm.ENV_ROOT, str(root))
    assert len(load_time_mmd("Economy")[0]) == 6


def test_errors_say_how_to_fix(root, tmp_path, monkeypatch):
    monkeypatch.delenv(tm.ENV_ROOT, raising=False)
    with pytest.raises(FileNotFoundError, match=tm.ENV_ROOT):
        load_time_mmd("Economy")
    with pytest.raises(FileNotFoundError, match="`root`"):
        load_time_mmd("Economy", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="`domain`.*Economy"):
        load_time_mmd("Health", root)
    with pytest.raises(ValueError, match="`text`"):
        load_time_mmd("Economy", root, text="news")
    with pytest.raises(ValueError, match="`min_chars`"):
        load_time_mmd("Economy", root, min_chars=-1)


def test_domains_constant():
    assert TIME_MMD_DOMAINS == ("Agriculture", "Climate", "Economy", "Energy", "Traffic")


@pytest.mark.skipif(not (REAL_ROOT / "numerical").is_dir(), reason=f"real Time-MMD not found at {REAL_ROOT}")
@pytest.mark.parametrize("domain, freq", [("Agriculture", "MS"), ("Climate", "W-TUE"), ("Economy", "MS"),
                                          ("Energy", "W-MON"), ("Traffic", "MS")])
def test_real_domains(domain, freq):
    series, events = load_time_mmd(domain, REAL_ROOT)
    assert series.freq_str == freq and len(series) > 300
    assert len(events) > 300
    assert not events["text"].str.match(r"^\W*NA\b").any()
    assert (events["end"] >= events["start"]).all()
