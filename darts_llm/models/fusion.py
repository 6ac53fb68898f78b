"""The shared text-fusion Lightning module that wraps a Darts backbone module.

:class:`TextFusionModule` is a :class:`~darts.models.forecasting.pl_forecasting_module.PLForecastingModule` that
holds a Darts backbone module (``_TideModule``, ``_TFTModule``, ...) as a child. Darts' datasets deliver the static
covariates with every text column replaced by a numeric text id (see :mod:`darts_llm.models.base`); in
:meth:`TextFusionModule.forward` those ids are looked up in a table of text embeddings (``"frozen"``) or run through
the transformer itself (``"lora"``/``"full"``), projected to ``text_dim`` features and put back into
``x_in.static_covariates`` — numeric columns first, untouched, then the projected text features — so the backbone
consumes the text through its own static-covariate pathway.

Loss, likelihood, metrics, optimiser and prediction loop are the wrapper's (they are Darts' own code, inherited);
the backbone only runs ``forward``. Reversible instance normalisation stays inside the backbone's ``forward`` and is
switched off in the wrapper, so it is applied once.

With ``observed_mask=True`` (models built with ``min_input_chunk_length``), NaN steps of the past target (Darts'
padding of short series, history dropout, missing values) are masked: :func:`~darts_llm.models.cold_start.mask_inputs`
zeroes them and gives the backbone the observed-step mask as one more past-covariate channel (the backbone is built
one past-covariate channel wider), and reversible instance normalisation, if any, is computed by the wrapper on the
observed steps only (:func:`~darts_llm.models.cold_start.masked_rin`) with the backbone's own ``RINorm`` parameters.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import torch
from darts.logging import raise_log
from darts.models.forecasting.pl_forecasting_module import PLForecastingModule
from darts.utils.data.torch_datasets.utils import PLModuleInput, PLModuleOutput
from darts.utils.serialization import add_safe_globals
from darts.utils.torch import MonteCarloDropout
from torch import nn

from darts_llm.models.cold_start import mask_inputs, masked_rin

__all__ = ["ID_BASE", "ID_DIGITS", "TextFusionModule", "decode_ids", "encode_ids"]

#: A text id travels through Darts' datasets as ``ID_DIGITS`` base-``ID_BASE`` digits (one static column each).
#: Digits below 256 are exact even in bfloat16/float16, so ids survive half-precision trainers.
ID_BASE = 256
ID_DIGITS = 3
MAX_TEXTS = ID_BASE**ID_DIGITS

#: Key of the text vocabulary inside a Lightning checkpoint.
CKPT_TEXTS_KEY = "darts_llm_texts"

FINETUNING_MODES = ("frozen", "lora", "full")


def encode_ids(ids) -> list[list[float]]:
    """Text ids -> rows of ``ID_DIGITS`` float digits (least significant first)."""
    out = []
    for i in ids:
        i = int(i)
        out.append([float((i // ID_BASE**d) % ID_BASE) for d in range(ID_DIGITS)])
    return out


def decode_ids(digits: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Digits ``(..., ID_DIGITS)`` (any float dtype) -> integer ids ``(...)``; ``weights`` are the digit values."""
    if weights is None:
        weights = torch.tensor([ID_BASE**d for d in range(ID_DIGITS)], device=digits.device)
    return (digits.round().long() * weights).sum(-1)


def standardize(embeddings: torch.Tensor) -> torch.Tensor:
    """Layer norm without affine parameters: each embedding scaled to zero mean and unit variance."""
    return nn.functional.layer_norm(embeddings, embeddings.shape[-1:])


def _resolve_backbone(path: str) -> type[PLForecastingModule]:
    """The backbone module class named ``module.ClassName``; only Darts or already imported modules."""
    module_name, _, name = path.rpartition(".")
    module = sys.modules.get(module_name)
    if module is None:
        if not module_name.startswith("darts."):
            raise_log(
                ValueError(
                    f"The backbone module class {path!r} is not importable safely: import its module before loading."
                )
            )
        module = importlib.import_module(module_name)
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, PLForecastingModule)):
        raise_log(ValueError(f"{path!r} is not a Darts PLForecastingModule class."))
    return cls


