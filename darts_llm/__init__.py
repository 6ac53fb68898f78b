"""darts-llm: text as a first-class covariate for Darts forecasting models.

The public names below are imported on first use (PEP 562), so that ``import darts_llm`` and the
``darts-llm`` command stay fast: PyTorch, transformers and Darts load only when something needs them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    #: The installed distribution's version; its single source is ``version`` in ``pyproject.toml``.
    __version__ = version("darts-llm")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

#: Public name -> module that defines it.
_EXPORTS = {
    "DartsLLMError": "darts_llm.errors",
    "EmbeddingCache": "darts_llm.cache",
    "EncoderLoadError": "darts_llm.errors",
    "HuggingFaceEncoder": "darts_llm.encoders",
    "PluginError": "darts_llm.errors",
    "TextEncoder": "darts_llm.encoders",
    "TextInputError": "darts_llm.errors",
    "compare_text": "darts_llm.evaluation",
    "default_cache": "darts_llm.cache",
    "describe_comparison": "darts_llm.evaluation",
    "encode_catalogue_ray": "darts_llm.encoders",
    "get_encoder": "darts_llm.registry",
    "get_model_class": "darts_llm.registry",
    "hookimpl": "darts_llm.hookspecs",
    "list_encoders": "darts_llm.registry",
    "list_models": "darts_llm.registry",
    "plot_text_comparison": "darts_llm.evaluation",
    "pooled_wape": "darts_llm.evaluation",
    "replace_static_text": "darts_llm.evaluation",
    "tune_encoder_on_demand": "darts_llm.encoders",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'darts_llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
