"""Which static covariate columns hold text: :class:`TextSchema`, resolved once at the first ``fit()``.

A column is text when it holds strings in *any* series (a product whose description is missing has a float NaN
there, so one series is not enough to tell). A column that is numeric in some series and holds strings in others,
without being missing there, is an error that names both. A string column with one distinct identifier-like value
per series (a SKU such as ``"85123A"``) is not read as text unless ``text_cols`` names it: it is left out of the
network, with a warning.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

__all__ = ["TargetLayout", "TextSchema", "is_missing", "refuse_missing_targets", "resolve_text_schema"]

logger = logging.getLogger(__name__)

#: A value that looks like a product code rather than a text: no whitespace, at most 32 characters.
_IDENTIFIER = re.compile(r"^\S{1,32}$")


def is_missing(value) -> bool:
    """``None``, ``pd.NA``, ``pd.NaT`` and float NaN are missing values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


@dataclasses.dataclass(frozen=True)
class TextSchema:
    """The static covariate layout a text model was fitted with.

    Attributes
    ----------
    columns
        All static covariate columns, in order.
    text_cols
        The columns read as text.
    numeric_cols
        The columns passed to the backbone as numbers.
    ignored_cols
        Identifier-like string columns left out of the network.
    """

    columns: tuple[str, ...]
    text_cols: tuple[str, ...]
    numeric_cols: tuple[str, ...]
    ignored_cols: tuple[str, ...] = ()

    def check(self, static: pd.DataFrame | None, model_name: str, where: str = "") -> None:
        """Raise when ``static`` (a target's static covariates) does not have the fitted columns."""
        if static is None:
            raise_log(
                ValueError(
                    f"{model_name} was fitted with the static covariates {list(self.columns)} (text in "
                    f"{list(self.text_cols)}), but a target series{where} has no static covariates. Attach the "
                    f"same static covariate columns to every series."
                )
            )
        if tuple(static.columns) != self.columns:
            raise_log(
                ValueError(
                    f"The static covariate columns of a target series{where} are {list(static.columns)}, but "
                    f"{model_name} was fitted with {list(self.columns)} (text in {list(self.text_cols)}). Use the "
                    f"same static covariate columns, in the same order, at fit and prediction."
                )
            )


@dataclasses.dataclass(frozen=True)
class TargetLayout:
    """What a training target looked like: the frequency, components and dtype a new product's series gets."""

    freq: object
    components: tuple[str, ...]
    dtype: str

    @classmethod
    def of(cls, series: TimeSeries) -> TargetLayout:
        return cls(series.freq, tuple(series.components), np.dtype(series.dtype).name)