def _load_trainable_encoder(encoder_spec: dict, mode: str, lora_settings: dict | None):
    """The Hugging Face encoder and its ``transformers`` model (wrapped by ``peft`` for LoRA)."""
    from darts_llm.encoders.huggingface import HuggingFaceEncoder

    encoder = HuggingFaceEncoder(**encoder_spec)
    model = encoder.load_transformer().float().train()  # from_pretrained returns eval mode
    if mode == "lora":
        from darts_llm.models.base import require_peft

        require_peft()
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(**(lora_settings or {})))
    return encoder, model


class TextFusionModule(PLForecastingModule):
    """A Darts forecasting module that feeds projected text embeddings to a backbone's static covariates.

    Parameters
    ----------
    backbone_class
        ``"module.ClassName"`` of the Darts backbone module (e.g.
        ``"darts.models.forecasting.tide_model._TideModule"``).
    backbone_hparams
        Keyword arguments that build the backbone, for static covariates of width
        ``n_numeric + n_text_cols * text_dim``.
    n_numeric
        Number of numeric static covariate columns (first in the static tensor, passed through untouched).
    n_text_cols
        Number of text columns; each arrives as ``ID_DIGITS`` digit columns after the numeric ones.
    text_dim
        Size of the projection of each text column.
    embedding_dim
        Size of the encoder's embeddings.
    n_texts
        Initial number of texts in the vocabulary (the tables grow at prediction time; checkpoints restore the size).
    encoder_finetuning
        ``"frozen"`` (embedding table buffer), ``"lora"`` or ``"full"`` (transformer runs in the training loop).
    encoder_spec
        Constructor arguments of the :class:`~darts_llm.encoders.huggingface.HuggingFaceEncoder` (lora/full only).
    n_tokens
        Initial token length of the stored token ids (lora/full only).
    lora_settings
        Keyword arguments of ``peft.LoraConfig`` (lora only).
    text_dropout
        Dropout on the projected text features (Monte Carlo dropout, so ``mc_dropout=True`` at prediction
        includes it).
    encoder_lr
        Learning rate of the encoder parameters (lora/full), in their own optimiser parameter group.
    observed_mask
        Mask NaN steps of the past target and pass the observed-step mask to the backbone as its last
        past-covariate channel (``backbone_hparams`` must be built for it); see the module docstring.
    **kwargs
        The parameters of :class:`~darts.models.forecasting.pl_forecasting_module.PLForecastingModule`.
    """

    def __init__(
        self,
        backbone_class: str,
        backbone_hparams: dict[str, Any],
        n_numeric: int,
        n_text_cols: int,
        text_dim: int,
        embedding_dim: int,
        n_texts: int,
        encoder_finetuning: str = "frozen",
        encoder_spec: dict | None = None,
        n_tokens: int = 0,
        lora_settings: dict | None = None,
        text_dropout: float = 0.1,
        encoder_lr: float | None = None,
        observed_mask: bool = False,
        **kwargs,
    ):
        kwargs["use_reversible_instance_norm"] = False  # the backbone applies it in its own forward
        super().__init__(**kwargs)
        if encoder_finetuning not in FINETUNING_MODES:
            raise_log(
                ValueError(f"`encoder_finetuning` must be one of {FINETUNING_MODES}, got {encoder_finetuning!r}.")
            )
        self.n_numeric = int(n_numeric)
        self.n_text_cols = int(n_text_cols)
        self.text_dim = int(text_dim)
        self.embedding_dim = int(embedding_dim)
        self.encoder_finetuning = encoder_finetuning
        self.encoder_lr = encoder_lr
        #: The vocabulary: ``texts[i]`` is the text of id ``i`` (saved in checkpoints under ``CKPT_TEXTS_KEY``).
        self.texts: list[str] = []

        self.backbone = _resolve_backbone(backbone_class)(**backbone_hparams)
        self.observed_mask = bool(observed_mask)
        # masked RIN: the wrapper normalises on the observed steps with the backbone's RINorm (and its parameters)
        self.masked_rin = self.observed_mask and getattr(self.backbone, "rin", None) is not None
        if self.masked_rin:
            self.backbone.use_reversible_instance_norm = False
        # digit values of the text ids (a buffer, so that it lives on the module's device; not in checkpoints)
        digit_values = torch.tensor([ID_BASE**d for d in range(ID_DIGITS)], dtype=torch.long)
        self.register_buffer("id_digit_values", digit_values, persistent=False)

        if encoder_finetuning == "frozen":
            self.register_buffer("text_table", torch.zeros(n_texts, self.embedding_dim))
            self.text_encoder = None
            self._hf_encoder = None
        else:
            if not encoder_spec:
                raise_log(ValueError(f"encoder_finetuning={encoder_finetuning!r} needs `encoder_spec`."))
            self._hf_encoder, self.text_encoder = _load_trainable_encoder(
                encoder_spec, encoder_finetuning, lora_settings
            )
            self.register_buffer("token_ids", torch.zeros(n_texts, n_tokens, dtype=torch.long))
            self.register_buffer("token_mask", torch.zeros(n_texts, n_tokens, dtype=torch.long))

        # per text column: standardised embedding -> Linear(embedding_dim, text_dim) -> dropout
        self.text_projections = nn.ModuleList(
            nn.Sequential(
                nn.Linear(self.embedding_dim, self.text_dim),
                *([MonteCarloDropout(text_dropout)] if text_dropout else []),
            )
            for _ in range(self.n_text_cols)
        )

    # ------------------------------------------------------------------------------------------ vocabulary
    @property
    def n_texts(self) -> int:
        table = self.text_table if self.encoder_finetuning == "frozen" else self.token_ids
        return int(table.shape[0])

    def append_texts(self, texts: list[str], rows) -> None:
        """Add texts to the vocabulary.

        ``rows`` is a float array ``(len(texts), embedding_dim)`` of embeddings (frozen) or a pair of integer arrays
        ``(input_ids, attention_mask)`` (lora/full). Existing ids are unchanged.
        """
        if not texts:
            return
        if self.encoder_finetuning == "frozen":
            new = torch.as_tensor(rows).to(device=self.text_table.device)
            if new.shape != (len(texts), self.embedding_dim):
                raise_log(
                    ValueError(
                        f"The encoder returned embeddings of shape {tuple(new.shape)}; this model was fitted with "
                        f"{self.embedding_dim}-d embeddings. Use the encoder the model was fitted with."
                    )
                )
            # stored standardised (the layer norm of a frozen row never changes, so it is computed once)
            new = standardize(new.float()).to(self.text_table.dtype)
            self.text_table = torch.cat([self.text_table, new])
        else:
            ids, mask = (torch.as_tensor(r, dtype=torch.long) for r in rows)
            length = max(ids.shape[1], self.token_ids.shape[1])
            old_ids, old_mask = self.token_ids, self.token_mask
            pad = torch.nn.functional.pad
            self.token_ids = torch.cat([
                pad(old_ids, (0, length - old_ids.shape[1])),
                pad(ids, (0, length - ids.shape[1])).to(old_ids.device),
            ])
            self.token_mask = torch.cat([
                pad(old_mask, (0, length - old_mask.shape[1])),
                pad(mask, (0, length - mask.shape[1])).to(old_mask.device),
            ])
        self.texts.extend(texts)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint[CKPT_TEXTS_KEY] = list(self.texts)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if CKPT_TEXTS_KEY in checkpoint:
            self.texts = list(checkpoint[CKPT_TEXTS_KEY])
        super().on_load_checkpoint(checkpoint)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        # the text tables grow after the module is built: take their size from the state being loaded
        for name in ("text_table", "token_ids", "token_mask"):
            if name in state_dict and name in self._buffers:
                old = self._buffers[name]
                self._buffers[name] = torch.zeros(state_dict[name].shape, dtype=old.dtype, device=old.device)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ------------------------------------------------------------------------------------------ forward
    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Standardised encoder embeddings ``(..., embedding_dim)`` of text ids ``(...)``."""
        if self.encoder_finetuning == "frozen":
            return nn.functional.embedding(ids, self.text_table)
        unique, inverse = torch.unique(ids, return_inverse=True)
        mask = self.token_mask[unique]
        length = max(int(mask.sum(dim=1).max()), 1)
        emb = self._hf_encoder.embed(self.text_encoder, self.token_ids[unique, :length], mask[:, :length])
        return standardize(emb)[inverse]

    def fuse_static(self, static: torch.Tensor) -> torch.Tensor:
        """Replace the text id columns of ``static`` ``(batch, rows, n_numeric + n_text_cols * ID_DIGITS)`` by the
        projected text features: ``(batch, rows, n_numeric + n_text_cols * text_dim)``."""
        parts = [static[..., : self.n_numeric]] if self.n_numeric else []
        for k, projection in enumerate(self.text_projections):
            start = self.n_numeric + k * ID_DIGITS
            ids = decode_ids(static[..., start : start + ID_DIGITS], self.id_digit_values)
            parts.append(projection(self._embed(ids)).to(static.dtype))
        return torch.cat(parts, dim=-1)

    def forward(self, x_in: PLModuleInput) -> PLModuleOutput:
        if x_in.static_covariates is not None and self.n_text_cols:
            x_in = x_in.replace(static_covariates=self.fuse_static(x_in.static_covariates))
        if not self.observed_mask:
            return self.backbone(x_in)
        x_in, observed = mask_inputs(x_in)
        if not self.masked_rin:
            return self.backbone(x_in)
        rin = self.backbone.rin
        x_in = x_in.replace(past_target=masked_rin(rin, x_in.past_target, observed))
        out = self.backbone(x_in)
        return out.replace(prediction=rin.inverse(out.prediction))

    # ------------------------------------------------------------------------------------------ optimiser
    def configure_optimizers(self):
        """Darts' optimiser and scheduler set-up, with the encoder parameters in their own group when
        ``encoder_lr`` is set (lora/full)."""
        if self.text_encoder is None or self.encoder_lr is None:
            return super().configure_optimizers()
        encoder_ids = {id(p) for p in self.text_encoder.parameters()}
        groups = [
            {"params": [p for p in self.parameters() if id(p) not in encoder_ids]},
            {
                "params": [p for p in self.text_encoder.parameters() if p.requires_grad],
                "lr": float(self.encoder_lr),
            },
        ]
        optimizer_kws = dict(self.optimizer_kwargs)
        optimizer_kws["params"] = groups
        try:
            optimizer = self.optimizer_cls(**optimizer_kws)
        except (TypeError, ValueError) as err:
            raise_log(
                ValueError(
                    f"Error when building the optimizer {self.optimizer_cls} with kwargs {self.optimizer_kwargs} "
                    f"and an encoder parameter group (encoder_lr={self.encoder_lr}): {err}"
                )
            )
        if self.lr_scheduler_cls is None:
            return optimizer
        lr_sched_kws = dict(self.lr_scheduler_kwargs)
        lr_sched_kws["optimizer"] = optimizer
        config = {"monitor": "val_loss", "interval": "epoch", "frequency": 1, "strict": True, "name": None}
        config = {k: lr_sched_kws.pop(k, v) for k, v in config.items()}
        return [optimizer], dict({"scheduler": self.lr_scheduler_cls(**lr_sched_kws)}, **config)


add_safe_globals([TextFusionModule])
