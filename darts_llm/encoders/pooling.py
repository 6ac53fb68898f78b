"""Pooling of token states into one vector per text."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when pooling runs, not when darts_llm is imported
    import torch

POOLING_MODES = ("mean", "cls", "last")


def check_pooling(pooling: str) -> str:
    """Return ``pooling`` if valid, else raise a ``ValueError`` naming the valid modes."""
    if pooling not in POOLING_MODES:
        raise ValueError(
            f"`pooling` must be one of {POOLING_MODES}, got {pooling!r}. Use 'mean' for BERT-like "
            f"sentence encoders, 'cls' for models trained on the first token, 'last' for decoder-only LLMs."
        )
    return pooling


def pool(
    hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str
) -> torch.Tensor:
    """Pool token states into one vector per sequence.

    Parameters
    ----------
    hidden
        Token states of shape ``(batch, seq_len, hidden)``.
    attention_mask
        1 for real tokens, 0 for padding, shape ``(batch, seq_len)``. Left and right padding both work.
    pooling
        ``"mean"`` (average over real tokens), ``"cls"`` (first position) or ``"last"`` (last real token, for
        decoder-only models).

    Returns
    -------
    torch.Tensor
        Shape ``(batch, hidden)``. A sequence without any real token pools to zeros.
    """
    import torch

    check_pooling(pooling)
    mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
    if pooling == "mean":
        summed = (hidden * mask).sum(dim=1)
        count = mask.sum(dim=1).clamp(min=1.0)
        return summed / count
    if pooling == "cls":
        return hidden[:, 0]
    # last real token: the highest position whose mask is 1 (works for left and right padding)
    seq_len = attention_mask.shape[1]
    positions = torch.arange(seq_len, device=attention_mask.device).expand_as(
        attention_mask
    )
    last = torch.where(attention_mask.bool(), positions, -1).max(dim=1).values
    has_token = (last >= 0).to(hidden.dtype).unsqueeze(-1)
    picked = hidden[torch.arange(hidden.shape[0], device=hidden.device), last.clamp(min=0)]
    return picked * has_token
