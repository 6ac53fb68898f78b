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


# --------------------------------------------------------------------------------------------------
# Irregular domains, in the layouts of the five domains not in ../shared (written here, small)
# --------------------------------------------------------------------------------------------------
REPORT = "Influenza activity increased in the region this week, above the seasonal baseline."


def _domain(root: Path, name: str, numerical: str, reports) -> Path:
    (root / "numerical" / name).mkdir(parents=True, exist_ok=True)
    (root / "textual" / name).mkdir(parents=True, exist_ok=True)
    (root / "numerical" / name / f"{name}.csv").write_text(numerical)
    _write_text(root / "textual" / name / f"{name}_report.csv", reports)
    _write_text(root / "textual" / name / f"{name}_search.csv", [])
    return root


def test_weekly_gaps_leading_empty_and_inf_are_filled(tmp_path, caplog):
    # like Health_AFR: a repeated `date` header, no `start_date`, empty first targets, a gap, an `inf`
    numerical = (
        "date,date,end_date,OT\n"
        "2001-01-01,2001-01-01,2001-01-07,\n"
        "2001-01-08,2001-01-08,2001-01-14,\n"
        "2001-01-15,2001-01-15,2001-01-21,1.0\n"
        "2001-01-22,2001-01-22,2001-01-28,2.0\n"
        "2001-02-12,2001-02-12,2001-02-18,5.0\n"  # 2001-01-29 and 2001-02-05 are missing
        "2001-02-19,2001-02-19,2001-02-25,inf\n"
        "2001-02-26,2001-02-26,2001-03-04,7.0\n"
        "2001-03-05,2001-03-05,2001-03-11,\n"
    )
    _domain(tmp_path, "Outbreaks", numerical, [("2001-01-15", "2001-01-21", REPORT, "NA")])
    with caplog.at_level("WARNING"):
        series, events = load_time_mmd("Outbreaks", tmp_path)  # not a known domain: frequency inferred
    assert series.freq_str == "W-MON"
    assert series.start_time() == pd.Timestamp("2001-01-15") and series.end_time() == pd.Timestamp("2001-02-26")
    np.testing.assert_allclose(series.values()[:, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert not np.isnan(series.values()).any()
    assert "cut 2 empty leading and 1 empty trailing values" in caplog.text
    assert "2 missing W-MON steps" in caplog.text and "1 empty or non-finite values" in caplog.text
    assert "linear interpolation" in caplog.text and "Outbreaks" in caplog.text
    assert len(events) == 1
    kept, _ = load_time_mmd("Outbreaks", tmp_path, fill_missing=False)
    assert len(kept) == 7 and int(np.isnan(kept.values()).sum()) == 3


def test_duplicate_dates_are_aggregated(tmp_path, caplog):
    # like Health_US: ISO week 53 and week 1 both start on Monday 1997-12-29
    numerical = (
        "date,start_date,end_date,YEAR,WEEK,OT\n"
        "1997-12-22,1997-12-22,1997-12-28,1997,52,3.0\n"
        "1997-12-29,1997-12-29,1998-01-04,1997,53,3.6\n"
        "1997-12-29,1997-12-29,1998-01-04,1998,1,3.4\n"
        "1998-01-05,1998-01-05,1998-01-11,1998,2,3.8\n"
    )
    _domain(tmp_path, "Health_US", numerical, [("1997-12-22", "1997-12-28", REPORT, "NA")])
    with caplog.at_level("WARNING"):
        series, _ = load_time_mmd("Health_US", tmp_path)
    assert series.freq_str == "W-MON" and len(series) == 3
    np.testing.assert_allclose(series.values()[:, 0], [3.0, 3.5, 3.8], rtol=1e-6)
    assert "1 duplicate dates (e.g. 1997-12-29)" in caplog.text and "mean" in caplog.text
    summed, _ = load_time_mmd("Health_US", tmp_path, duplicates="sum")
    np.testing.assert_allclose(summed.values()[:, 0], [3.0, 7.0, 3.8], rtol=1e-6)
    with pytest.raises(ValueError, match="`duplicates`"):
        load_time_mmd("Health_US", tmp_path, duplicates="median-ish")


MONTHLY = (
    "date,start_date,end_date,OT\n"
    "2010-01-01,2010-01-01,2010-01-31,10\n"
    "2010-02-01,2010-02-01,2010-02-28,11\n"
    "2010-03-01,2010-03-01,2010-03-31,12\n"
    "2010-04-01,2010-04-01,2010-04-30,13\n"
)


def test_text_after_the_target_is_dropped(tmp_path, caplog):
    reports = [("2010-02-01", "2010-02-28", REPORT, "NA"), ("2010-05-01", "2010-05-31", REPORT, "NA"),
               ("2012-01-01", "2012-01-31", REPORT, "NA")]
    _domain(tmp_path, "Security", MONTHLY, reports)
    with caplog.at_level("WARNING"):
        series, events = load_time_mmd("Security", tmp_path)
    assert series.freq_str == "MS" and len(series) == 4
    assert events["start"].tolist() == [pd.Timestamp("2010-02-01")]
    assert "dropped 2 of 3 text rows about periods after the target" in caplog.text
    assert "no text row overlaps" not in caplog.text


@pytest.mark.parametrize(
    "reports, says",
    [([("2011-01-01", "2011-01-31", REPORT, "NA")], "none is left"),
     ([("2009-01-01", "2009-01-31", REPORT, "NA"), ("2009-06-01", "2009-06-30", REPORT, "NA")],
      "all 2 end before it starts")],
)
def test_text_that_never_overlaps_the_target_is_reported(tmp_path, caplog, reports, says):
    _domain(tmp_path, "SocialGood", MONTHLY, reports)
    with caplog.at_level("WARNING"):
        series, events = load_time_mmd("SocialGood", tmp_path)
    assert len(series) == 4
    assert "no text row overlaps the target (2010-01-01 .. 2010-04-01)" in caplog.text and says in caplog.text
    assert list(events.columns) == ["start", "end", "text"]


def test_daily_domain_and_frequency_override(tmp_path, monkeypatch):
    days = pd.date_range("2020-01-01", periods=10, freq="D")
    numerical = "date,OT,start_date,end_date\n" + "".join(
        f"{d:%Y-%m-%d},{i},{d:%Y-%m-%d},{d:%Y-%m-%d}\n" for i, d in enumerate(days) if i != 4
    )
    _domain(tmp_path, "Environment", numerical, [("2020-01-02", "2020-01-02", REPORT, "NA")])
    with pytest.raises(ValueError, match="not on the frequency 'W-MON'.*`freq`"):
        load_time_mmd("Environment", tmp_path, freq="W-MON")

    from darts_llm.datasets import compat

    if compat.darts_handles_daily_series():  # not with Darts 0.48 and pandas 3 (see test_compat.py)
        series, _ = load_time_mmd("Environment", tmp_path)
        assert series.freq_str == "D" and len(series) == 10 and series.values()[4, 0] == pytest.approx(4.0)
    monkeypatch.setattr(compat, "darts_handles_daily_series", lambda: False)
    with pytest.raises(ValueError, match="daily series.*pandas>=2.2,<3"):
        load_time_mmd("Environment", tmp_path)


def test_empty_target_is_an_error(tmp_path):
    _domain(tmp_path, "Empty", "date,OT\n2020-01-01,\n2020-02-01,x\n", [])
    with pytest.raises(ValueError, match="Empty.*no value can be read"):
        load_time_mmd("Empty", tmp_path)


def test_all_domains_constant():
    assert len(tm.ALL_TIME_MMD_DOMAINS) == 10 and set(TIME_MMD_DOMAINS) < set(tm.ALL_TIME_MMD_DOMAINS)
