"""TSMixer with text static covariates: :class:`TextTSMixerModel`."""

from __future__ import annotations

from darts.models import TSMixerModel
from darts.utils.serialization import add_safe_globals
from torch import nn

from darts_llm.models.base import TEXT_PARAMS_DOC, TextCovariatesMixin

__all__ = ["TextTSMixerModel"]


class TextTSMixerModel(TextCovariatesMixin, TSMixerModel):
    def __init__(
        self,
        input_chunk_length: int,
        output_chunk_length: int,
        output_chunk_shift: int = 0,
        hidden_size: int = 64,
        ff_size: int = 64,
        num_blocks: int = 2,
        activation: str = "ReLU",
        dropout: float = 0.1,
        norm_type: str | nn.Module = "LayerNorm",
        normalize_before: bool = False,
        use_static_covariates: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(
            input_chunk_length=input_chunk_length,
            output_chunk_length=output_chunk_length,
            output_chunk_shift=output_chunk_shift,
            hidden_size=hidden_size,
            ff_size=ff_size,
            num_blocks=num_blocks,
            activation=activation,
            dropout=dropout,
            norm_type=norm_type,
            normalize_before=normalize_before,
            use_static_covariates=use_static_covariates,
            **kwargs,
        )


TextTSMixerModel.__doc__ = (
    """TSMixer (:class:`darts.models.TSMixerModel`) that reads product text from the static covariates.

    Each text column is encoded by a pretrained transformer, projected to ``text_dim`` features and mixed by
    TSMixer's conditional (static) feature-mixing layers together with the numeric static covariates (passed
    through untouched).

    Parameters
    ----------
        input_chunk_length, output_chunk_length, output_chunk_shift, hidden_size, ff_size, num_blocks, activation,
        dropout, norm_type, normalize_before, use_static_covariates, **kwargs
            All parameters of :class:`darts.models.TSMixerModel` (and of ``TorchForecastingModel``).
            ``use_static_covariates`` must stay ``True``."""
    + TEXT_PARAMS_DOC
)

add_safe_globals([TextTSMixerModel])
