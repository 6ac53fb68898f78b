"""Temporal Fusion Transformer with text static covariates: :class:`TextTFTModel`."""

from __future__ import annotations

from darts.models import TFTModel
from darts.utils.serialization import add_safe_globals

from darts_llm.models.text_model import TextCovariatesMixin
from darts_llm.models.text_settings import text_model_doc

__all__ = ["TextTFTModel"]


class TextTFTModel(TextCovariatesMixin, TFTModel):
    __doc__ = text_model_doc(
        """Temporal Fusion Transformer (:class:`darts.models.TFTModel`) that reads product text from the static
    covariates.

    Each text column is encoded by a pretrained transformer and projected to ``text_dim`` features, which enter
    TFT's static variable selection network as ``text_dim`` static variables next to the numeric static covariates
    (passed through untouched, categorical ones included via ``categorical_embedding_sizes``). As with ``TFTModel``,
    future covariates or ``add_relative_index=True`` are required, and the default likelihood is
    ``QuantileRegression()``.""",
        TFTModel,
    )


add_safe_globals([TextTFTModel])
