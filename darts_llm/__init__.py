"""darts-llm: text as a first-class covariate for Darts forecasting models."""

from darts_llm.cache import EmbeddingCache, default_cache
from darts_llm.encoders import HuggingFaceEncoder, TextEncoder
from darts_llm.errors import DartsLLMError, EncoderLoadError, PluginError, TextInputError
from darts_llm.hookspecs import hookimpl
from darts_llm.registry import get_encoder, get_model_class, list_encoders, list_models

__version__ = "0.1.0"

__all__ = [
    "DartsLLMError",
    "EmbeddingCache",
    "EncoderLoadError",
    "HuggingFaceEncoder",
    "PluginError",
    "TextEncoder",
    "TextInputError",
    "default_cache",
    "get_encoder",
    "get_model_class",
    "hookimpl",
    "list_encoders",
    "list_models",
]
