"""Device and dtype settings of the Hugging Face encoder (``torch`` is imported only when they are resolved)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> "torch.device":
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device`` reads it."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype, device: "torch.device") -> "torch.dtype":
    """The dtype the weights run in: half precision only on a GPU (float32 on a CPU, with a warning)."""
    import torch

    if dtype is None or dtype == "auto":
        return torch.float32
    if isinstance(dtype, torch.dtype):
        resolved = dtype
    else:
        names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                 "float16": torch.float16, "fp16": torch.float16}
        if dtype not in names:
            raise ValueError(f"`dtype` must be one of {sorted(names)} or None, got {dtype!r}.")
        resolved = names[dtype]
    if resolved != torch.float32 and device.type == "cpu":
        logger.warning("dtype %s requested on CPU; using float32 instead.", resolved)
        return torch.float32
    return resolved
