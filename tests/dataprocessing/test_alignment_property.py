"""Property-based test of the event alignment rule of TextEventsEmbedder (hypothesis, 1,000+ cases).

Random series indexes (daily, weekly on Mondays and Sundays, month starts and ends, integer ranges), random event
times (on labels, just before or after them, before the series start and after its end), texts and decay settings:

- **no look-ahead**: adding, removing or rewriting an event visible from time ``t`` never changes a covariate
  value at a step whose label precedes ``t``;
- **counting**: every event is counted exactly once, at the first step whose label is ``>= t`` (``t`` the
  timestamp, or the end of the period the text is about), and not at all when ``t`` is after the last label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts import TimeSeries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darts_llm.cache import EmbeddingCache
from darts_llm.dataprocessing import TextEvents, TextEventsEmbedder
from darts_llm.encoders.base import TextEncoder


class WordEncoder(TextEncoder):
    """Deterministic 2-d vectors from the characters of a text (a real encoder, only a tiny one)."""

    @property
    def dim(self) -> int:
        return 2

    @property
    def encoder_id(self) -> str:
        return "test:word-encoder:2"

    def _encode(self, texts, batch_size, show_progress):
        return np.array([[len(t) % 7 - 3.0, sum(map(ord, t)) % 11 / 5.0] for t in texts], dtype=np.float32)


ENCODER = WordEncoder()
CACHE = EmbeddingCache()
TEXTS = ["", "sale", "new review: great", "bad batch", "price up", "holiday notice"]
FREQS = ["D", "W-MON", "W-SUN", "MS", "ME", 1, 2, 5]


@st.composite
def indexes(draw) -> pd.Index:
    freq = draw(st.sampled_from(FREQS))
    n = draw(st.integers(2, 12))
    if isinstance(freq, int):
        return pd.RangeIndex(start := draw(st.integers(-20, 20)), start + freq * n, freq)
    start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=draw(st.integers(0, 400)))
    return pd.date_range(start=start, periods=n, freq=freq)


def labels_around(index: pd.Index) -> tuple[list, int]:
    """The index extended by 3 labels before and after it, and the position of the first original label."""
    if isinstance(index, pd.DatetimeIndex):
        before = pd.date_range(end=index[0], periods=4, freq=index.freq)[:-1]
        after = pd.date_range(start=index[-1], periods=4, freq=index.freq)[1:]
        return list(before) + list(index) + list(after), 3
    step = index.step
    return [index[0] - step * k for k in (3, 2, 1)] + list(index) + [index[-1] + step * k for k in (1, 2, 3)], 3


@st.composite
def times(draw, index: pd.Index):
    """A time near a label of the extended index: on it, or shortly before or after it."""
    labels, _ = labels_around(index)
    label = draw(st.sampled_from(labels))
    if isinstance(index, pd.RangeIndex):
        return int(label + draw(st.sampled_from([0, 0, -1, 1, -index.step + 1, index.step - 1])))
    shift = draw(st.sampled_from(["0ns", "0ns", "1ns", "-1ns", "1h", "-1h", "3D", "-3D", "12D", "-12D"]))
    return label + pd.Timedelta(shift)


@st.composite
def cases(draw):
    index = draw(indexes())
    periods = draw(st.booleans())
    n = draw(st.integers(0, 8))
    rows = []
    for _ in range(n):
        end = draw(times(index))
        if periods:
            length = draw(st.integers(0, 40))
            start = end - (length * index.step if isinstance(index, pd.RangeIndex) else pd.Timedelta(days=length))
            rows.append({"start": start, "end": end, "text": draw(st.sampled_from(TEXTS))})
        else:
            rows.append({"time": end, "text": draw(st.sampled_from(TEXTS))})
    decay = draw(st.sampled_from([None, None, 0.5, 2.0]))
    max_steps_since = draw(st.integers(1, 6))
    change = draw(st.sampled_from(["add", "remove", "rewrite"]))
    new_end = draw(times(index))
    new_text = draw(st.sampled_from(TEXTS + ["surprise"]))
    pick = draw(st.integers(0, max(n - 1, 0)))
    return index, periods, rows, decay, max_steps_since, change, new_end, new_text, pick


def to_events(rows: list[dict], periods: bool, is_dt: bool) -> TextEvents:
    columns = ["start", "end", "text"] if periods else ["time", "text"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns[:-1]:
        frame[col] = pd.to_datetime(frame[col]) if is_dt else frame[col].astype(np.int64)
    if periods:
        return TextEvents(frame, text_col="text", start_col="start", end_col="end")
    return TextEvents(frame, text_col="text", time_col="time")


def visible_time(row: dict, periods: bool):
    return row["end"] if periods else row["time"]


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_alignment_rule(case):
    index, periods, rows, decay, max_steps_since, change, new_end, new_text, pick = case
    is_dt = isinstance(index, pd.DatetimeIndex)
    target = TimeSeries.from_times_and_values(index, np.zeros(len(index), dtype=np.float32))
    seed_event = [{"start": index[0], "end": index[0], "text": "seed"} if periods else {"time": index[0], "text": "seed"}]
    embedder = TextEventsEmbedder(
        to_events(seed_event, periods, is_dt), projection=None, decay=decay, max_steps_since=max_steps_since,
        encoder=ENCODER, cache=CACHE,
    ).fit(target)
    before = embedder.past_covariates(target, events=to_events(rows, periods, is_dt))
    values = before.values(copy=False)

    # counting: each event at the first label >= its visible time, once
    labels, first = labels_around(index)
    expected = np.zeros(len(index))
    for row in rows:
        t = visible_time(row, periods)
        for i in range(len(index)):
            if labels[first + i - 1] < t <= labels[first + i]:
                expected[i] += 1
    np.testing.assert_array_equal(values[:, 2], expected)  # components: emb_0, emb_1, count, steps_since

    # no look-ahead: a change visible from t leaves every step labelled before t unchanged
    changed = [dict(row) for row in rows]
    if change == "add" or not rows:
        row = dict(seed_event[0], text=new_text)
        if periods:
            row["start"], row["end"] = min(row["start"], new_end), new_end
        else:
            row["time"] = new_end
        changed.append(row)
        t = new_end
    elif change == "remove":
        t = visible_time(changed.pop(pick), periods)
    else:
        changed[pick]["text"] = new_text
        t = visible_time(changed[pick], periods)
    after = embedder.past_covariates(target, events=to_events(changed, periods, is_dt)).values(copy=False)
    earlier = np.asarray(index < t) if is_dt else np.asarray(index) < t
    np.testing.assert_array_equal(values[earlier], after[earlier])
    if change == "add" and labels[first - 1] < t <= index[-1]:
        step = int(np.argmax(~earlier))  # the first label >= t (a step of the series): one more text there
        assert after[step, 2] == values[step, 2] + 1
