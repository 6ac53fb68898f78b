"""The launch forecaster behind :class:`~darts_llm.models.TextAnalogModel` and
:class:`~darts_llm.models.LaunchCurveModel`: earlier launches aligned on age, a shape from the analogs and a scale.

For a product at age ``k`` (``k`` steps since its first sale; 0 before it) and a forecast of ``n`` steps, in
``log1p`` units:

1. **Analogs**: the ``n_analogs`` earlier launches most similar to the product (by text for
   :class:`~darts_llm.models.TextAnalogModel`, by a category or a price for
   :class:`~darts_llm.models.LaunchCurveModel`), among those whose first ``level_ages`` steps lie before the
   forecast's first step. Only steps before that time are read: the analog curves never look ahead, also in
   ``historical_forecasts(retrain=False)``. The scale's regression, its correction by the latest launches and
   the week noise are fitted on the whole training series, so a backtest free of look-ahead fits the model at
   each origin on the sales before it (as ``benchmarks/cold_start.py`` and the demo do).
2. **Shape**: the analogs' mean curve relative to their own level, at ages ``k .. k+n-1``.
3. **Scale** (the product's level): a prior from the analogs' levels (``scale="analogs"``) or from a ridge
   regression (``scale="ridge"``) on the analogs' level, the demand context before the launch (the shop's and
   the product's neighbours' recent sales, :mod:`darts_llm.models.launch_context`) and the numeric static
   covariates, updated with the ``k`` observed steps as a normal-normal posterior whose two variances
   (how far a prior misses, how much one step scatters) are estimated on the training launches. By default the
   prior is shifted by how far it misses the launches of the last ``level_ages`` training steps
   (``recent_launch_correction``); ``recency_half_life`` weighs recent launches more.
4. The forecast is ``expm1(level + shape)``: a median-like forecast, which is what an absolute-error metric such
   as WAPE rewards. Samples (``num_samples > 1``) draw the level from its posterior and the weekly deviations from
   the analogs' own, giving quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log
from darts.models.forecasting.forecasting_model import GlobalForecastingModel

from darts_llm.models.launch_context import DemandContext
from darts_llm.models.launch_analogs import LaunchAnalogsMixin
from darts_llm.models.launch_catalogue import LaunchCatalogueMixin
from darts_llm.models.launch_curves import (
    LaunchLibrary,
    SeriesLaunch,
    future_index,
    launch_bound,
    launch_of,
    time_grid,
    time_value,
)
from darts_llm.models.launch_scale import LevelPrior
from darts_llm.utils import positive_int, positive_or_none

__all__ = ["LaunchForecastingModel"]

_SCALES = ("analogs", "ridge")


class LaunchForecastingModel(LaunchAnalogsMixin, LaunchCatalogueMixin, GlobalForecastingModel):
    """Base class of the analog launch models; subclasses say how similar two products are.

    Subclasses implement :meth:`_fit_similarity` (learn what they need from the training products' static
    covariates) and :meth:`_similarity` (a ``(queries, training products)`` matrix, larger is more similar).
    """

    #: Read by models saved before the options existed (every launch weighs alike, no correction).
    recency_half_life = None
    recent_launch_correction = False
    _recency = None

    def __setstate__(self, state: dict) -> None:
        # a model saved before the options existed is rebuilt without them by `untrained_model()` too
        params = state.get("_model_params")
        if isinstance(params, dict) and "recent_launch_correction" not in state:
            params.setdefault("recent_launch_correction", False)
        self.__dict__.update(state)

    def __init__(
        self,
        n_analogs: int = 30,
        scale: str = "ridge",
        level_ages: int = 8,
        max_age: int = 52,
        launches_after=None,
        temperature: float | None = None,
        add_encoders: dict | None = None,
        recency_half_life: float | None = None,
        recent_launch_correction: bool = True,
    ):
        super().__init__(add_encoders=add_encoders)
        if add_encoders:
            raise_log(ValueError(f"{type(self).__name__} uses no covariates, so `add_encoders` must be None."))
        self.n_analogs = positive_int(n_analogs, "n_analogs")
        self.level_ages = positive_int(level_ages, "level_ages")
        self.max_age = positive_int(max_age, "max_age")
        if self.max_age < self.level_ages:
            raise_log(ValueError(f"`max_age` ({max_age}) must be at least `level_ages` ({level_ages})."))
        if scale not in _SCALES:
            raise_log(ValueError(f"`scale` must be one of {list(_SCALES)}, got {scale!r}."))
        self.scale = scale
        self.temperature = positive_or_none(temperature, "temperature", "a positive number or None (equal weights)")
        self.recency_half_life = positive_or_none(
            recency_half_life, "recency_half_life", "a positive number of steps or None (every launch weighs alike)"
        )
        if not isinstance(recent_launch_correction, bool):
            raise_log(ValueError(f"`recent_launch_correction` must be True or False, got {recent_launch_correction!r}."))
        self.recent_launch_correction = recent_launch_correction
        self.launches_after = launches_after
        self._library: LaunchLibrary | None = None
        self._library_static: pd.DataFrame | None = None
        self._launch_rows: np.ndarray | None = None
        self._training_static: pd.DataFrame | None = None
        self._context: DemandContext | None = None
        self._fallback_level: float | None = None
        self._prior: LevelPrior | None = None
        self._week_noise = 1.0
        self._freq = None
        self._columns: tuple[str, ...] = ()
        self._component = "0"

    # ------------------------------------------------------------------------------------------ Darts' interface
    @property
    def supports_multivariate(self) -> bool:
        return False

    @property
    def supports_static_covariates(self) -> bool:
        return True

    @property
    def considers_static_covariates(self) -> bool:
        return True

    @property
    def supports_past_covariates(self) -> bool:
        return False

    @property
    def supports_future_covariates(self) -> bool:
        return False

    @property
    def supports_probabilistic_prediction(self) -> bool:
        return True

    @property
    def supports_transferable_series_prediction(self) -> bool:
        return True

    @property
    def _supports_non_retrainable_historical_forecasts(self) -> bool:
        return True

    @property
    def min_train_samples(self) -> int:
        return 1

    @property
    def _target_window_lengths(self) -> tuple[int, int]:
        return 1, 1

    @property
    def extreme_lags(self):
        return -1, -1, None, None, None, None, 0

    def _model_encoder_settings(self):
        return None, None, False, False, None, None

    # ------------------------------------------------------------------------------------------ what subclasses say
    def _fit_similarity(self, static: pd.DataFrame) -> None:
        """Learn what :meth:`_similarity` needs from the static covariates of all training products."""

    def _similarity(self, static: pd.DataFrame) -> np.ndarray:
        """``(len(static), training products)`` similarities of the products ``static`` to the training products."""
        raise NotImplementedError

    def _scale_inputs(self, static: pd.DataFrame) -> list[np.ndarray]:
        """Feature blocks of the ridge scale (each standardised and weighted as one block)."""
        return []

    def _used_columns(self) -> list[str]:
        """The static covariate columns the fitted model reads."""
        return []

    def _check_static(self, static: pd.DataFrame, where: str) -> None:
        """Raise when the static covariates of ``where`` lack a column the model reads."""
        missing = [c for c in self._columns if c not in static.columns]
        if missing:
            raise_log(
                ValueError(
                    f"The static covariates of `{where}` lack {missing}; {type(self).__name__} was fitted with the "
                    f"columns {list(self._columns)}. Attach them to every series "
                    f"(`series.with_static_covariates(...)`)."
                )
            )

    # ------------------------------------------------------------------------------------------ fit
    def _as_list(self, series, name: str) -> list[TimeSeries]:
        items = [series] if isinstance(series, TimeSeries) else list(series) if series is not None else []
        if not items or not all(isinstance(s, TimeSeries) for s in items):
            raise_log(ValueError(f"`{name}` must be a TimeSeries or a non-empty sequence of TimeSeries."))
        for i, s in enumerate(items):
            if s.n_components != 1:
                raise_log(
                    ValueError(
                        f"{type(self).__name__} forecasts univariate sales, but {name}[{i}] has {s.n_components} "
                        f"components; pass one series per product and component."
                    )
                )
        return items

    def _static_frame(self, series: Sequence[TimeSeries], where: str) -> pd.DataFrame:
        rows = []
        for i, s in enumerate(series):
            static = s.static_covariates
            # no static covariates: an empty row (a model that reads columns names the missing ones)
            rows.append(pd.DataFrame(index=[0]) if static is None else static.iloc[[0]])
        frame = pd.concat(rows, ignore_index=True)
        self._check_static(frame, where)
        return frame

    def fit(self, series, past_covariates=None, future_covariates=None, verbose=None) -> LaunchForecastingModel:
        """Learn from the launches in ``series``: their curves by age, their levels and their similarity inputs.

        Parameters
        ----------
        series
            One univariate series of sales per product, with the product's static covariates. A product's launch
            is its first positive value; products without a sale, and products whose first sale is not after
            ``launches_after`` (default: the earliest time of all series, where sales may predate the data), are
            not used as launches.
        past_covariates, future_covariates
            Not supported: must be ``None`` (use :meth:`launch_covariates` to give the analog curve to another
            model).
        verbose
            Unused.
        """
        name = type(self).__name__
        for cov, label in ((past_covariates, "past_covariates"), (future_covariates, "future_covariates")):
            if cov is not None:
                raise_log(
                    ValueError(
                        f"{name} does not use `{label}`; fit it on the sales series only, and use "
                        f"`launch_covariates()` to feed its analog curve to a model that takes covariates."
                    )
                )
        series = self._as_list(series, "series")
        self._columns = ()  # a new fit reads the columns of its own series
        freqs = {str(s.freq) for s in series}
        if len(freqs) > 1:
            raise_log(ValueError(f"All series must share one frequency; got {sorted(freqs)}. Resample them to one "
                                 f"(e.g. weekly with `TimeSeries.resample`) before `fit()`."))
        earliest = min(time_value(s.start_time()) for s in series)
        after = earliest if self.launches_after is None else launch_bound(series[0], self.launches_after)
        launches, rows = [], []
        for row, s in enumerate(series):
            launch = launch_of(s)
            if launch.position is not None and time_value(s.time_index[launch.position]) > after:
                launches.append((s, launch))
                rows.append(row)
        if len(launches) < 2:
            raise_log(
                ValueError(
                    f"{name} found {len(launches)} launch(es) in `series`: it learns from products whose first sale "
                    f"lies after `launches_after` ({'the earliest time of the series' if self.launches_after is None else self.launches_after}). "
                    f"Give the sales of earlier product launches (at least 2; dozens make useful analogs)."
                )
            )
        library = LaunchLibrary.from_launches(launches, self.max_age, self.level_ages)
        levels = library.levels(np.isfinite(library.curves))
        if np.isfinite(levels).sum() < 2:
            raise_log(
                ValueError(
                    f"Fewer than 2 launches in `series` have {self.level_ages} steps after their first sale; "
                    f"lower `level_ages` (now {self.level_ages}) or give longer series."
                )
            )
        super().fit(series)
        self._freq = series[0].freq
        self._component = series[0].components[0]
        everything = self._static_frame(series, "series")
        self._fit_similarity(everything)
        self._columns = tuple(self._used_columns())
        self._launch_rows = np.asarray(rows)
        self._library, self._library_static = library, everything.iloc[rows].reset_index(drop=True)
        self._training_static = everything
        self._week_noise = library.week_noise()
        self._recency = None
        grid = time_grid(series[0].start_time(), series[0].freq, 101)
        step = int((grid[-1] - grid[0]) // 100)  # an average step (months and business days are uneven)
        end = max(time_value(s.end_time()) for s in series)
        if self.recency_half_life is not None:
            self._recency = library.recency(end, step, self.recency_half_life)
        features = None
        self._fallback_level = None
        if self.scale == "ridge":
            self._context = DemandContext.from_series(series, window=self.level_ages // 2 or 1)
            launch_times = pd.Index([s.time_index[launch.position] for s, launch in launches])
            features = self._features(self._library_static, launch_times,
                                      lambda lo, hi: self._training_similarity(self._launch_rows[lo:hi]))
        self._prior = LevelPrior.fit(
            levels,
            features,
            analog_levels=self._leave_one_out_levels(levels) if self.scale == "analogs" else None,
            weights=self._recency,
        )
        if self.recent_launch_correction:
            self._prior.offset = self._recent_offset(features, end, step)
        return self

    # ------------------------------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if self._library is None:
            raise_log(ValueError(f"{type(self).__name__} must be fitted before it forecasts; call `fit()` first."))

    def _forecast_one(self, launch: SeriesLaunch, similarity: np.ndarray, features, n: int, num_samples: int, rng):
        cutoff = time_value(launch.start)
        k = launch.age
        ages = np.arange(k, k + n)
        observed_ages = np.arange(k)
        _, analog_level, shape, deviations, dev_weights = self._analog_curve(
            similarity, cutoff, np.concatenate([observed_ages, ages])
        )
        past_shape, future_shape = shape[:k], shape[k:]
        prior_mean, prior_var = self._prior.predict(analog_level, features)
        observed = launch.observed
        valid = np.isfinite(observed)
        if valid.any():
            residual = observed[valid] - past_shape[valid]
            precision = 1.0 / prior_var + valid.sum() / self._week_noise
            level_mean = (prior_mean / prior_var + residual.sum() / self._week_noise) / precision
            level_var = 1.0 / precision
        else:
            level_mean, level_var = prior_mean, prior_var
        if num_samples == 1:
            return np.expm1(np.clip(level_mean + future_shape, 0.0, None))[:, None]
        level = rng.normal(level_mean, np.sqrt(level_var), size=num_samples)
        future_dev = deviations[:, k:]
        pick = rng.choice(len(dev_weights), size=num_samples, p=dev_weights)
        noise = future_dev[pick]
        gaps = np.isnan(noise)
        noise[gaps] = rng.normal(0.0, np.sqrt(self._week_noise), size=gaps.sum())
        paths = level[:, None] + future_shape[None] + noise
        return np.expm1(np.clip(paths, 0.0, None)).T

    def predict(
        self,
        n: int,
        series=None,
        past_covariates=None,
        future_covariates=None,
        num_samples: int = 1,
        verbose=None,
        predict_likelihood_parameters: bool = False,
        show_warnings: bool = True,
        random_state: int | None = None,
        **kwargs,
    ):
        """Forecast ``n`` steps after the end of each series.

        Parameters
        ----------
        n
            Forecast horizon.
        series
            The products to forecast, with the static covariates the model was fitted with. A series without a
            positive value is a product not launched yet: its forecast starts at its launch (age 0). For products
            that have no series yet, use :meth:`predict_new_products`.
        num_samples
            ``1`` for the point (median-like) forecast; more for samples of the forecast distribution.
        random_state
            Seed of the samples.

        Returns
        -------
        TimeSeries or list[TimeSeries]
            One forecast per series (a single series when ``series`` is one ``TimeSeries`` or omitted after a
            fit on one series).
        """
        self._check_fitted()
        name = type(self).__name__
        for cov, label in ((past_covariates, "past_covariates"), (future_covariates, "future_covariates")):
            if cov is not None:
                raise_log(ValueError(f"{name} does not use `{label}`; call `predict()` without it."))
        if predict_likelihood_parameters:
            raise_log(ValueError(f"{name} has no likelihood parameters; use `num_samples` for quantiles."))
        n = positive_int(n, "n")
        num_samples = positive_int(num_samples, "num_samples")
        single = series is None or isinstance(series, TimeSeries)
        if series is None:
            if self.training_series is None:
                raise_log(ValueError(f"{name} was fitted on several series: pass `series` to `predict()`."))
            series = self.training_series
        items = self._as_list(series, "series")
        for i, s in enumerate(items):
            if str(s.freq) != str(self._freq):
                raise_log(ValueError(f"series[{i}] has frequency {s.freq}, but {name} was fitted on {self._freq}."))
        static = self._static_frame(items, "series")
        launches = [launch_of(s) for s in items]
        rng = np.random.default_rng(random_state)
        out = []
        for s, launch, (sims, design) in zip(items, launches, self._each_query(static, launches)):
            values = self._forecast_one(launch, sims, design, n, num_samples, rng)
            times = future_index(s, n)
            out.append(
                TimeSeries.from_times_and_values(
                    times,
                    values[:, None, :].astype(s.dtype),
                    columns=[s.components[0]],
                    static_covariates=s.static_covariates,
                    hierarchy=s.hierarchy,
                )
            )
        return out[0] if single else out

    def __str__(self) -> str:
        return type(self).__name__
