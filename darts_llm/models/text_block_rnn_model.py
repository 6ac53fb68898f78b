"""Block RNN (LSTM/GRU) with text static covariates: :class:`TextBlockRNNModel`."""

from __future__ import annotations

from darts.models import BlockRNNModel
from darts.models.forecasting.block_rnn_model import CustomBlockRNNModule
from darts.utils.serialization import add_safe_globals

from darts_llm.models.base import TEXT_PARAMS_DOC, TextCovariatesMixin

__all__ = ["TextBlockRNNModel"]


class TextBlockRNNModel(TextCovariatesMixin, BlockRNNModel):
    def __init__(
        self,
        input_chunk_length: int,
        output_chunk_length: int,
        output_chunk_shift: int = 0,
        model: str | type[CustomBlockRNNModule] = "LSTM",
        hidden_dim: int = 25,
        n_rnn_layers: int = 1,
        hidden_fc_sizes: list | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        use_static_covariates: bool = True,
        **kwargs,
    ):
        super().__init__(
            input_chunk_length=input_chunk_length,
            output_chunk_length=output_chunk_length,
            output_chunk_shift=output_chunk_shift,
            model=model,
            hidden_dim=hidden_dim,
            n_rnn_layers=n_rnn_layers,
            hidden_fc_sizes=hidden_fc_sizes,
            dropout=dropout,
            activation=activation,
            use_static_covariates=use_static_covariates,
            **kwargs,
        )


TextBlockRNNModel.__doc__ = (
    """Block RNN (:class:`darts.models.BlockRNNModel`, LSTM by default) that reads product text from the static
    covariates.

    Each text column is encoded by a pretrained transformer and projected to ``text_dim`` features, which the
    block RNN appends to every input step together with the numeric static covariates (passed through untouched).

    Parameters
    ----------
        input_chunk_length, output_chunk_length, output_chunk_shift, model, hidden_dim, n_rnn_layers,
        hidden_fc_sizes, dropout, activation, use_static_covariates, **kwargs
            All parameters of :class:`darts.models.BlockRNNModel` (and of ``TorchForecastingModel``). Unlike
            ``BlockRNNModel`` (default ``"RNN"``), ``model`` defaults to ``"LSTM"``; ``"GRU"``, ``"RNN"`` or a
            ``CustomBlockRNNModule`` subclass work as well. ``use_static_covariates`` must stay ``True``."""
    + TEXT_PARAMS_DOC
)

add_safe_globals([TextBlockRNNModel])
