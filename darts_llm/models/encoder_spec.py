"""The text encoder of a text model as plain data, resolved at run time; quieting one Darts warning.

A text model stores its encoder as a *spec* (an alias, a model id, a folder, the constructor arguments of a
:class:`~darts_llm.HuggingFaceEncoder`, or a user's :class:`~darts_llm.TextEncoder` instance), never a loaded
model. :func:`resolve_encoder` turns a spec into an encoder, once per process for string specs.
"""

from __future__ import annotations

import contextlib
import logging

from darts_llm.encoders.base import TextEncoder
from darts_llm.encoders.huggingface import HuggingFaceEncoder

__all__ = ["encoder_key", "quiet_mask_channel_warning", "resolve_encoder"]

_ENCODERS: dict[str, TextEncoder] = {}


def resolve_encoder(spec) -> TextEncoder:
    """A :class:`TextEncoder` for ``spec``; string specs resolve once per process (weights load once)."""
    from darts_llm.registry import get_encoder

    if isinstance(spec, TextEncoder):
        return spec
    if isinstance(spec, dict):  # the spec of a HuggingFaceEncoder
        return HuggingFaceEncoder(**spec)
    key = "minilm" if spec is None else spec
    if isinstance(key, str) and key in _ENCODERS:
        return _ENCODERS[key]
    encoder = get_encoder(spec)
    if isinstance(key, str):
        _ENCODERS[key] = encoder
    return encoder


def encoder_key(spec):
    """Encoders compare by their settings (an encoder instance has no value equality)."""
    if isinstance(spec, HuggingFaceEncoder):
        return ("hf", tuple(sorted(spec.spec.items())), spec.device, spec.dtype)
    return spec


class _DropMaskWidthWarning(logging.Filter):
    """TiDE warns when it has fewer past covariates than ``temporal_width_past``; the mask channel is ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "features is <= `temporal_width_past`" not in record.getMessage()


@contextlib.contextmanager
def quiet_mask_channel_warning(active: bool):
    if not active:
        yield
        return
    darts_logger = logging.getLogger("darts.models.forecasting.tide_model")
    quiet = _DropMaskWidthWarning()
    darts_logger.addFilter(quiet)
    try:
        yield
    finally:
        darts_logger.removeFilter(quiet)
