"""Small helpers shared by the command line, the demo and the benchmark scripts."""

from __future__ import annotations

import logging
import warnings


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
