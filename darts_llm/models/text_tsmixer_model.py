"""TSMixer with text static covariates: :class:`TextTSMixerModel`."""

from __future__ import annotations

from darts.models import TSMixerModel
from darts.utils.serialization import add_safe_globals

from darts_llm.models.text_model import TextCovariatesMixin
from darts_llm.models.text_settings import text_model_doc

__all__ = ["TextTSMixerModel"]


class TextTSMixerModel(TextCovariatesMixin, TSMixerModel):
    __doc__ = text_model_doc(
        """TSMixer (:class:`darts.models.TSMixerModel`) that reads product text from the static covariates.

    Each text column is encoded by a pretrained transformer, projected to ``text_dim`` features and mixed by
    TSMixer's conditional (static) feature-mixing layers together with the numeric static covariates (passed
    through untouched).""",
        TSMixerModel,
    )


add_safe_globals([TextTSMixerModel])
