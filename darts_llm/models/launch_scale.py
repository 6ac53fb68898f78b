"""How much a new product will sell: the prior of its launch level, before its own sales are seen.

:class:`LevelPrior` predicts a product's level (its mean ``log1p`` sales over its first ages, see
:class:`~darts_llm.models.launch_curves.LaunchLibrary`) either as the mean level of its analogs, or with a ridge
regression on feature blocks (the analogs' level, the demand context, the numeric static covariates). It also
knows how far its predictions miss (leave-one-out on the training launches): that variance decides how much a
product's first observed weeks move the forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from darts.utils.serialization import add_safe_globals

__all__ = ["LevelPrior", "launch_features", "shrunk_mean", "signed_log"]

_ALPHAS = np.logspace(-2, 4, 13)


def signed_log(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: numeric static covariates such as prices are skewed; their logs are not."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log1p(np.abs(values))


def launch_features(blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The feature blocks of the ridge scale, as float64 arrays."""
    return [np.asarray(b, dtype=np.float64) for b in blocks]


@dataclass
class LevelPrior:
    """The prior mean and variance of a product's launch level.

    Attributes
    ----------
    variance
        Mean squared leave-one-out error of the prior on the training launches (weighted by the launches' weights).
    coef, intercept
        The ridge regression on :meth:`design` (``coef`` is ``None`` for the analog prior).
    offset
        Added to every prior mean: how far the prior misses the most recent launches (0 when not corrected).
    """

    variance: float
    coef: np.ndarray | None = None
    intercept: float = 0.0
    bounds: tuple[float, float] = (-np.inf, np.inf)
    center: list[np.ndarray] = field(default_factory=list)
    spread: list[np.ndarray] = field(default_factory=list)
    offset: float = 0.0

    @classmethod
    def fit(
        cls,
        levels: np.ndarray,
        blocks: Sequence[np.ndarray] | None,
        analog_levels: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ):
        """Fit on the training launches' ``levels`` (NaN: not usable).

        Parameters
        ----------
        levels
            One level per launch.
        blocks
            Feature blocks per launch for the ridge prior; ``None`` for the analog prior.
        analog_levels
            For the analog prior: each launch's analog level computed without itself.
        weights
            One weight per launch (e.g. by recency) in the regression and the error variance; ``None``: equal.
        """
        usable = np.isfinite(levels)
        weights = np.ones(len(levels)) if weights is None else np.asarray(weights, dtype=np.float64)
        if blocks is None:
            both = usable & np.isfinite(analog_levels)
            error = levels[both] - analog_levels[both]
            return cls(variance=_variance(error, weights[both]))
        from sklearn.linear_model import Ridge, RidgeCV

        prior = cls(variance=1.0, bounds=(float(levels[usable].min()), float(levels[usable].max())))
        prior.center = [b[usable].mean(axis=0) for b in blocks]
        prior.spread = [_block_spread(b[usable]) for b in blocks]
        x, y, w = prior.design(blocks)[usable], levels[usable], weights[usable]
        search = RidgeCV(alphas=_ALPHAS, store_cv_results=True).fit(x, y, sample_weight=w)
        # with sample weights the stored leave-one-out errors are weighted: their weighted mean is sum / sum(w)
        errors = search.cv_results_[:, list(_ALPHAS).index(search.alpha_)]
        prior.variance = float(max(errors.sum() / w.sum(), 1e-4))
        ridge = Ridge(alpha=search.alpha_).fit(x, y, sample_weight=w)
        prior.coef, prior.intercept = ridge.coef_.astype(np.float64), float(ridge.intercept_)
        return prior

    def design(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        """Standardised blocks side by side, each scaled to unit total variance (a wide embedding and a single
        price weigh alike before the ridge penalty decides)."""
        columns = [(b - c) / s for b, c, s in zip(blocks, self.center, self.spread)]
        return np.concatenate(columns, axis=1) if columns else np.zeros((len(blocks[0]) if blocks else 0, 0))

    def predict(self, analog_level: float, features: np.ndarray | None) -> tuple[float, float]:
        """The prior mean and variance of one product's level (``features``: its row of :meth:`design`)."""
        if self.coef is None or features is None:
            return analog_level + self.offset, self.variance
        # never beyond the levels seen in training: a linear model must not extrapolate a launch's size
        level = float(np.clip(features[0] @ self.coef + self.intercept, *self.bounds))
        return level + self.offset, self.variance


def shrunk_mean(values: np.ndarray, groups: np.ndarray) -> float:
    """The mean of ``values``, shrunk towards 0 by its squared standard error (``mean * max(0, 1 - se² / mean²)``).

    The standard error treats the ``groups`` (e.g. launch times: products launched together share a fate) as the
    independent units; with fewer than two groups the mean is not trusted and 0 is returned.
    """
    values, groups = np.asarray(values, dtype=np.float64), np.asarray(groups)
    unique, inverse = np.unique(groups, return_inverse=True)
    if len(unique) < 2:
        return 0.0
    mean = float(values.mean())
    sums = np.bincount(inverse, weights=values - mean)
    variance = float((sums**2).sum()) / len(values) ** 2 * len(unique) / (len(unique) - 1)
    if mean == 0.0:
        return 0.0
    return mean * max(0.0, 1.0 - variance / mean**2)


def _block_spread(block: np.ndarray) -> np.ndarray:
    std = block.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return std * np.sqrt(block.shape[1])


def _variance(error: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean squared error of the finite entries (a floor keeps a perfect fit from freezing the level)."""
    finite = np.isfinite(error)
    error, weights = error[finite], weights[finite]
    return float(max(np.average(error**2, weights=weights), 1e-4)) if len(error) and weights.sum() > 0 else 1.0


add_safe_globals([LevelPrior])
