"""Small helpers shared by the package, the command line, the demo and the benchmark scripts."""

from __future__ import annotations

import logging
import numbers
import warnings


def positive_int(value, name: str) -> int:
    """``value`` as an int; a ``ValueError`` naming the parameter ``name`` unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


def positive_or_none(value, name: str, expected: str):
    """``value`` when it is None or a positive number, else a ValueError naming ``name`` and what it must be."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0):
        raise ValueError(f"`{name}` must be {expected}, got {value!r}.")
    return value


def quiet_training_output() -> None:
    """Silence library warnings and info logs, keeping progress bars and results (for scripts, not libraries)."""
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric",
                 "darts", "darts_llm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
