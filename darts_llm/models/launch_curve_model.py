"""LaunchCurveModel: new-product forecasts from the mean launch curve of a category, a price band or everything."""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts.logging import raise_log
from darts.utils.serialization import add_safe_globals

from darts_llm.models.launch_model import LaunchForecastingModel
from darts_llm.models.launch_scale import signed_log

__all__ = ["LaunchCurveModel"]


class LaunchCurveModel(LaunchForecastingModel):
    def __init__(
        self,
        by: str | None = None,
        n_analogs: int = 30,
        scale: str = "analogs",
        level_ages: int = 8,
        max_age: int = 52,
        launches_after=None,
        recency_half_life: float | None = None,
        recent_launch_correction: bool = True,
    ):
        """The launch curve of comparable earlier products, without text: the baseline a text model must beat.

        The same age-aligned forecaster as :class:`~darts_llm.models.TextAnalogModel` (shape from the analogs,
        scale updated by the first observed steps), with analogs chosen without reading any text:

        - ``by=None``: every earlier launch (the mean launch curve);
        - ``by`` a categorical static covariate (e.g. a category): the earlier launches of the same category, all
          of them when there are at least ``n_analogs``, else every launch;
        - ``by`` a numeric static covariate (e.g. the price): the ``n_analogs`` launches closest in ``log`` value
          (a price band around the product).

        Parameters
        ----------
        by
            The static covariate that defines comparable products (``None``: all products).
        n_analogs
            Launches per product (for a category: the fewest same-category launches that replace all launches).
        scale
            ``"analogs"`` (default): the level prior is the analogs' mean level; ``"ridge"``: a ridge regression on
            the analogs' level, the shop's (and with ``by``, the comparable products') recent sales and the numeric
            static covariates.
        level_ages, max_age, launches_after, recency_half_life, recent_launch_correction
            As in :class:`~darts_llm.models.TextAnalogModel`.
        """
        super().__init__(
            n_analogs=n_analogs, scale=scale, level_ages=level_ages, max_age=max_age, launches_after=launches_after,
            recency_half_life=recency_half_life, recent_launch_correction=recent_launch_correction,
        )
        if by is not None and not isinstance(by, str):
            raise_log(ValueError(f"`by` must be a static covariate column name or None, got {by!r}."))
        self.by = by
        self._numeric_cols: list[str] = []
        self._keys: np.ndarray | None = None
        self._numeric_by = False

    def _fit_similarity(self, static: pd.DataFrame) -> None:
        if self.by is not None and self.by not in static.columns:
            raise_log(
                ValueError(f"`by` is {self.by!r}, which the series' static covariates lack (they have {list(static.columns)}).")
            )
        self._numeric_cols = [c for c in static.columns if pd.api.types.is_numeric_dtype(static[c])]
        if self.by is None:
            self._keys = np.zeros(len(static))
            return
        self._numeric_by = self.by in self._numeric_cols
        self._keys = self._key(static)

    def _key(self, static: pd.DataFrame) -> np.ndarray:
        column = static[self.by]
        if self._numeric_by:
            values = column.astype(float).to_numpy()
            if np.isnan(values).any():
                raise_log(ValueError(f"The static covariate `by`={self.by!r} has missing values; fill them first."))
            return signed_log(values)
        return column.astype(str).to_numpy()

    def _used_columns(self) -> list[str]:
        cols = [] if self.by is None else [self.by]
        if self.scale == "ridge":
            cols += [c for c in self._numeric_cols if c not in cols]
        return cols

    def _similarity(self, static: pd.DataFrame) -> np.ndarray:
        if self.by is None:
            return np.zeros((len(static), len(self._keys)))
        keys = self._key(static)
        if self._numeric_by:
            return -np.abs(keys[:, None] - self._keys[None, :])
        return (keys[:, None] == self._keys[None, :]).astype(float)

    @property
    def _has_similarity(self) -> bool:
        return self.by is not None

    def _scale_inputs(self, static: pd.DataFrame) -> list[np.ndarray]:
        if not self._numeric_cols:
            return []
        numbers = static[self._numeric_cols].astype(float).to_numpy()
        bad = [c for c, missing in zip(self._numeric_cols, np.isnan(numbers).any(0)) if missing]
        if bad:
            raise_log(ValueError(f"The numeric static covariates {bad} have missing values; fill them first."))
        return [signed_log(numbers)]


add_safe_globals([LaunchCurveModel])
