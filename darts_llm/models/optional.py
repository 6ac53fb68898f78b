"""Optional dependencies of the text models, with errors that say how to install them."""

from __future__ import annotations

import importlib

__all__ = ["require_peft"]


def require_peft() -> None:
    """Import ``peft`` (LoRA), or raise an ``ImportError`` that says how to install or repair it."""
    try:
        importlib.import_module("peft")
    except ModuleNotFoundError as err:
        if err.name != "peft":  # peft is there, one of its own imports is not
            raise _broken(err) from err
        raise ImportError(
            'encoder_finetuning="lora" needs the `peft` package, which is not installed. Install it with '
            '`pip install "darts-llm[lora]"`, or use encoder_finetuning="frozen" or "full".'
        ) from err
    except Exception as err:  # a broken install can raise anything at import time
        raise _broken(err) from err


def _broken(err: BaseException) -> ImportError:
    return ImportError(
        f'encoder_finetuning="lora" needs the `peft` package, which is installed but fails to import ({err!r}). '
        f'Reinstall it to match the installed torch and transformers (`pip install --force-reinstall '
        f'"darts-llm[lora]"`), or use encoder_finetuning="frozen" or "full".'
    )
