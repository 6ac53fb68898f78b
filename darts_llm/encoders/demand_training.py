"""The training loop of :func:`~darts_llm.encoders.tune_encoder_on_demand`: read-outs, loss and early stopping.

Two read-outs of the pooled (and, like the saved encoder, normalised) embedding are trained with the transformer:

- a linear head, started at the ridge regression of the targets on the frozen embeddings;
- optionally (``neighbour_weight > 0``), a neighbour read-out: a text's target predicted by the mean of the other
  training texts' targets, weighted by ``softmax(cosine similarity / temperature)``. The other texts' embeddings
  come from a memory holding the latest embedding of every training text, refreshed with each batch.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from darts_llm.encoders.huggingface import HuggingFaceEncoder

__all__ = ["TuningSettings", "embed_all", "neighbour_prediction", "ridge_head", "train_on_demand"]

#: Default learning rates of the encoder weights per mode (the head uses ``head_learning_rate``).
DEFAULT_LEARNING_RATES = {"lora": 5e-4, "full": 3e-5}
_RIDGE_ALPHAS = np.logspace(-3, 3, 13)


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _number(value, name: str, positive: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"`{name}` must be a {'positive' if positive else 'non-negative'} finite number, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class TuningSettings:
    """The checked settings of a demand-tuning run (see :func:`~darts_llm.encoders.tune_encoder_on_demand`)."""

    mode: str
    epochs: int
    batch_size: int
    learning_rate: float | None
    head_learning_rate: float
    weight_decay: float
    neighbour_weight: float
    neighbour_temperature: float
    encoder_dropout: bool
    validation_fraction: float
    patience: int
    random_state: int
    lora: dict[str, Any] | None = None

    def __post_init__(self):
        if self.mode not in DEFAULT_LEARNING_RATES:
            raise ValueError(f"`mode` must be one of {tuple(DEFAULT_LEARNING_RATES)}, got {self.mode!r}.")
        fix = object.__setattr__
        fix(self, "epochs", _positive_int(self.epochs, "epochs"))
        fix(self, "batch_size", _positive_int(self.batch_size, "batch_size", 2))
        fix(self, "patience", _positive_int(self.patience, "patience"))
        fix(self, "random_state", _positive_int(self.random_state, "random_state", 0))
        lr = DEFAULT_LEARNING_RATES[self.mode] if self.learning_rate is None else self.learning_rate
        fix(self, "learning_rate", _number(lr, "learning_rate", positive=True))
        fix(self, "head_learning_rate", _number(self.head_learning_rate, "head_learning_rate", positive=True))
        fix(self, "neighbour_temperature", _number(self.neighbour_temperature, "neighbour_temperature", positive=True))
        for name in ("weight_decay", "neighbour_weight", "validation_fraction"):
            fix(self, name, _number(getattr(self, name), name))
        if self.validation_fraction >= 1:
            raise ValueError(f"`validation_fraction` must be in [0, 1), got {self.validation_fraction!r}.")
        if not isinstance(self.encoder_dropout, (bool, np.bool_)):
            raise ValueError(f"`encoder_dropout` must be True or False, got {self.encoder_dropout!r}.")
        fix(self, "encoder_dropout", bool(self.encoder_dropout))

    def as_record(self) -> dict[str, Any]:
        """The settings as plain data (for the folder's training record)."""
        return asdict(self)


def ridge_head(embeddings: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(k, dim)`` and bias ``(k,)`` of the ridge regression of ``targets`` on ``embeddings`` (RidgeCV)."""
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=_RIDGE_ALPHAS).fit(embeddings, targets)
    return np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)


def neighbour_prediction(query: torch.Tensor, memory: torch.Tensor, memory_targets: torch.Tensor,
                         temperature: float, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Targets predicted as the ``softmax(cosine / temperature)``-weighted mean of ``memory_targets``.

    ``exclude[i]`` is the memory row of query ``i`` itself, left out of its own prediction.
    """
    import torch

    unit = torch.nn.functional.normalize
    logits = unit(query, dim=-1) @ unit(memory, dim=-1).T / temperature
    if exclude is not None:
        logits = logits.index_put((torch.arange(len(query), device=query.device), exclude),
                                  torch.tensor(float("-inf"), device=query.device))
    return torch.softmax(logits, dim=-1) @ memory_targets


def embed_all(encoder: HuggingFaceEncoder, transformer, texts: list[str], batch_size: int, device) -> torch.Tensor:
    """Embeddings of ``texts`` through ``transformer`` with ``encoder``'s tokenizer, pooling and normalisation."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = encoder.tokenize(texts[start : start + batch_size])
            out.append(encoder.embed(transformer, batch["input_ids"].to(device), batch["attention_mask"].to(device)))
    return torch.cat(out).float()


def _trainable(transformer, head) -> dict[str, torch.nn.Parameter]:
    params = {f"t.{n}": p for n, p in transformer.named_parameters() if p.requires_grad}
    params.update({f"h.{n}": p for n, p in head.named_parameters()})
    return params


def train_on_demand(encoder: HuggingFaceEncoder, transformer, head, texts: list[str], scaled: torch.Tensor,
                    frozen: torch.Tensor, train_idx: np.ndarray, val_idx: np.ndarray, settings: TuningSettings,
                    device, show_progress: bool = False) -> dict[str, Any]:
    """Train ``transformer`` and ``head`` on the standardised targets ``scaled`` of ``texts[train_idx]``.

    ``frozen`` holds the embeddings of every text before training (the neighbour memory starts from them). The
    weights of the epoch with the lowest validation loss (the last epoch without validation) are restored at the
    end. Returns ``train_loss``, ``validation_loss`` (entry 0: before training), ``best_epoch`` and ``seconds``.
    """
    import torch

    memory = frozen[train_idx].clone()
    memory_targets = scaled[train_idx]
    row_of = {int(i): row for row, i in enumerate(train_idx)}  # text index -> memory row
    mse = torch.nn.functional.mse_loss

    def loss_of(emb, rows, own: bool):
        loss = mse(head(emb), scaled[rows])
        if settings.neighbour_weight > 0:
            exclude = torch.as_tensor([row_of[int(i)] for i in rows], device=device) if own else None
            near = neighbour_prediction(emb, memory, memory_targets, settings.neighbour_temperature, exclude)
            loss = loss + settings.neighbour_weight * mse(near, scaled[rows])
        return loss

    def evaluate(rows: np.ndarray, own: bool) -> float:
        transformer.eval()
        emb = embed_all(encoder, transformer, [texts[i] for i in rows], settings.batch_size, device)
        with torch.no_grad():
            return float(loss_of(emb, rows, own))

    optimiser = torch.optim.AdamW(
        [{"params": [p for p in transformer.parameters() if p.requires_grad], "lr": settings.learning_rate},
         {"params": list(head.parameters()), "lr": settings.head_learning_rate}],
        weight_decay=settings.weight_decay,
    )
    rng = np.random.default_rng(settings.random_state)
    has_val = len(val_idx) > 0
    train_loss = [evaluate(train_idx, own=True)]
    val_loss = [evaluate(val_idx, own=False)] if has_val else []
    best_epoch = 0
    best = {n: p.detach().clone() for n, p in _trainable(transformer, head).items()}
    seconds: list[float] = []
    epochs = range(1, settings.epochs + 1)
    if show_progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="Tuning the encoder on demand", unit="epoch")
    for epoch in epochs:
        started = time.perf_counter()
        transformer.train(settings.encoder_dropout)
        order = train_idx[rng.permutation(len(train_idx))]
        losses, sizes = [], []
        for first in range(0, len(order), settings.batch_size):
            rows = order[first : first + settings.batch_size]
            if len(rows) < 2:
                continue  # a lone last text would make a noisy step of its own
            batch = encoder.tokenize([texts[i] for i in rows])
            emb = encoder.embed(transformer, batch["input_ids"].to(device), batch["attention_mask"].to(device))
            loss = loss_of(emb.float(), rows, own=True)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            memory[[row_of[int(i)] for i in rows]] = emb.detach().float()
            losses.append(float(loss.detach()))
            sizes.append(len(rows))
        train_loss.append(float(np.average(losses, weights=sizes)))
        if has_val:
            if settings.neighbour_weight > 0:  # embeddings of one weight state, for a fair validation
                memory.copy_(embed_all(encoder, transformer, [texts[i] for i in train_idx], settings.batch_size, device))
            val_loss.append(evaluate(val_idx, own=False))
        seconds.append(time.perf_counter() - started)
        if not has_val or val_loss[-1] < val_loss[best_epoch]:
            best_epoch = epoch
            best = {n: p.detach().clone() for n, p in _trainable(transformer, head).items()}
        elif epoch - best_epoch >= settings.patience:
            break
    with torch.no_grad():
        for name, param in _trainable(transformer, head).items():
            param.copy_(best[name])
    transformer.eval()
    return {"train_loss": train_loss, "validation_loss": val_loss, "best_epoch": best_epoch, "seconds": seconds}
