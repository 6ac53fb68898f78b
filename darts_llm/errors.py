"""Exceptions raised by darts-llm.

Every error names the bad parameter or input and says how to fix it.
"""

from __future__ import annotations


class DartsLLMError(Exception):
    """Base class of all darts-llm errors."""


class EncoderLoadError(DartsLLMError, OSError):
    """A text encoder could not be resolved or loaded."""


class TextInputError(DartsLLMError, ValueError):
    """Text input is of the wrong type or shape."""


class PluginError(DartsLLMError, ValueError):
    """A plugin registered something invalid (e.g. a duplicate name)."""
