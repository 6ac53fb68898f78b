"""Text ablations: the same inputs with shuffled texts or with one constant text.

A text model that beats its no-text twin may do so for the wrong reason (a unique description acting as a product
id, say). Two controls tell: *shuffled* (each series gets another series' text, so the texts keep their
distribution but lose their link to the sales) and *constant* (every series gets :data:`CONSTANT_TEXT`, so the text
carries no information at all).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

#: The one text that replaces every text in the *constant* ablation.
CONSTANT_TEXT = "product"
#: What :func:`replace_texts` can do: keep the texts, permute them, or replace them by one constant.
ABLATION_MODES = ("real", "shuffled", "constant")


def replace_texts(texts: Sequence[str], mode: str, seed: int = 0, constant: str = CONSTANT_TEXT) -> list[str]:
    """The texts of an ablation.

    Parameters
    ----------
    texts
        One text per series, in the series' order.
    mode
        ``"real"`` (unchanged), ``"shuffled"`` (one seeded permutation of ``texts``) or ``"constant"`` (every
        text becomes ``constant``).
    seed
        Seed of the permutation (``"shuffled"`` only); the same seed gives the same permutation.
    constant
        The text of the ``"constant"`` ablation.

    Returns
    -------
    list[str]
        The replaced texts, one per input text.
    """
    texts = list(texts)
    if mode == "real":
        return texts
    if mode == "shuffled":
        order = np.random.default_rng(seed).permutation(len(texts))
        return [texts[j] for j in order]
    if mode == "constant":
        return [constant] * len(texts)
    raise_log(ValueError(f"`mode` must be one of {ABLATION_MODES}; got {mode!r}."))


def replace_static_text(
    series: Sequence[TimeSeries], column: str, mode: str, seed: int = 0, constant: str = CONSTANT_TEXT
) -> list[TimeSeries]:
    """The series with the text static covariate ``column`` replaced for an ablation.

    Parameters
    ----------
    series
        Series whose static covariates hold the text column ``column`` (e.g. what
        ``TimeSeries.from_group_dataframe(..., static_cols=[column])`` gives).
    column
        Name of the static covariate with the text.
    mode
        ``"real"``, ``"shuffled"`` or ``"constant"``, as in :func:`replace_texts`.
    seed
        Seed of the permutation (``"shuffled"`` only).
    constant
        The text of the ``"constant"`` ablation.

    Returns
    -------
    list[TimeSeries]
        New series (values and other static covariates unchanged); the inputs are not modified.
    """
    series = list(series)
    missing = [i for i, s in enumerate(series) if s.static_covariates is None or column not in s.static_covariates]
    if missing:
        raise_log(
            ValueError(
                f"`column={column!r}` is not a static covariate of {len(missing)} series (first: position "
                f"{missing[0]}). Pass the name of the text static covariate column."
            )
        )
    texts = [str(s.static_covariates[column].iloc[0]) for s in series]
    out = []
    for s, text in zip(series, replace_texts(texts, mode, seed=seed, constant=constant)):
        static = s.static_covariates.copy()
        static[column] = pd.array([text] * len(static), dtype=static[column].dtype)
        out.append(s.with_static_covariates(static))
    return out