def _column_kinds(series: Sequence[TimeSeries], column: str) -> tuple[set[int], set[int]]:
    """Indexes of the series where ``column`` holds strings, and where it is a numeric column with a value
    (a numeric column of only missing values is a missing text; a stray number among strings is reported by
    the text check)."""
    strings, numbers = set(), set()
    for i, s in enumerate(series):
        values = s.static_covariates[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            if values.notna().any():
                numbers.add(i)
        elif any(isinstance(v, str) for v in values):
            strings.add(i)
    return strings, numbers


def _looks_like_identifier(series: Sequence[TimeSeries], column: str) -> bool:
    values = [v for s in series for v in s.static_covariates[column] if isinstance(v, str)]
    per_series = {s.static_covariates[column].iloc[0] for s in series}
    return (
        len(series) >= 2
        and len(per_series) == len(series)
        and all(_IDENTIFIER.match(v) for v in values)
    )


def resolve_text_schema(
    series: Sequence[TimeSeries], text_cols: Sequence[str] | None, model_name: str
) -> TextSchema:
    """The :class:`TextSchema` of the target ``series`` passed to ``fit()``.

    Parameters
    ----------
    series
        The training targets (all of them are inspected).
    text_cols
        The ``text_cols`` argument of the model (``None``: detect).
    model_name
        The model's class name, for the error messages.
    """
    layouts = [None if s.static_covariates is None else tuple(s.static_covariates.columns) for s in series]
    with_static = [layout for layout in layouts if layout]
    if not with_static:
        raise_log(
            ValueError(
                f"{model_name} found no static covariates in the target series, so there is no text column. "
                f"Attach the text as a string static covariate, e.g. TimeSeries.from_group_dataframe(df, "
                f"group_cols='sku', time_col='week', value_cols='qty', static_cols=['description']); "
                f"`text_cols` must name string static covariate columns."
            )
        )
    columns = layouts[0]
    other = next((i for i, layout in enumerate(layouts) if layout != columns), None)
    if other is not None:
        raise_log(
            ValueError(
                f"The target series passed to fit() have different static covariates: series 0 has the static "
                f"covariate columns {list(columns or [])}, series {other} has {list(layouts[other] or [])}. Every "
                f"series needs the same static covariate columns, in the same order (a missing text is None/NaN)."
            )
        )
    kinds = {c: _column_kinds(series, c) for c in columns}
    mixed = [c for c, (strings, numbers) in kinds.items() if strings and numbers]
    if mixed and text_cols is None:
        c = mixed[0]
        strings, numbers = kinds[c]
        raise_log(
            ValueError(
                f"The static covariate column {c!r} holds strings in series {sorted(strings)[:5]} but numbers in "
                f"series {sorted(numbers)[:5]}. Make it all text (`text_cols=[{c!r}]`, numbers then are an error) "
                f"or all numbers."
            )
        )
    ignored: tuple[str, ...] = ()
    if text_cols is None:
        stringy = [c for c in columns if kinds[c][0]]
        ignored = tuple(c for c in stringy if _looks_like_identifier(series, c))
        if ignored:
            logger.warning(
                "%s leaves the static covariate columns %s out: they hold one identifier-like code per series "
                "(e.g. a SKU), not text. Name them in `text_cols` to read them as text.",
                model_name,
                list(ignored),
            )
        found = tuple(c for c in stringy if c not in ignored)
        if not found:
            raise_log(
                ValueError(
                    f"{model_name} found no text column among the static covariate columns {list(columns)} (all "
                    f"are numeric{' or identifiers' if ignored else ''}). `text_cols` must name string static "
                    f"covariate columns, e.g. a product description attached with "
                    f"TimeSeries.from_group_dataframe(..., static_cols=['description'])."
                )
            )
    else:
        found = tuple(text_cols)
        missing = [c for c in found if c not in columns]
        if missing:
            raise_log(
                ValueError(
                    f"`text_cols` names {missing}, which are not static covariate columns; the static covariates "
                    f"have the columns {list(columns)}. `text_cols` must name string static covariate columns."
                )
            )
    numeric = tuple(c for c in columns if c not in found and c not in ignored)
    bad = [c for c in numeric if kinds[c][0]]
    if bad:
        raise_log(
            ValueError(
                f"The static covariate columns {bad} are neither numeric nor listed in `text_cols` "
                f"({list(found)}). Add them to `text_cols`, encode them as numbers, or drop them (for group "
                f"columns: TimeSeries.from_group_dataframe(..., drop_group_cols=...))."
            )
        )
    logger.info("%s reads text from the static covariate columns %s.", model_name, list(found))
    return TextSchema(columns, found, numeric, ignored)


def refuse_missing_targets(series: Sequence[TimeSeries], model_name: str) -> None:
    """Without ``min_input_chunk_length`` a missing target value would make every weight NaN: refuse it."""
    for i, s in enumerate(series):
        missing = np.isnan(s.all_values(copy=False)).any(axis=(1, 2))
        if missing.any():
            steps = s.time_index[missing]
            raise_log(
                ValueError(
                    f"Target series {i} has {int(missing.sum())} missing value(s), first at {steps[0]}. "
                    f"{model_name} cannot learn from NaN targets: fill them (e.g. "
                    f"darts.dataprocessing.transformers.MissingValuesFiller), or create the model with "
                    f"`min_input_chunk_length` (e.g. 1), which masks missing steps in the inputs and the loss."
                )
            )
