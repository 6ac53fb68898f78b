"""Forecasting models: text-aware twins of Darts torch models, and a per-series wrapper for local models.

- :class:`TextTiDEModel`, :class:`TextTFTModel`, :class:`TextTSMixerModel`, :class:`TextBlockRNNModel`: Darts
  models that read string static covariates (product descriptions) through a pretrained text encoder.
- :class:`TextAnalogModel`: new products forecast from the launches of the products with the most similar
  texts, aligned on age; :class:`LaunchCurveModel` is its twin without text (a category, price band or all
  products).
- :class:`PerSeriesModel`: a Darts local model fitted per series, usable as a global model.
- :func:`explain_text`: the text contribution to a forecast and the nearest known products by text.

New products: text models created with ``min_input_chunk_length`` forecast short histories and, with
``predict_new_products``, products without any history (see :mod:`darts_llm.models.cold_start`).

Importing this package registers the model classes with ``darts.utils.serialization.add_safe_globals``, so that
Darts' safe loading accepts them.
"""

from darts_llm.models.text_model import TextCovariatesMixin
from darts_llm.models.explain import (
    TextExplanation,
    explain_text,
    plot_text_explanation,
)
from darts_llm.models.fusion import TextFusionModule
from darts_llm.models.launch_curve_model import LaunchCurveModel
from darts_llm.models.per_series import PerSeriesModel, SeriesFitError
from darts_llm.models.text_analog_model import TextAnalogModel
from darts_llm.models.text_block_rnn_model import TextBlockRNNModel
from darts_llm.models.text_tft_model import TextTFTModel
from darts_llm.models.text_tide_model import TextTiDEModel
from darts_llm.models.text_tsmixer_model import TextTSMixerModel

__all__ = [
    "LaunchCurveModel",
    "PerSeriesModel",
    "SeriesFitError",
    "TextAnalogModel",
    "TextBlockRNNModel",
    "TextCovariatesMixin",
    "TextExplanation",
    "TextFusionModule",
    "TextTFTModel",
    "TextTSMixerModel",
    "TextTiDEModel",
    "explain_text",
    "plot_text_explanation",
]
