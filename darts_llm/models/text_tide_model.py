"""TiDE with text static covariates: :class:`TextTiDEModel`."""

from __future__ import annotations

from darts.models import TiDEModel
from darts.utils.serialization import add_safe_globals

from darts_llm.models.text_model import TextCovariatesMixin
from darts_llm.models.text_settings import text_model_doc

__all__ = ["TextTiDEModel"]


class TextTiDEModel(TextCovariatesMixin, TiDEModel):
    __doc__ = text_model_doc(
        """TiDE (:class:`darts.models.TiDEModel`) that reads product text from the static covariates.

    String static covariate columns (e.g. a product description attached with
    ``TimeSeries.from_group_dataframe(..., static_cols=["description", "price"])``) are encoded by a pretrained
    transformer, projected to ``text_dim`` features and fed to TiDE's own static-covariate input, next to the
    numeric static covariates (passed through untouched). Use it like ``TiDEModel``: ``fit``, ``predict``,
    ``historical_forecasts``, ensembles, ``save``/``load`` and checkpoints work the same.""",
        TiDEModel,
        examples="""    >>> from darts import TimeSeries
    >>> from darts_llm.models import TextTiDEModel
    >>> series = TimeSeries.from_group_dataframe(  # doctest: +SKIP
    ...     df, group_cols="sku", time_col="week", value_cols="qty", static_cols=["description", "price"])
    >>> model = TextTiDEModel(input_chunk_length=12, output_chunk_length=4, n_epochs=20)  # doctest: +SKIP
    >>> model.fit(series)  # doctest: +SKIP
    >>> forecasts = model.predict(4, series=series)  # doctest: +SKIP""",
    )


add_safe_globals([TextTiDEModel])
