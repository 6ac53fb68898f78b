"""Short and missing sales history: observed-step masks, history dropout, and series for new products.

A text model built with ``min_input_chunk_length`` (see :class:`~darts_llm.models.TextCovariatesMixin`)
accepts target series shorter than ``input_chunk_length``: Darts left-pads their input windows with NaN. Three
pieces make those windows mean "not observed" instead of "unknown number":

- :func:`mask_inputs` (used by :class:`~darts_llm.models.fusion.TextFusionModule`): the observed-step mask of the
  past target becomes an extra past-covariate channel of the backbone, and every NaN of the past target, past
  covariates and historic future covariates is set to zero. A step is masked when its target value is NaN, so
  padding, the steps removed by history dropout and missing values inside a series are treated alike.
- :func:`masked_rin`: reversible instance normalisation on the observed steps only.
- :class:`HistoryDropout`: a seeded draw per training sample that keeps only the last ``j`` observed steps
  (``j`` in ``0 .. min_input_chunk_length``), so that the network also learns from launch-like samples with no
  sales history at all.

:func:`new_product_series` builds the all-NaN histories that forecast products without any observation through
the normal ``predict`` path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from darts import TimeSeries
from darts_llm.models.darts_internals import PLModuleInput

__all__ = ["HistoryDropout", "mask_inputs", "masked_rin", "new_product_series"]


def _zero_nan(x: torch.Tensor | None) -> torch.Tensor | None:
    if x is None:
        return None
    return torch.where(torch.isnan(x), torch.zeros((), dtype=x.dtype, device=x.device), x)


def mask_inputs(x_in: PLModuleInput) -> tuple[PLModuleInput, torch.Tensor]:
    """The module input with NaNs zeroed and the observed-step mask appended to the past covariates.

    Parameters
    ----------
    x_in
        A batch whose ``past_target`` ``(batch, time, targets)`` may hold NaN at unobserved steps.

    Returns
    -------
    tuple[PLModuleInput, torch.Tensor]
        The new input (never modifies the given tensors: Darts' prediction loop reuses them), and the observed
        mask of the past target ``(batch, time, targets)`` as booleans. The mask channel is the fraction of the
        target components observed at each step (0 or 1 for univariate targets); it is the *last* past-covariate
        channel.
    """
    target = x_in.past_target
    observed = ~torch.isnan(target)
    channel = observed.to(target.dtype).mean(dim=-1, keepdim=True)
    past_covariates = _zero_nan(x_in.past_covariates)
    past_covariates = channel if past_covariates is None else torch.cat([past_covariates, channel], dim=-1)
    x_in = x_in.replace(
        past_target=_zero_nan(target),
        past_covariates=past_covariates,
        historic_future_covariates=_zero_nan(x_in.historic_future_covariates),
    )
    return x_in, observed


def masked_rin(rin, past_target: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Darts' reversible instance normalisation (``RINorm``) with statistics of the observed steps only.

    Sets ``rin.mean`` and ``rin.stdev`` (so that ``rin.inverse`` restores the forecast's scale) and returns the
    normalised past target, zero at unobserved steps. With fewer than two observed steps the spread cannot be
    estimated: the scale is then ``max(|mean|, 1)`` (forecasts relative to the single observation; in the
    series' own units when nothing is observed, where the mean is 0).
    """
    weights = observed.to(past_target.dtype)
    count = weights.sum(dim=1, keepdim=True)
    denom = count.clamp(min=1.0)
    mean = (past_target * weights).sum(dim=1, keepdim=True) / denom
    var = (((past_target - mean) * weights) ** 2).sum(dim=1, keepdim=True) / denom
    stdev = torch.sqrt(var + rin.eps)
    stdev = torch.where(count >= 2, stdev, mean.abs().clamp(min=1.0))
    rin.mean, rin.stdev = mean.detach(), stdev.detach()
    return rin.transform(past_target) * weights


class HistoryDropout:
    """Seeded history dropout for training samples.

    With probability ``prob``, a sample keeps only its last ``j`` observed input steps, ``j`` drawn uniformly from
    ``0 .. max_keep``; the earlier steps of the past target, past covariates and historic future covariates become
    NaN, exactly like Darts' padding. The draw of a sample depends on ``(seed, sample index, how often that index
    was drawn before)``, so training is reproducible under ``random_state`` (with ``num_loader_workers=0``).
    """

    def __init__(self, prob: float, max_keep: int, seed: int, n_samples: int):
        self.prob = float(prob)
        self.max_keep = int(max_keep)
        self.seed = int(seed)
        self._visits = np.zeros(n_samples, dtype=np.int64)

    def __call__(self, index: int, sample):
        visit = int(self._visits[index])
        self._visits[index] += 1
        rng = np.random.default_rng([self.seed, index, visit])
        if rng.random() >= self.prob:
            return sample
        keep = int(rng.integers(0, self.max_keep + 1))
        target = sample.past_target
        observed = np.flatnonzero(~np.isnan(target).all(axis=1))
        drop = observed[: max(len(observed) - keep, 0)]
        if not len(drop):
            return sample
        changes = {}
        for name in ("past_target", "past_covariates", "historic_future_covariates"):
            values = getattr(sample, name)
            if values is not None:
                values = np.array(values, copy=True)  # Darts' samples may be views of the series
                values[drop] = np.nan
                changes[name] = values
        return sample.replace(**changes)


def new_product_series(
    static_covariates: pd.DataFrame,
    start,
    freq,
    length: int = 1,
    components: Sequence[str] = ("0",),
    dtype=np.float32,
) -> list[TimeSeries]:
    """One all-NaN target series per row of ``static_covariates``, ending one step before ``start``.

    Parameters
    ----------
    static_covariates
        One row per product; the columns become each series' static covariates (one global row).
    start
        The first forecast step: a timestamp for series with a datetime index, an integer for a range index.
    freq
        The frequency of the model's training series (a pandas offset, or an integer step).
    length
        Number of NaN steps (the model's ``min_input_chunk_length``).
    components
        Target component names.
    dtype
        Values' dtype.
    """
    components = list(components)
    if isinstance(freq, int | np.integer):
        step = int(freq)
        start = int(start)
        index = pd.RangeIndex(start - length * step, start, step)
    else:
        start = pd.Timestamp(start)
        index = pd.date_range(end=start - freq, periods=length, freq=freq)
        if len(index) != length or index[-1] + freq != start:
            raise ValueError(
                f"`start` {start} is not on the model's time grid (frequency {freq.freqstr}); give a time "
                f"that a training series could have."
            )
    values = np.full((length, len(components)), np.nan, dtype=dtype)
    out = []
    for i in range(len(static_covariates)):
        row = static_covariates.iloc[[i]].reset_index(drop=True)
        out.append(
            TimeSeries.from_times_and_values(
                index, values, columns=components, static_covariates=row
            )
        )
    return out
