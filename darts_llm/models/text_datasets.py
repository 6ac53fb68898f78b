"""Darts datasets whose samples carry text ids instead of strings in their static covariates.

Darts' torch datasets hand each sample the static covariates of its series as a numeric array. The text models
wrap those datasets: each text column becomes :data:`ID_DIGITS` numeric columns holding the text's vocabulary id
(see :mod:`darts_llm.models.vocabulary`), which :class:`~darts_llm.models.fusion.TextFusionModule` turns back into
ids and embeddings. The series themselves, and thus the forecasts' static covariates, keep their text.
"""

from __future__ import annotations

import numpy as np
import torch

from darts_llm.models.cold_start import HistoryDropout
from darts_llm.models.darts_internals import TorchInferenceDataset, TorchTrainingDataset

__all__ = ["ID_BASE", "ID_DIGITS", "TextInferenceDataset", "TextTrainingDataset", "decode_ids", "encode_ids"]

#: A text id travels through Darts' datasets as ``ID_DIGITS`` base-``ID_BASE`` digits (one static column each).
#: Digits below 256 are exact even in bfloat16/float16, so ids survive half-precision trainers.
ID_BASE = 256
ID_DIGITS = 3


def encode_ids(ids) -> np.ndarray:
    """Text ids ``(n,)`` -> float digits ``(n, ID_DIGITS)`` (least significant first)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1, 1)
    return ((ids // ID_BASE ** np.arange(ID_DIGITS)) % ID_BASE).astype(np.float64)


def decode_ids(digits: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Digits ``(..., ID_DIGITS)`` (any float dtype) -> integer ids ``(...)``; ``weights`` are the digit values."""
    if weights is None:
        weights = torch.tensor([ID_BASE**d for d in range(ID_DIGITS)], device=digits.device)
    return (digits.round().long() * weights).sum(-1)


def _take_static_covariates(inner) -> bool:
    """Stop a Darts dataset from reading the static covariates (a slow pandas call on mixed text/number
    columns, for every sample); the text dataset sets its numeric rows instead. ``False`` if it uses none."""
    uses = bool(getattr(inner, "uses_static_covariates_covariates", False))
    inner.uses_static_covariates_covariates = False
    return uses


class TextTrainingDataset(TorchTrainingDataset):
    """A Darts training dataset whose samples carry numeric static covariates (text ids instead of strings)."""

    def __init__(self, inner: TorchTrainingDataset, static_rows: list[np.ndarray]):
        super().__init__()
        self.inner = inner
        self.static_rows = static_rows
        self.max_samples_per_ts = inner.max_samples_per_ts
        self.uses_static = _take_static_covariates(inner)
        #: :class:`~darts_llm.models.cold_start.HistoryDropout` (set on the training dataset of a fit only)
        self.history_dropout: HistoryDropout | None = None

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        sample = self.inner[index]  # a new sample object: set its static covariates in place
        if self.uses_static:
            sample.static_covariates = self.static_rows[index // self.max_samples_per_ts]
        if self.history_dropout is not None:
            sample = self.history_dropout(index, sample)
        return sample


class TextInferenceDataset(TorchInferenceDataset):
    """A Darts inference dataset whose samples carry numeric static covariates; the series schema (and thus the
    forecasts' static covariates) keeps the original text."""

    def __init__(self, inner: TorchInferenceDataset, static_rows: list[np.ndarray]):
        super().__init__()
        self.inner = inner
        self.static_rows = static_rows
        self.uses_static = _take_static_covariates(inner)

    def __len__(self) -> int:
        return len(self.inner)

    def _series_idx(self, index: int) -> int:
        inner = self.inner
        if inner.bounds is None:
            return index
        return inner._find_list_index(index, inner.cum_lengths, inner.bounds, inner.stride)[0]

    def __getitem__(self, index: int):
        sample = self.inner[index]
        if self.uses_static:
            sample.static_covariates = self.static_rows[self._series_idx(index)]
        return sample
