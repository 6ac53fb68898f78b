"""Missing text is the empty string everywhere; the advice for non-text values is correct."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darts_llm import EmbeddingCache, TextInputError
from darts_llm.encoders import clean_texts, is_missing

MISSING = [None, np.nan, float("nan"), np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT")]


@pytest.mark.parametrize("value", MISSING, ids=repr)
def test_every_missing_value_is_missing(value):
    assert is_missing(value)
    assert clean_texts(["a", value]) == ["a", ""]
    with pytest.raises(TextInputError, match=r"texts\[1\]` is missing"):
        clean_texts(["a", value], missing="raise")


@pytest.mark.parametrize("value", ["", "nan", "<NA>", "None", 0, 0.0, False])
def test_texts_and_numbers_are_not_missing(value):
    assert not is_missing(value)


def test_encoder_and_cache_embed_missing_as_empty(tiny_encoder):
    out = tiny_encoder.encode([pd.NA, pd.NaT, ""])
    np.testing.assert_allclose(out[0], out[2])
    np.testing.assert_allclose(out[1], out[2])
    cache = EmbeddingCache()
    cached = cache.encode(tiny_encoder, pd.Series(["red", None], dtype="string").tolist() + [""])
    np.testing.assert_allclose(cached[1], cached[2])
    assert cache.misses == 2  # "" and the missing value are one text


def test_advice_keeps_missing_values_missing():
    with pytest.raises(TextInputError) as info:
        clean_texts(["a", 12.5], name="description")
    message = str(info.value)
    assert "`description[1]` is a float" in message
    assert "astype('string')" in message and "would embed 'nan'" in message
    assert ".astype(str)`" not in message.replace("`.astype(str)` would", "")
    converted = pd.Series(["a", 12.5, np.nan], dtype=object).astype("string").tolist()
    assert clean_texts(converted) == ["a", "12.5", ""]  # the advice works
