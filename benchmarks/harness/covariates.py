"""Inputs of the global models, built the way a user would with Darts and ``darts_llm``.

Targets are ``log1p(units)`` (the transform of Darts' ``InvertibleMapper(np.log1p, np.expm1)``), left-padded
with zero weeks before a launch (the product was not on sale). The launch age is a known-in-advance covariate.
The text covariates come from ``darts_llm``'s builders; every call to them is in this module, so that a change of
their interface is adapted here once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts import TimeSeries

from harness.panels import Panel

#: Age (weeks since launch) given to products whose launch is not observed, and the cap of the age covariate.
MAX_AGE = 52


def static_frame(panel: Panel, i: int, text: str | None) -> pd.DataFrame:
    """Static covariates: ``log1p(price)``, with the description ``text`` first when given."""
    price = {"price": [np.float32(panel.log_price[i])]}
    if text is None:
        return pd.DataFrame(price)
    return pd.DataFrame({"description": pd.array([text], dtype="str"), **price})


def padded_start(panel: Panel, i: int, pad: int) -> int:
    """First week of product ``i``'s model input: ``pad`` zero weeks before a launch, never before the data."""
    return panel.launch[i] if panel.censored[i] else max(0, panel.launch[i] - pad)


def padded_target(panel: Panel, i: int, end: int, pad: int, static: pd.DataFrame, log: bool = True) -> TimeSeries:
    """``log1p`` sales (units with ``log=False``) of product ``i`` before week ``end``, zero-padded before launch."""
    start = padded_start(panel, i, pad)
    values = np.nan_to_num(panel.values[i, start:end], nan=0.0).astype(np.float32)
    values = np.log1p(values) if log else values
    return TimeSeries.from_times_and_values(
        panel.times[start:end], values[:, None], columns=["quantity"], static_covariates=static
    )


def launch_age(panel: Panel, i: int) -> TimeSeries:
    """Known-in-advance launch covariates on the whole axis: ``launched`` (0/1) and scaled ``log1p(age)``."""
    weeks = np.full(len(panel.times), MAX_AGE) if panel.censored[i] else np.arange(len(panel.times)) - panel.launch[i]
    launched = (weeks >= 0).astype(np.float32)
    age = np.log1p(np.clip(weeks, 0, MAX_AGE)) / np.log1p(MAX_AGE)
    return TimeSeries.from_times_and_values(
        panel.times, np.stack([launched, age], 1).astype(np.float32), columns=["launched", "age"]
    )


def with_text(series: TimeSeries, text: str) -> TimeSeries:
    """``series`` with its ``description`` static covariate set to ``text``."""
    static = series.static_covariates.copy() if series.static_covariates is not None else pd.DataFrame(index=[0])
    static["description"] = pd.array([text] * len(static), dtype="str")
    return series.with_static_covariates(static)


def neighbour_demand(known: list[TimeSeries], new: list[TimeSeries] = (), k: int = 20, window: int = 4,
                     encoder=None) -> tuple[list[TimeSeries], list[TimeSeries]]:
    """What the ``k`` products with the most similar descriptions sold: causal demand covariates.

    The ``known`` series (with a ``description``) are indexed. Returns the covariates of each known series (a
    product is never its own neighbour) and of each ``new`` series (e.g. products not on sale yet, whose series
    only need to end where their covariates should end).
    """
    from darts_llm.dataprocessing import TextNeighbours

    new = list(new)
    keys = list(range(len(known) + len(new)))  # positions: known series 0.., new series after them
    nbrs = TextNeighbours("description", k=k, window=window, exclude_self=True, encoder=encoder)
    nbrs.fit(known, keys=keys[: len(known)])
    covariates = nbrs.past_covariates([*known, *new], keys=keys)
    return covariates[: len(known)], covariates[len(known) :]


def text_pca(train: list[TimeSeries], n_components: int):
    """A ``StaticTextEmbedder`` fitted on ``train``: the description as ``n_components`` numeric static covariates.

    One distinct text cannot be projected by PCA (the library refuses); its raw embedding, the same for every
    product, carries the same information (constant columns), so it is used as is.
    """
    from darts_llm.dataprocessing import StaticTextEmbedder

    distinct = {str(s.static_covariates["description"].iloc[0]) for s in train}
    projection = "pca" if len(distinct) > 1 else None
    return StaticTextEmbedder(text_cols="description", n_components=n_components, projection=projection).fit(train)
