"""Text encoders: the :class:`TextEncoder` interface, its Hugging Face implementation, and catalogue encoding on
Ray (:func:`encode_catalogue_ray`)."""

from darts_llm.encoders.base import TextEncoder, clean_texts, is_missing
from darts_llm.encoders.demand_tuning import DemandTuningResult, tune_encoder_on_demand
from darts_llm.encoders.huggingface import DEFAULT_MODEL_ID, HuggingFaceEncoder
from darts_llm.encoders.pooling import POOLING_MODES, pool
from darts_llm.encoders.ray_catalogue import CatalogueEncoding, encode_catalogue_ray

__all__ = [
    "CatalogueEncoding",
    "DEFAULT_MODEL_ID",
    "DemandTuningResult",
    "POOLING_MODES",
    "HuggingFaceEncoder",
    "TextEncoder",
    "clean_texts",
    "encode_catalogue_ray",
    "is_missing",
    "pool",
    "tune_encoder_on_demand",
]
