"""The catalogue side of the launch models: forecasts for upcoming products, and the analog curve as covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.models.launch_curves import future_index, launch_of, time_value
from darts_llm.utils import positive_int

__all__ = ["LaunchCatalogueMixin"]


class LaunchCatalogueMixin:
    """:meth:`predict_new_products` and :meth:`launch_covariates` of
    :class:`~darts_llm.models.launch_model.LaunchForecastingModel`."""

    def predict_new_products(
        self,
        products: pd.DataFrame,
        n: int,
        start=None,
        launch_col: str | None = None,
        num_samples: int = 1,
        random_state: int | None = None,
    ) -> list[TimeSeries]:
        """Forecasts for a catalogue of upcoming products, from their launch onwards.

        Parameters
        ----------
        products
            One row per product with the static covariate columns the model was fitted with (e.g. ``description``
            and ``price``); other columns are ignored (except ``launch_col``).
        n
            Steps to forecast from each product's launch.
        start
            The launch (first forecast step) of every product, on the training series' frequency. Give either
            ``start`` or ``launch_col``.
        launch_col
            A column of ``products`` with each product's planned launch date (or integer step).
        num_samples, random_state
            As in :meth:`predict`.

        Returns
        -------
        list[TimeSeries]
            One forecast per row, starting at its launch, with the row's static covariates.
        """
        series = self.new_product_series(products, start=start, launch_col=launch_col)
        return self.predict(n, series=series, num_samples=num_samples, random_state=random_state)

    def _empty_series(self, start, static: pd.DataFrame, row: int) -> TimeSeries:
        freq = self._freq
        if isinstance(freq, int | np.integer):
            if not isinstance(start, int | np.integer):
                raise_log(ValueError(f"The launch of product {row} (`start` or the `launch_col` value) must be an "
                                     f"integer step like the training series' index, got {start!r}."))
            index = pd.RangeIndex(int(start) - int(freq), int(start), int(freq))
        else:
            try:
                first = pd.Timestamp(start)
            except (TypeError, ValueError):
                first = pd.NaT
            if pd.isna(first):
                raise_log(ValueError(f"The launch of product {row} (`start` or the `launch_col` value) must be a "
                                     f"date, got {start!r}."))
            index = pd.date_range(end=first - freq, periods=1, freq=freq)
            if index[-1] + freq != first:
                raise_log(
                    ValueError(
                        f"The launch of product {row}, {first}, is not on the training series' frequency "
                        f"({freq.freqstr}); give a date a series could have, e.g. {index[-1] + freq}."
                    )
                )
        return TimeSeries.from_times_and_values(
            index, np.full((1, 1), np.nan, dtype=np.float32), columns=[self._component], static_covariates=static
        )

    def analogs(self, series, top: int | None = None) -> list[pd.DataFrame]:
        """The earlier launches a forecast of each series reads, most similar first.

        Parameters
        ----------
        series
            The products (as for :meth:`predict`; use :meth:`new_product_series` for products without a series).
        top
            Number of analogs per product (default: all of those the forecast uses).

        Returns
        -------
        list[pandas.DataFrame]
            Per series: one row per analog with its static covariates, ``similarity``, ``weight`` (its share of
            the shape), ``launch`` (time of its first sale) and ``curve`` (its sales by age, known before the
            series' forecast start; NaN where not known yet).
        """
        self._check_fitted()
        items = self._as_list(series, "series")
        static = self._static_frame(items, "series")
        launches = [launch_of(s) for s in items]
        out = []
        for (sims, _), launch in zip(self._each_query(static, launches), launches):
            cutoff = time_value(launch.start)
            known = self._library.known(cutoff)
            levels = self._library.levels(known)
            weights = self._weights(sims, np.isfinite(levels))
            order = [i for i in np.argsort(-sims, kind="stable") if weights[i] > 0][:top]
            frame = self._library_static.iloc[order].reset_index(drop=True)
            frame["similarity"] = sims[order]
            frame["weight"] = weights[order]
            frame["launch"] = [_as_time(self._library.age_times[i, 0], self._freq) for i in order]
            frame["curve"] = [np.where(known[i], np.expm1(self._library.curves[i]), np.nan) for i in order]
            out.append(frame)
        return out

    def new_product_series(self, products: pd.DataFrame, start=None, launch_col: str | None = None) -> list[TimeSeries]:
        """Series without sales for products not launched yet, ending one step before each launch.

        The input of :meth:`predict`, :meth:`analogs` and :meth:`launch_covariates` for products that have no
        series; :meth:`predict_new_products` forecasts them in one call. Arguments as there.
        """
        self._check_fitted()
        if not isinstance(products, pd.DataFrame) or products.empty:
            raise_log(ValueError("`products` must be a non-empty pandas DataFrame with one row per product."))
        if (start is None) == (launch_col is None):
            raise_log(ValueError("Give exactly one of `start` (one launch for all products) or `launch_col`."))
        if launch_col is not None and launch_col not in products.columns:
            raise_log(ValueError(f"`launch_col` {launch_col!r} is not a column of `products` ({list(products.columns)})."))
        missing = [c for c in self._columns if c not in products.columns]
        if missing:
            raise_log(
                ValueError(f"`products` lacks the columns {missing}; the model was fitted with {list(self._columns)}.")
            )
        starts = products[launch_col].tolist() if launch_col is not None else [start] * len(products)
        return [
            self._empty_series(first, products.iloc[[row]][list(self._columns)].reset_index(drop=True), row)
            for row, first in enumerate(starts)
        ]

    def launch_covariates(self, series, n: int) -> list[TimeSeries]:
        """The analog launch curve as future covariates of another model (retrieval-augmented forecasting).

        For each series, from its start to ``n`` steps after its end: ``analog_level`` (the analogs' expected
        ``log1p`` sales at the product's age at each step: level prior + shape, without the product's own sales),
        ``launched`` (0 before the first sale, 1 from it; a product not sold yet launches at the step after the
        series) and ``age`` (``log1p`` of the age, scaled to 1 at ``max_age``). The analogs and their curves are
        those known before the step after each series' end; the level prior (its regression and its correction by
        the latest launches) is the one fitted on the whole training series, so fit the model on the sales before
        the forecast origin for covariates free of look-ahead.
        Training windows of another model read the curve as known at their series' end, not at each window's
        start: cut the training series where their forecasts would be made to keep training and prediction alike.

        Parameters
        ----------
        series
            The products (as for :meth:`predict`).
        n
            Steps after each series' end to cover (the forecast horizon of the model that reads them).
        """
        self._check_fitted()
        n = positive_int(n, "n")
        items = self._as_list(series, "series")
        static = self._static_frame(items, "series")
        launches = [launch_of(s) for s in items]
        out = []
        for s, launch, (sims, design) in zip(items, launches, self._each_query(static, launches)):
            length = len(s) + n
            first = launch.position if launch.position is not None else len(s)
            age = np.arange(length) - first
            ages = np.clip(age, 0, None)
            _, analog_level, shape, _, _ = self._analog_curve(sims, time_value(launch.start), ages)
            prior, _ = self._prior.predict(analog_level, design)
            launched = (age >= 0).astype(np.float32)
            values = np.stack(
                [
                    np.where(launched > 0, np.clip(prior + shape, 0.0, None), 0.0),
                    launched,
                    np.log1p(np.clip(ages, 0, self.max_age)) / np.log1p(self.max_age),
                ],
                axis=1,
            ).astype(np.float32)
            times = s.time_index.append(future_index(s, n))
            out.append(TimeSeries.from_times_and_values(times, values, columns=["analog_level", "launched", "age"]))
        return out


def _as_time(value: int, freq):
    return int(value) if isinstance(freq, int | np.integer) else pd.Timestamp(value)
