"""Run a Darts local model (ARIMA, ExponentialSmoothing, Theta, ...) on a panel of series as a global model.

Darts refuses ensembles that mix local models with global ones when they are fit on several series.
:class:`PerSeriesModel` fits one copy of a local model per series and presents the result as a
:class:`~darts.models.forecasting.forecasting_model.GlobalForecastingModel`, so that, for example,
``RegressionEnsembleModel([PerSeriesModel(ARIMA()), TiDEModel(...)], ...)`` can be fit on a list of series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from darts import TimeSeries
from darts.models.forecasting.forecasting_model import GlobalForecastingModel, LocalForecastingModel
from darts.utils.serialization import add_safe_globals, get_safe_globals
from joblib import Parallel, delayed

from darts_llm.errors import DartsLLMError

__all__ = ["PerSeriesModel", "SeriesFitError"]


class SeriesFitError(DartsLLMError, ValueError):
    """Fitting (or refitting) the local model on one series of the panel failed; the message names the series."""


def _fit_one(template: LocalForecastingModel, series: TimeSeries, future_covariates, idx: int, verbose):
    """Fit a fresh copy of ``template`` on one series (module level so that joblib workers can pickle it)."""
    min_len = template.min_train_series_length
    if len(series) < min_len:
        raise SeriesFitError(
            f"The series at index {idx} has {len(series)} time steps, but {template} needs at least "
            f"{min_len} (`min_train_series_length`). Drop or extend this series."
        )
    model = template.untrained_model()
    try:
        model._fit_wrapper(series=series, future_covariates=future_covariates, verbose=verbose)
    except Exception as err:
        raise SeriesFitError(
            f"Fitting {template} on the series at index {idx} (length {len(series)}, ending at "
            f"{series.end_time()}) failed: {type(err).__name__}: {err}"
        ) from err
    return model


def _predict_one(model: LocalForecastingModel, future_covariates, kwargs: dict[str, Any]) -> TimeSeries:
    """Forecast the future of a fitted local model's training series."""
    return model._predict_wrapper(future_covariates=future_covariates, **kwargs)


def _fit_predict_one(template, series, future_covariates, idx, verbose, kwargs) -> TimeSeries:
    """Fit a copy of ``template`` on an unseen series and forecast it."""
    return _predict_one(_fit_one(template, series, future_covariates, idx, verbose), future_covariates, kwargs)


def _tail_key(series: TimeSeries) -> tuple:
    """Cheap lookup key: end time, number of components and the values of the last time step."""
    last = np.asarray(series.all_values(copy=False)[-1], dtype=np.float64) + 0.0  # -0.0 -> 0.0
    return series.end_time(), series.n_components, last.tobytes()


