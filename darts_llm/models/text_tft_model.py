"""Temporal Fusion Transformer with text static covariates: :class:`TextTFTModel`."""

from __future__ import annotations

from darts.models import TFTModel
from darts.utils.likelihood_models.torch import TorchLikelihood
from darts.utils.serialization import add_safe_globals
from torch import nn

from darts_llm.models.base import TEXT_PARAMS_DOC, TextCovariatesMixin

__all__ = ["TextTFTModel"]


class TextTFTModel(TextCovariatesMixin, TFTModel):
    def __init__(
        self,
        input_chunk_length: int,
        output_chunk_length: int,
        output_chunk_shift: int = 0,
        hidden_size: int | list[int] = 16,
        lstm_layers: int = 1,
        num_attention_heads: int = 4,
        full_attention: bool = False,
        feed_forward: str = "GatedResidualNetwork",
        dropout: float = 0.1,
        hidden_continuous_size: int = 8,
        categorical_embedding_sizes: dict[str, int | tuple[int, int]] | None = None,
        add_relative_index: bool = False,
        skip_interpolation: bool = False,
        loss_fn: nn.Module | None = None,
        likelihood: TorchLikelihood | None = None,
        norm_type: str | nn.Module = "LayerNorm",
        use_static_covariates: bool = True,
        **kwargs,
    ):
        super().__init__(
            input_chunk_length=input_chunk_length,
            output_chunk_length=output_chunk_length,
            output_chunk_shift=output_chunk_shift,
            hidden_size=hidden_size,
            lstm_layers=lstm_layers,
            num_attention_heads=num_attention_heads,
            full_attention=full_attention,
            feed_forward=feed_forward,
            dropout=dropout,
            hidden_continuous_size=hidden_continuous_size,
            categorical_embedding_sizes=categorical_embedding_sizes,
            add_relative_index=add_relative_index,
            skip_interpolation=skip_interpolation,
            loss_fn=loss_fn,
            likelihood=likelihood,
            norm_type=norm_type,
            use_static_covariates=use_static_covariates,
            **kwargs,
        )


TextTFTModel.__doc__ = (
    """Temporal Fusion Transformer (:class:`darts.models.TFTModel`) that reads product text from the static
    covariates.

    Each text column is encoded by a pretrained transformer and projected to ``text_dim`` features, which enter
    TFT's static variable selection network as ``text_dim`` static variables next to the numeric static covariates
    (passed through untouched, categorical ones included via ``categorical_embedding_sizes``). As with ``TFTModel``,
    future covariates or ``add_relative_index=True`` are required, and the default likelihood is
    ``QuantileRegression()``.

    Parameters
    ----------
        input_chunk_length, output_chunk_length, output_chunk_shift, hidden_size, lstm_layers, num_attention_heads,
        full_attention, feed_forward, dropout, hidden_continuous_size, categorical_embedding_sizes, add_relative_index,
        skip_interpolation, loss_fn, likelihood, norm_type, use_static_covariates, **kwargs
            All parameters of :class:`darts.models.TFTModel` (and of ``TorchForecastingModel``).
            ``use_static_covariates`` must stay ``True``."""
    + TEXT_PARAMS_DOC
)

add_safe_globals([TextTFTModel])
