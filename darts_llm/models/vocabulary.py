"""The text state of a text model: :class:`TextVocabulary` and its two kinds.

A vocabulary maps each distinct text to an id (its position; ids never change), keeps one row per text, grows
when a forecast meets a text it has not seen, and turns ids into standardised embeddings inside the network. It
is the single owner of that state: the text model creates it at the first ``fit()`` and hands the same object to
:class:`~darts_llm.models.fusion.TextFusionModule` as a child module, so it is saved in every checkpoint (the rows
as buffers, the texts as the module's extra state) and restored with the weights by Darts' ``save``/``load``,
``load_from_checkpoint`` and ``load_weights``.

- :class:`EmbeddingTable` (``encoder_finetuning="frozen"``): each text is encoded once through
  :func:`darts_llm.default_cache`; the rows are the standardised embeddings. The encoder never runs in training.
- :class:`TokenStore` (``"lora"``/``"full"``): the rows are token ids and attention masks; the transformer (with
  ``peft`` LoRA adapters for ``"lora"``) is a trainable child and embeds the texts of each batch.

:func:`make_vocabulary` picks the kind from the fine-tuning mode: the mode is a choice of component.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import torch
from darts.logging import raise_log
from torch import nn

from darts_llm.cache import default_cache
from darts_llm.encoders.base import TextEncoder

__all__ = ["MAX_TEXTS", "EmbeddingTable", "TextVocabulary", "TokenStore", "make_vocabulary", "standardize"]

logger = logging.getLogger(__name__)

#: The most distinct texts one model holds (text ids travel as three base-256 digits, see ``text_datasets``).
MAX_TEXTS = 256**3


def standardize(embeddings: torch.Tensor) -> torch.Tensor:
    """Layer norm without affine parameters: each embedding scaled to zero mean and unit variance."""
    return nn.functional.layer_norm(embeddings, embeddings.shape[-1:])


class TextVocabulary(nn.Module):
    """Texts, their ids and their rows (an abstract base; see :class:`EmbeddingTable` and :class:`TokenStore`).

    Parameters
    ----------
    embedding_dim
        Size of the embeddings :meth:`embed` returns (``None``: known from the first rows added).
    """

    #: The ``encoder_finetuning`` modes this kind serves.
    modes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, embedding_dim: int | None = None):
        super().__init__()
        self.embedding_dim = None if embedding_dim is None else int(embedding_dim)
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.texts)

    # ---------------------------------------------------------------------------------------------- ids
    def _sync_index(self) -> dict[str, int]:
        if len(self._index) != len(self.texts):
            self._index = {t: i for i, t in enumerate(self.texts)}
        return self._index

    def missing(self, texts: list[str]) -> list[str]:
        """The distinct texts of ``texts`` that are not in the vocabulary yet, in order of appearance."""
        index = self._sync_index()
        return [t for t in dict.fromkeys(texts) if t not in index]

    def add(self, texts: list[str], encoder: TextEncoder) -> None:
        """Add new texts (``encoder`` encodes or tokenises them); existing ids never change."""
        texts = self.missing(texts)
        if not texts:
            return
        if len(self.texts) + len(texts) > MAX_TEXTS:
            raise_log(ValueError(f"A text model holds at most {MAX_TEXTS:,} distinct texts."))
        self._append_rows(self._rows_of(texts, encoder))
        start = len(self.texts)
        self.texts.extend(texts)
        self._index.update((t, start + i) for i, t in enumerate(texts))
        logger.info("Added %d new text(s) to the vocabulary.", len(texts))

    def ids(self, texts: list[str]) -> list[int]:
        """The id of each text (all must be in the vocabulary: see :meth:`add`)."""
        index = self._sync_index()
        return [index[t] for t in texts]

    def _rows_of(self, texts: list[str], encoder: TextEncoder):  # pragma: no cover - abstract
        raise NotImplementedError

    def _append_rows(self, rows) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, ids: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Standardised embeddings ``(..., embedding_dim)`` of text ids ``(...)``."""
        raise NotImplementedError

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The trainable encoder parameters (their own optimiser group with ``encoder_lr``)."""
        return []

    def similarity_rows(self, texts: list[str], encoder: TextEncoder) -> np.ndarray:
        """Standardised embeddings of ``texts`` for similarity search (nearest products by text): the
        pretrained encoder's, through :func:`darts_llm.default_cache`."""
        raw = torch.as_tensor(default_cache().encode(encoder, texts)).float()
        return standardize(raw).numpy()

    def config(self) -> dict[str, Any]:
        """Plain data that rebuilds an empty vocabulary of this kind (:func:`make_vocabulary`)."""
        return {"kind": self.modes[0], "embedding_dim": self.embedding_dim}

    # ---------------------------------------------------------------------------------------------- state
    def get_extra_state(self) -> dict[str, Any]:
        return {"texts": list(self.texts)}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.texts = list(state["texts"])
        self._index = {}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the rows grow after the module is built: take their size from the state being loaded
        for name, buffer in list(self._buffers.items()):
            saved = state_dict.get(prefix + name)
            if buffer is not None and saved is not None and saved.shape != buffer.shape:
                self._buffers[name] = torch.zeros(saved.shape, dtype=buffer.dtype, device=buffer.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class EmbeddingTable(TextVocabulary):
    """A frozen embedding table: one standardised encoder embedding per text, a buffer of the module."""

    modes = ("frozen",)

    def __init__(self, embedding_dim: int | None = None, encoder_id: str | None = None):
        super().__init__(embedding_dim)
        #: The encoder the rows come from (embeddings of two encoders cannot be mixed).
        self.encoder_id = encoder_id
        self.register_buffer("table", torch.zeros(0, self.embedding_dim or 0))

    def _rows_of(self, texts: list[str], encoder: TextEncoder) -> np.ndarray:
        rows = default_cache().encode(encoder, texts)
        if self.encoder_id is None:
            self.encoder_id = encoder.encoder_id
        elif encoder.encoder_id != self.encoder_id:
            raise_log(
                ValueError(
                    f"The text encoder now resolves to {encoder.encoder_id!r}, but this model was fitted with "
                    f"{self.encoder_id!r}; embeddings of the two cannot be mixed. Restore the encoder the model "
                    f"was fitted with, or fit a new model."
                )
            )
        return rows

    def _append_rows(self, rows) -> None:
        new = torch.as_tensor(np.asarray(rows))
        if self.embedding_dim is None:
            self.embedding_dim = int(new.shape[1])
            self.table = torch.zeros(0, self.embedding_dim, dtype=self.table.dtype, device=self.table.device)
        if new.ndim != 2 or new.shape[1] != self.embedding_dim:
            raise_log(
                ValueError(
                    f"The encoder returned embeddings of shape {tuple(new.shape)}; this model was fitted with "
                    f"{self.embedding_dim}-d embeddings. Use the encoder the model was fitted with."
                )
            )
        # stored standardised (the layer norm of a frozen row never changes, so it is computed once)
        new = standardize(new.float()).to(device=self.table.device, dtype=self.table.dtype)
        self.table = torch.cat([self.table, new])

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(ids, self.table)

    def similarity_rows(self, texts: list[str], encoder: TextEncoder) -> np.ndarray:
        """The table's own rows (unseen texts are encoded and added, as at prediction)."""
        if self.missing(texts):
            self.add(texts, encoder)
        ids = torch.as_tensor(self.ids(texts), dtype=torch.long, device=self.table.device)
        return self.table[ids].float().cpu().numpy()

    def get_extra_state(self) -> dict[str, Any]:
        return dict(super().get_extra_state(), encoder_id=self.encoder_id)

    def set_extra_state(self, state: dict[str, Any]) -> None:
        super().set_extra_state(state)
        self.encoder_id = state.get("encoder_id")


class TokenStore(TextVocabulary):
    """Token ids and attention masks of the texts, and the trainable transformer that embeds them.

    Parameters
    ----------
    encoder_spec
        Constructor arguments of the :class:`~darts_llm.HuggingFaceEncoder` (plain data, saved as a
        hyperparameter; never the loaded model).
    lora_settings
        Keyword arguments of ``peft.LoraConfig`` (``"lora"``), or ``None`` (``"full"``: every weight trains).
    """

    modes = ("full", "lora")

    def __init__(self, encoder_spec: dict[str, Any], lora_settings: dict[str, Any] | None = None,
                 embedding_dim: int | None = None):
        from darts_llm.encoders.huggingface import HuggingFaceEncoder

        self.encoder_spec = dict(encoder_spec, device="cpu")
        self.lora_settings = None if lora_settings is None else dict(lora_settings)
        hf = HuggingFaceEncoder(**self.encoder_spec)
        super().__init__(embedding_dim or hf.dim)
        self._hf_encoder = hf
        transformer = hf.load_transformer().float().train()  # from_pretrained returns eval mode
        if self.lora_settings is not None:
            from darts_llm.models.optional import require_peft

            require_peft()
            from peft import LoraConfig, get_peft_model

            transformer = get_peft_model(transformer, LoraConfig(**self.lora_settings))
        self.transformer = transformer
        self.register_buffer("token_ids", torch.zeros(0, 0, dtype=torch.long))
        self.register_buffer("token_mask", torch.zeros(0, 0, dtype=torch.long))

    def _rows_of(self, texts: list[str], encoder: TextEncoder):
        batch = self._hf_encoder.tokenize(texts)
        return batch["input_ids"], batch["attention_mask"]

    def _append_rows(self, rows) -> None:
        pad = nn.functional.pad
        for name, new in zip(("token_ids", "token_mask"), rows):
            old = getattr(self, name)
            new = torch.as_tensor(new, dtype=torch.long).to(old.device)
            length = max(old.shape[1], new.shape[1])
            setattr(self, name, torch.cat([pad(old, (0, length - old.shape[1])), pad(new, (0, length - new.shape[1]))]))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        unique, inverse = torch.unique(ids, return_inverse=True)
        mask = self.token_mask[unique]
        length = max(int(mask.sum(dim=1).max()), 1)
        emb = self._hf_encoder.embed(self.transformer, self.token_ids[unique, :length], mask[:, :length])
        return standardize(emb)[inverse]

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.transformer.parameters() if p.requires_grad]

    def config(self) -> dict[str, Any]:
        kind = "lora" if self.lora_settings is not None else "full"
        return {"kind": kind, "embedding_dim": self.embedding_dim, "encoder_spec": dict(self.encoder_spec),
                "lora_settings": self.lora_settings}


def make_vocabulary(config: dict[str, Any]) -> TextVocabulary:
    """An empty vocabulary from plain data: ``kind`` (the fine-tuning mode), ``embedding_dim`` and, for
    ``"lora"``/``"full"``, ``encoder_spec`` (and ``lora_settings`` for ``"lora"``); what
    :meth:`TextVocabulary.config` returns. The one place where the mode chooses the component."""
    kind = config["kind"]
    if kind == "frozen":
        return EmbeddingTable(embedding_dim=config.get("embedding_dim"))
    if kind in TokenStore.modes:
        lora = dict(config.get("lora_settings") or {}) if kind == "lora" else None
        return TokenStore(config["encoder_spec"], lora, config.get("embedding_dim"))
    raise_log(ValueError(f"Unknown vocabulary kind {kind!r}; expected one of ('frozen', 'lora', 'full')."))
