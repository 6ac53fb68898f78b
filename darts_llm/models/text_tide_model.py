"""TiDE with text static covariates: :class:`TextTiDEModel`."""

from __future__ import annotations

from darts.models import TiDEModel
from darts.utils.serialization import add_safe_globals

from darts_llm.models.base import TEXT_PARAMS_DOC, TextCovariatesMixin

__all__ = ["TextTiDEModel"]


class TextTiDEModel(TextCovariatesMixin, TiDEModel):
    def __init__(
        self,
        input_chunk_length: int,
        output_chunk_length: int,
        output_chunk_shift: int = 0,
        num_encoder_layers: int = 1,
        num_decoder_layers: int = 1,
        decoder_output_dim: int = 16,
        hidden_size: int = 128,
        temporal_width_past: int = 4,
        temporal_width_future: int = 4,
        temporal_hidden_size_past: int | None = None,
        temporal_hidden_size_future: int | None = None,
        temporal_decoder_hidden: int = 32,
        use_layer_norm: bool = False,
        dropout: float = 0.1,
        use_static_covariates: bool = True,
        **kwargs,
    ):
        super().__init__(
            input_chunk_length=input_chunk_length,
            output_chunk_length=output_chunk_length,
            output_chunk_shift=output_chunk_shift,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            decoder_output_dim=decoder_output_dim,
            hidden_size=hidden_size,
            temporal_width_past=temporal_width_past,
            temporal_width_future=temporal_width_future,
            temporal_hidden_size_past=temporal_hidden_size_past,
            temporal_hidden_size_future=temporal_hidden_size_future,
            temporal_decoder_hidden=temporal_decoder_hidden,
            use_layer_norm=use_layer_norm,
            dropout=dropout,
            use_static_covariates=use_static_covariates,
            **kwargs,
        )


TextTiDEModel.__doc__ = (
    """TiDE (:class:`darts.models.TiDEModel`) that reads product text from the static covariates.

    String static covariate columns (e.g. a product description attached with
    ``TimeSeries.from_group_dataframe(..., static_cols=["description", "price"])``) are encoded by a pretrained
    transformer, projected to ``text_dim`` features and fed to TiDE's own static-covariate input, next to the
    numeric static covariates (passed through untouched). Use it like ``TiDEModel``: ``fit``, ``predict``,
    ``historical_forecasts``, ensembles, ``save``/``load`` and checkpoints work the same.

    Parameters
    ----------
        input_chunk_length, output_chunk_length, output_chunk_shift, num_encoder_layers, num_decoder_layers,
        decoder_output_dim, hidden_size, temporal_width_past, temporal_width_future, temporal_hidden_size_past,
        temporal_hidden_size_future, temporal_decoder_hidden, use_layer_norm, dropout, use_static_covariates, **kwargs
            All parameters of :class:`darts.models.TiDEModel` (and of ``TorchForecastingModel``: ``n_epochs``,
            ``batch_size``, ``likelihood``, ``optimizer_kwargs``, ``pl_trainer_kwargs``, ``random_state``, ...).
            ``use_static_covariates`` must stay ``True``."""
    + TEXT_PARAMS_DOC
    + """
    Examples
    --------
    >>> from darts import TimeSeries
    >>> from darts_llm.models import TextTiDEModel
    >>> series = TimeSeries.from_group_dataframe(  # doctest: +SKIP
    ...     df, group_cols="sku", time_col="week", value_cols="qty", static_cols=["description", "price"])
    >>> model = TextTiDEModel(input_chunk_length=12, output_chunk_length=4, n_epochs=20)  # doctest: +SKIP
    >>> model.fit(series)  # doctest: +SKIP
    >>> forecasts = model.predict(4, series=series)  # doctest: +SKIP
    """
)

add_safe_globals([TextTiDEModel])