class PerSeriesModel(GlobalForecastingModel):
    """Fit one copy of a Darts local model per series and use it like a global model.

    The wrapped model is only a template: :meth:`fit` trains one fresh copy of it on each series of the
    panel (in parallel with joblib when ``n_jobs != 1``), and :meth:`predict` forecasts each series with the
    copy that was trained on it. Because the result is a ``GlobalForecastingModel``, it can be combined with
    global models in :class:`~darts.models.RegressionEnsembleModel` and :class:`~darts.models.NaiveEnsembleModel`
    fit on several series.

    Parameters
    ----------
    model
        An instance of a Darts ``LocalForecastingModel`` (e.g. ``ARIMA()``, ``ExponentialSmoothing()``,
        ``Theta()``). Only its parameters are used; it is never fitted itself.
    n_jobs
        Number of joblib worker processes used to fit the per-series copies (and to refit unseen series at
        prediction time). ``1`` runs in the current process, ``-1`` uses all cores. Joblib's default process
        backend starts its workers once per Python process, which takes a few seconds (each imports Darts);
        wrap calls in ``joblib.parallel_config(backend="threading")`` to use threads instead.
    refit_unseen
        What :meth:`predict` does with a series that was not seen at fit time. If ``True`` (default), a fresh
        copy of the template is fit on that series and used for the forecast (it is not kept). If ``False``,
        a ``ValueError`` naming the series index is raised.

    Notes
    -----
    A series passed to :meth:`predict` is *seen* if it ends at the same time, with the same frequency and
    component names, as a series used at fit time, and its last values equal all values of that series (it
    may hold more history at the start). The forecast is then the one of the copy fitted on that series.
    This is what the ensembles need: ``RegressionEnsembleModel`` fits its base models on the series minus
    the last ``regression_train_n_points`` points, predicts those points from the same shortened series, and
    refits the base models on the full series before forecasting them.

    Any other series (e.g. a training series cut short, as ``historical_forecasts(retrain=False)`` does at
    each forecast point) is refit when ``refit_unseen=True``, which gives the same result as retraining a
    local model at that point.

    Capabilities are those of the template: multivariate and probabilistic support (``num_samples``),
    future covariates (e.g. ARIMA; one covariate series per target series), ``min_train_series_length``
    and ``extreme_lags``. Past covariates, static covariates and sample weights are not supported.
    ``output_chunk_length`` is ``None`` as for local models, so ``RegressionEnsembleModel`` must keep its
    default ``train_using_historical_forecasts=False``.

    Examples
    --------
    >>> from darts.models import ExponentialSmoothing, LinearRegressionModel, RegressionEnsembleModel
    >>> ensemble = RegressionEnsembleModel(
    ...     [PerSeriesModel(ExponentialSmoothing(), n_jobs=2), LinearRegressionModel(lags=12)],
    ...     regression_train_n_points=12,
    ... )
    >>> ensemble.fit(panel)  # doctest: +SKIP
    >>> forecasts = ensemble.predict(6, series=panel)  # doctest: +SKIP
    """

    def __init__(self, model: LocalForecastingModel, n_jobs: int = 1, refit_unseen: bool = True):
        super().__init__(add_encoders=None)
        if isinstance(model, type) or not isinstance(model, LocalForecastingModel):
            raise TypeError(
                "`model` must be an instance of a Darts LocalForecastingModel (e.g. `ARIMA()`), "
                f"got {model!r}."
            )
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
            raise ValueError(f"`n_jobs` must be a non-zero integer (-1 for all cores), got {n_jobs!r}.")
        if not isinstance(refit_unseen, bool):
            raise ValueError(f"`refit_unseen` must be a bool, got {refit_unseen!r}.")
        self.template: LocalForecastingModel = model.untrained_model()
        self.n_jobs = n_jobs
        self.refit_unseen = refit_unseen
        self.fitted_models: list[LocalForecastingModel] = []
        self._lookup: dict[tuple, list[int]] | None = None

    # ----------------------------------------------------------------------------------- fit / predict
    def fit(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        verbose: bool | None = None,
    ) -> PerSeriesModel:
        """Fit one copy of the template per series.

        Parameters
        ----------
        series
            One or several target series.
        past_covariates
            Not supported (local models use no past covariates); must be ``None``.
        future_covariates
            One future covariate series per target series, if the template supports them.
        verbose
            Passed to the template's ``fit()``.

        Returns
        -------
        PerSeriesModel
            The fitted model.

        Raises
        ------
        SeriesFitError
            If a series is shorter than the template's ``min_train_series_length`` or fitting it fails; the
            message names the series index.
        """
        series_seq = self._as_list(series, "series")
        past_seq = self._as_list(past_covariates, "past_covariates", len(series_seq))
        future_seq = self._as_list(future_covariates, "future_covariates", len(series_seq))
        self._check_covariates(past_seq, future_seq)

        tasks = [(self.template, s, fc, i, verbose) for i, (s, fc) in enumerate(zip(series_seq, future_seq))]
        self.fitted_models = self._run(_fit_one, tasks)
        self._lookup = None
        super().fit(series, future_covariates=future_covariates, verbose=verbose)
        return self

    def predict(
        self,
        n: int,
        series: TimeSeries | Sequence[TimeSeries] | None = None,
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        num_samples: int = 1,
        verbose: bool | None = None,
        predict_likelihood_parameters: bool = False,
        show_warnings: bool = True,
        random_state: int | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Forecast ``n`` steps after the end of each series.

        Parameters
        ----------
        n
            Forecast horizon.
        series
            The series to forecast. May be omitted if the model was fit on a single series. Series not seen at
            fit time are refit (``refit_unseen=True``) or rejected (see the class notes).
        past_covariates
            Not supported; must be ``None``.
        future_covariates
            One future covariate series per target series, covering the ``n`` forecast steps, if the model was
            fit with future covariates.
        num_samples
            Number of samples of probabilistic forecasts (template must support them).
        verbose
            Passed to the template's ``predict()``.
        predict_likelihood_parameters
            Only accepted for API compatibility; local models have no likelihood.
        show_warnings
            Passed to the template's ``predict()``.
        random_state
            Seed of probabilistic forecasts, applied to each series.

        Returns
        -------
        TimeSeries or list of TimeSeries
            One forecast per series, matching the type of `series`.
        """
        if series is None and self._fit_called:
            if self.training_series is None:
                raise ValueError(
                    "The model was fit on several series: pass the `series` to forecast to `predict()`."
                )
            series = self.training_series
            if future_covariates is None:
                future_covariates = self.future_covariate_series
        super().predict(
            n,
            series=series,
            past_covariates=past_covariates,
            future_covariates=future_covariates,
            num_samples=num_samples,
            verbose=verbose,
            predict_likelihood_parameters=predict_likelihood_parameters,
            show_warnings=show_warnings,
            random_state=random_state,
        )
        called_with_single = isinstance(series, TimeSeries)
        series_seq = self._as_list(series, "series")
        past_seq = self._as_list(past_covariates, "past_covariates", len(series_seq))
        future_seq = self._as_list(future_covariates, "future_covariates", len(series_seq))
        self._check_covariates(past_seq, future_seq)

        kwargs = dict(
            n=n, num_samples=num_samples, verbose=verbose, show_warnings=show_warnings, random_state=random_state
        )
        forecasts: list[TimeSeries | None] = [None] * len(series_seq)
        unseen = []
        for i, (s, fc) in enumerate(zip(series_seq, future_seq)):
            j = self._find_fitted(s)
            if j is not None:
                forecasts[i] = _predict_one(self.fitted_models[j], fc, kwargs)
            elif self.refit_unseen:
                unseen.append(i)
            else:
                raise ValueError(
                    f"The series at index {i} (length {len(s)}, ending at {s.end_time()}) was not seen at fit "
                    "time; pass a series used in `fit()`, refit the model, or create it with `refit_unseen=True`."
                )
        tasks = [(self.template, series_seq[i], future_seq[i], i, verbose, kwargs) for i in unseen]
        for i, forecast in zip(unseen, self._run(_fit_predict_one, tasks)):
            forecasts[i] = forecast
        return forecasts[0] if called_with_single else forecasts

    # ------------------------------------------------------------------------------------------ helpers
    def _run(self, func, tasks: list[tuple]) -> list:
        """Call ``func(*task)`` for each task, with joblib processes when ``n_jobs != 1``."""
        if self.n_jobs == 1 or len(tasks) <= 1:
            return [func(*task) for task in tasks]
        return Parallel(n_jobs=self.n_jobs)(delayed(func)(*task) for task in tasks)

    @staticmethod
    def _as_list(series, name: str, expected: int | None = None) -> list:
        """Turn a series or sequence of series into a list; ``None`` becomes a list of ``None``."""
        if series is None:
            return [None] * (expected or 0)
        seq = [series] if isinstance(series, TimeSeries) else list(series)
        if not seq or not all(isinstance(s, TimeSeries) for s in seq):
            raise ValueError(f"`{name}` must be a TimeSeries or a non-empty sequence of TimeSeries.")
        if expected is not None and len(seq) != expected:
            raise ValueError(f"`{name}` holds {len(seq)} series but `series` holds {expected}; pass one per series.")
        return seq

    def _check_covariates(self, past_seq: list, future_seq: list) -> None:
        if any(pc is not None for pc in past_seq):
            raise ValueError(f"{self.template} is a local model and does not support `past_covariates`.")
        if any(fc is not None for fc in future_seq) and not self.supports_future_covariates:
            raise ValueError(f"{self.template} does not support `future_covariates`.")

    def _find_fitted(self, series: TimeSeries) -> int | None:
        """Index of the copy fitted on ``series`` (same end, frequency, components, and equal tail values)."""
        if self._lookup is None:
            self._lookup = {}
            for j, model in enumerate(self.fitted_models):
                self._lookup.setdefault(_tail_key(model.training_series), []).append(j)
        for j in self._lookup.get(_tail_key(series), ()):
            fitted = self.fitted_models[j].training_series
            if (
                len(fitted) <= len(series)
                and fitted.freq == series.freq
                and list(fitted.components) == list(series.components)
                and np.array_equal(
                    series.all_values(copy=False)[-len(fitted) :], fitted.all_values(copy=False), equal_nan=True
                )
            ):
                return j
        return None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lookup"] = None  # rebuilt on demand; keeps the pickle to Darts models and plain types
        return state

    # ------------------------------------------------------------------------ capabilities (template's)
    @property
    def supports_multivariate(self) -> bool:
        return self.template.supports_multivariate

    @property
    def supports_probabilistic_prediction(self) -> bool:
        return self.template.supports_probabilistic_prediction

    @property
    def likelihood(self):
        return self.template.likelihood

    @property
    def supports_past_covariates(self) -> bool:
        return False

    @property
    def supports_future_covariates(self) -> bool:
        return self.template.supports_future_covariates

    @property
    def supports_static_covariates(self) -> bool:
        return False

    @property
    def supports_sample_weight(self) -> bool:
        return False

    @property
    def supports_optimized_historical_forecasts(self) -> bool:
        return False

    @property
    def _supports_non_retrainable_historical_forecasts(self) -> bool:
        # without retraining, every forecast point is a shortened (unseen) series that must be refit
        return self.refit_unseen

    @property
    def _supports_range_index(self) -> bool:
        return self.template._supports_range_index

    @property
    def min_train_series_length(self) -> int:
        return self.template.min_train_series_length

    @property
    def min_train_samples(self) -> int:
        return self.template.min_train_samples

    @property
    def _target_window_lengths(self) -> tuple[int, int]:
        return self.template._target_window_lengths

    @property
    def extreme_lags(self) -> tuple:
        return self.template.extreme_lags

    @property
    def _model_encoder_settings(self) -> tuple:
        # encoders belong to the template; the wrapper adds none
        return None, None, False, False, None, None


def _register_safe_global() -> None:
    """Allow ``ForecastingModel.load()`` (restricted unpickler) to rebuild saved :class:`PerSeriesModel` objects."""
    if PerSeriesModel not in get_safe_globals():
        add_safe_globals([PerSeriesModel])


_register_safe_global()
