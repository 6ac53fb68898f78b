"""Forecasts for products without sales history: :class:`NewProductForecasts`, a part of every text model.

A text model created with ``min_input_chunk_length`` masks unobserved steps (see
:mod:`darts_llm.models.cold_start`), so a series without a single observation is a valid input: its forecast
comes from the text, the numeric static covariates and the covariates. :meth:`NewProductForecasts.predict_new_products`
builds such series from a table of new products and forecasts them through the normal ``predict`` path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.models.cold_start import new_product_series

__all__ = ["NewProductForecasts"]


class NewProductForecasts:
    """The new-product methods of the text models (mixed into :class:`~darts_llm.models.TextCovariatesMixin`)."""

    def new_product_series(self, static_covariates: pd.DataFrame, start) -> list[TimeSeries]:
        """Target series without any observation for new products: what :meth:`predict_new_products` forecasts.

        Each series holds ``min_input_chunk_length`` NaN steps ending one step before ``start``, on the
        frequency of the training series, and carries one row of ``static_covariates``. Use them like any
        series (``predict``, :func:`~darts_llm.models.explain.explain_text`); with future covariates, these must
        start at the series' start.

        Parameters
        ----------
        static_covariates
            One row per product, with every static covariate column the model was fitted with (other columns
            are ignored).
        start
            The first forecast step (a timestamp, or an integer for series with a range index).
        """
        name = type(self).__name__
        schema, target = self._text_schema, self._target_layout
        if self.model is None or schema is None:
            raise_log(ValueError(f"{name} must be fitted before forecasting new products; call `fit()` first."))
        if not self.masks_missing_history:
            raise_log(
                ValueError(
                    f"This {name} was fitted without `min_input_chunk_length`, so it needs "
                    f"{self.input_chunk_length} observed steps per series and cannot forecast products without "
                    f"history. Create the model with e.g. `min_input_chunk_length=1` (and `short_history_prob=0.2`, "
                    f"the default then: training samples without history) and fit it again."
                )
            )
        if isinstance(static_covariates, pd.Series):
            static_covariates = static_covariates.to_frame().T
        if not isinstance(static_covariates, pd.DataFrame):
            raise_log(
                ValueError(
                    f"`static_covariates` must be a pandas DataFrame with one row per product and the columns "
                    f"{list(schema.columns)}; got {type(static_covariates).__name__}."
                )
            )
        if static_covariates.empty:
            raise_log(ValueError("`static_covariates` has no rows; give one row per new product."))
        missing = [c for c in list(schema.columns) if c not in static_covariates.columns]
        if missing:
            raise_log(
                ValueError(
                    f"`static_covariates` lacks the columns {missing}; {name} was fitted with the static "
                    f"covariates {list(schema.columns)} (text in {list(schema.text_cols)})."
                )
            )
        frame = static_covariates[list(schema.columns)]
        numeric = frame[list(schema.numeric_cols)]
        if len(numeric.columns):
            try:
                bad = numeric.astype(float).isna().any()
            except (TypeError, ValueError) as err:
                raise_log(ValueError(f"The numeric static covariates {list(schema.numeric_cols)} must be numbers: {err}"))
            if bad.any():
                raise_log(
                    ValueError(f"The numeric static covariates {list(bad[bad].index)} of `static_covariates` are missing.")
                )
        if target is None:
            raise_log(ValueError(f"This {name} does not know the frequency of its training series; fit it again."))
        freq = target.freq
        if isinstance(freq, int | np.integer) != isinstance(start, int | np.integer):
            kind = "an integer" if isinstance(freq, int | np.integer) else "a timestamp"
            raise_log(ValueError(f"`start` must be {kind} like the training series' time index, got {start!r}."))
        return new_product_series(
            frame,
            start,
            freq,
            length=self.min_input_chunk_length,
            components=target.components,
            dtype=np.dtype(target.dtype),
        )

    def predict_new_products(
        self,
        static_covariates: pd.DataFrame,
        start,
        n: int,
        num_samples: int = 1,
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        **predict_kwargs,
    ) -> list[TimeSeries]:
        """Forecast products that have no sales history yet, from their text and other static covariates.

        Needs a model created with ``min_input_chunk_length``. Each product gets a target series with no
        observation (:meth:`new_product_series`), which the network reads as fully masked history; the forecast
        comes from the text, the numeric static covariates and the covariates. Products with some history are
        forecast with ``predict`` on their (short) series as usual.

        Parameters
        ----------
        static_covariates
            One row per product, with the static covariate columns the model was fitted with (e.g.
            ``description`` and ``price``); extra columns are ignored.
        start
            The first forecast step (a timestamp on the training series' frequency; an integer for range indexes).
        n
            Forecast horizon.
        num_samples
            Number of samples of probabilistic forecasts (models with a ``likelihood``).
        past_covariates, future_covariates
            As for ``predict``: one series per product, or one series shared by all. Future covariates must cover
            ``min_input_chunk_length`` steps before ``start`` up to the horizon.
        **predict_kwargs
            Other arguments of ``predict`` (``random_state``, ``mc_dropout``, ``batch_size``, ...).

        Returns
        -------
        list[TimeSeries]
            One forecast per row of ``static_covariates``, starting at ``start``, carrying the row as static
            covariates.
        """
        series = self.new_product_series(static_covariates, start)

        def per_product(covariates, name):
            if covariates is None or not isinstance(covariates, TimeSeries):
                if covariates is not None and len(covariates) != len(series):
                    raise_log(
                        ValueError(
                            f"`{name}` must be one series, or one per product ({len(series)}); got {len(covariates)}."
                        )
                    )
                return covariates
            return [covariates] * len(series)

        return self.predict(
            n,
            series=series,
            past_covariates=per_product(past_covariates, "past_covariates"),
            future_covariates=per_product(future_covariates, "future_covariates"),
            num_samples=num_samples,
            **predict_kwargs,
        )
