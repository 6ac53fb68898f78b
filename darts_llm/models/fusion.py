"""The shared text-fusion Lightning module that wraps a Darts backbone module.

:class:`TextFusionModule` is a :class:`~darts.models.forecasting.pl_forecasting_module.PLForecastingModule` that
holds a Darts backbone module (``_TideModule``, ``_TFTModule``, ...) and the model's
:class:`~darts_llm.models.vocabulary.TextVocabulary` as children. Darts' datasets deliver the static covariates
with every text column replaced by a numeric text id (see :mod:`darts_llm.models.text_datasets`); in
:meth:`TextFusionModule.forward` the vocabulary turns those ids into embeddings, which are projected to
``text_dim`` features and put back into ``x_in.static_covariates`` — numeric columns first, untouched, then the
projected text features — so the backbone consumes the text through its own static-covariate pathway (``text_entry="static"``).

With ``text_entry="residual"`` the backbone is built exactly as the Darts model without text (numeric static
covariates only) and the text enters as a checked correction of its forecast, :class:`~darts_llm.models.
text_residual.TextResidual`: see :mod:`darts_llm.models.text_residual`. The correction's parameters are created
outside the seeded random stream, so a text model and its no-text twin with the same ``random_state`` train the
backbone identically.

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
from torch import nn
from darts.logging import raise_log
from darts.models.forecasting.pl_forecasting_module import PLForecastingModule
from darts.utils.serialization import add_safe_globals

from darts_llm.models.cold_start import mask_inputs, masked_rin
from darts_llm.models.darts_internals import PLModuleInput, PLModuleOutput
from darts_llm.models.text_branch import TextBranch
from darts_llm.models.text_datasets import ID_BASE, ID_DIGITS, decode_ids
from darts_llm.models.text_residual import TextResidual, observed_share
from darts_llm.models.vocabulary import TextVocabulary, make_vocabulary

__all__ = ["TEXT_ENTRIES", "TextFusionModule", "backbone_path"]

#: How the text enters a text model's network (see the module docstring).
TEXT_ENTRIES = ("residual", "static")

#: Likelihoods whose every output is a location (shifted alike by the text correction), and those whose first
#: parameter is the location (only it is shifted).
_SHIFT_ALL = ("QuantileRegression",)
_SHIFT_FIRST = ("GaussianLikelihood", "LaplaceLikelihood", "CauchyLikelihood")


def backbone_path(cls: type) -> str:
    """``"module.ClassName"`` of a backbone module class (how the fusion module names it in its hparams)."""
    return f"{cls.__module__}.{cls.__qualname__}"


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
    vocabulary_config
        :meth:`~darts_llm.models.vocabulary.TextVocabulary.config` of the vocabulary (its kind and embedding size).
    text_dropout
        Dropout on the projected text features (Monte Carlo dropout, so ``mc_dropout=True`` at prediction
        includes it).
    text_gate, no_text_prob, text_noise, text_components
        The gate, text dropout to the learned no-text vector, noise and principal-component basis of each
        :class:`~darts_llm.models.text_branch.TextBranch`.
    text_entry
        ``"static"``: the text features join the backbone's static covariates; ``"residual"``: the backbone is the
        no-text twin and the text is a correction of its forecast (:mod:`darts_llm.models.text_residual`).
    n_target_components
        Number of target components (the size of the correction per step, ``"residual"`` only).
    n_static_rows
        Rows of the static covariates (``"residual"`` only; one per component when each has its own text).
    encoder_lr
        Learning rate of the encoder parameters (lora/full), in their own optimiser parameter group.
    observed_mask
        Mask NaN steps of the past target and pass the observed-step mask to the backbone as its last
        past-covariate channel (``backbone_hparams`` must be built for it); see the module docstring.
    backbone
        The backbone module, already built from ``backbone_hparams`` (when a model is fitted); ``None`` builds it
        (when a checkpoint is loaded). Never a hyperparameter.
    vocabulary
        The model's vocabulary (when a model is fitted); ``None`` builds an empty one from ``vocabulary_config``,
        filled by the checkpoint being loaded. Never a hyperparameter.
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
        vocabulary_config: dict[str, Any],
        text_dropout: float = 0.1,
        text_gate: bool = False,
        no_text_prob: float = 0.0,
        text_noise: float = 0.0,
        text_components: int | None = None,
        text_penalty: float = 0.0,
        text_entry: str = "static",
        n_target_components: int = 1,
        n_static_rows: int = 1,
        encoder_lr: float | None = None,
        observed_mask: bool = False,
        backbone: PLForecastingModule | None = None,
        vocabulary: TextVocabulary | None = None,
        **kwargs,
    ):
        # live objects are handed over, never saved as hyperparameters (Lightning collects this frame's arguments)
        given_backbone, backbone = backbone, None
        given_vocabulary, vocabulary = vocabulary, None
        kwargs["use_reversible_instance_norm"] = False  # the backbone applies it in its own forward
        super().__init__(**kwargs)
        self.n_numeric = int(n_numeric)
        self.n_text_cols = int(n_text_cols)
        self.text_dim = int(text_dim)
        self.encoder_lr = encoder_lr
        self.text_penalty = float(text_penalty)
        self.backbone = (
            given_backbone if given_backbone is not None else _resolve_backbone(backbone_class)(**backbone_hparams)
        )
        self.vocabulary = given_vocabulary if given_vocabulary is not None else make_vocabulary(vocabulary_config)
        self.embedding_dim = int(self.vocabulary.embedding_dim)
        self.observed_mask = bool(observed_mask)
        # masked RIN: the wrapper normalises on the observed steps with the backbone's RINorm (and its parameters)
        self.masked_rin = self.observed_mask and getattr(self.backbone, "rin", None) is not None
        if self.masked_rin:
            self.backbone.use_reversible_instance_norm = False
        # digit values of the text ids (a buffer, so that it lives on the module's device; not in checkpoints)
        digit_values = torch.tensor([ID_BASE**d for d in range(ID_DIGITS)], dtype=torch.long)
        self.register_buffer("id_digit_values", digit_values, persistent=False)
        if text_entry not in TEXT_ENTRIES:
            raise_log(ValueError(f"`text_entry` must be one of {TEXT_ENTRIES}, got {text_entry!r}."))
        self.text_entry = text_entry
        # the text parts are created on a fork of the random stream: the backbone trains as its twin would
        with torch.random.fork_rng(devices=[]):
            # per text column: standardised embedding -> text features (see TextBranch)
            self.text_branches = nn.ModuleList(
                TextBranch(self.embedding_dim, self.text_dim, text_dropout, text_gate, no_text_prob, text_noise,
                           text_components)
                for _ in range(self.n_text_cols if text_entry == "static" else 0)
            )
            self.text_residual = None
            if text_entry == "residual":
                self._offset_params = self._shifted_params(self.likelihood)
                self.text_residual = TextResidual(self.embedding_dim, self.n_text_cols, self.text_dim,
                                                  self.output_chunk_length * int(n_target_components),
                                                  text_dropout, text_components, int(n_static_rows))
                # whether the correction is used (set by the text check; saved with the checkpoint)
                self.register_buffer("text_on", torch.zeros(()))
        self.n_target_components = int(n_target_components)

    @staticmethod
    def _shifted_params(likelihood) -> slice:
        """Which outputs per step the text correction shifts: all of them, or the location parameter."""
        name = type(likelihood).__name__
        if likelihood is None or name in _SHIFT_ALL:
            return slice(None)
        if name in _SHIFT_FIRST:
            return slice(0, 1)
        raise_log(
            ValueError(
                f"text_entry='residual' shifts the forecast by the text's correction, which is not defined for "
                f"the likelihood {name}. Use no likelihood, QuantileRegression, or a Gaussian/Laplace/Cauchy "
                f"likelihood; or create the model with text_entry='static'."
            )
        )

    @property
    def all_text_branches(self) -> list[TextBranch]:
        """Every :class:`~darts_llm.models.text_branch.TextBranch` of the network (static or residual entry)."""
        if self.text_residual is not None:
            return list(self.text_residual.branches)
        return list(self.text_branches)

    @property
    def texts(self) -> list[str]:
        """The vocabulary: ``texts[i]`` is the text of id ``i``."""
        return self.vocabulary.texts

    @property
    def text_encoder(self) -> nn.Module | None:
        """The trainable transformer (``"lora"``/``"full"``), or ``None`` (``"frozen"``)."""
        return getattr(self.vocabulary, "transformer", None)

    # ------------------------------------------------------------------------------------------ forward
    def text_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """Standardised encoder embeddings ``(..., embedding_dim)`` of text ids ``(...)``."""
        return self.vocabulary.embed(ids)

    def fuse_static(self, static: torch.Tensor) -> torch.Tensor:
        """Replace the text id columns of ``static`` ``(batch, rows, n_numeric + n_text_cols * ID_DIGITS)`` by the
        projected text features: ``(batch, rows, n_numeric + n_text_cols * text_dim)``."""
        parts = [static[..., : self.n_numeric]] if self.n_numeric else []
        for k, branch in enumerate(self.text_branches):
            start = self.n_numeric + k * ID_DIGITS
            ids = decode_ids(static[..., start : start + ID_DIGITS], self.id_digit_values)
            parts.append(branch(self.text_embeddings(ids)).to(static.dtype))
        return torch.cat(parts, dim=-1)

    # ------------------------------------------------------------------------------------------ residual entry
    @property
    def text_used(self) -> bool:
        """Whether the forecast includes the text (``"residual"``: the text check kept the correction)."""
        return self.text_residual is None or bool(self.text_on > 0.5)

    def set_text(self, used: bool) -> None:
        """Use the text correction or not (``"residual"`` only; the text check decides)."""
        self.text_on.fill_(1.0 if used else 0.0)

    def text_offsets(self, static: torch.Tensor, share: torch.Tensor, raw: bool = False) -> torch.Tensor:
        """The text correction ``(batch, output_chunk_length, n_target_components)`` of samples whose static
        covariates are ``static`` ``(batch, rows, width)`` and whose inputs are observed by ``share`` (``raw``:
        not yet centred on the training windows' mean)."""
        dtype = self.text_residual.out.weight.dtype  # the network's precision, whatever the inputs'
        embeddings = []
        for k in range(self.n_text_cols):
            start = self.n_numeric + k * ID_DIGITS
            ids = decode_ids(static[..., start : start + ID_DIGITS], self.id_digit_values.to(static.device))
            embeddings.append(self.text_embeddings(ids).to(dtype))
        head = self.text_residual.raw if raw else self.text_residual
        offsets = head(embeddings, share.to(dtype))
        return offsets.reshape(len(offsets), self.output_chunk_length, self.n_target_components)

    def add_offsets(self, prediction: torch.Tensor, offsets: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """``prediction`` ``(batch, steps, components, n_params)`` shifted by ``offsets * scale`` (``offsets``
        ``(batch, steps, components)``, ``scale`` from :meth:`last_scale`): every output, or only the location
        parameter of a parametric likelihood."""
        shift = torch.zeros_like(prediction)
        shift[..., self._offset_params] = (offsets * scale).unsqueeze(-1).to(prediction.dtype)
        return prediction + shift

    def last_scale(self, like: torch.Tensor) -> torch.Tensor:
        """The scale of the text correction in the last forward pass: the instance-normalisation spread of each
        sample ``(batch, 1, components)`` when the backbone normalises its inputs (the correction is then relative
        to each series' scale, and the model stays scale-free), else ones."""
        rin = getattr(self.backbone, "rin", None)
        normalises = rin is not None and (self.masked_rin or self.backbone.use_reversible_instance_norm)
        if normalises:
            return rin.stdev.detach().to(like.dtype)
        return torch.ones(like.shape[0], 1, like.shape[2], dtype=like.dtype, device=like.device)

    def forward_twin(self, x_in: PLModuleInput) -> PLModuleOutput:
        """The forecast of the no-text twin (``"residual"``): the backbone on the numeric static covariates."""
        static = x_in.static_covariates
        numeric = static[..., : self.n_numeric] if static is not None and self.n_numeric else None
        return self._backbone_forward(x_in.replace(static_covariates=numeric))

    def forward(self, x_in: PLModuleInput) -> PLModuleOutput:
        if self.text_residual is not None:
            out = self.forward_twin(x_in)
            if not self.text_used or x_in.static_covariates is None:
                return out
            offsets = self.text_offsets(x_in.static_covariates, observed_share(x_in.past_target))
            scale = self.last_scale(out.prediction)
            return out.replace(prediction=self.add_offsets(out.prediction, offsets, scale))
        if x_in.static_covariates is not None and self.n_text_cols:
            x_in = x_in.replace(static_covariates=self.fuse_static(x_in.static_covariates))
        return self._backbone_forward(x_in)

    def _backbone_forward(self, x_in: PLModuleInput) -> PLModuleOutput:
        """The backbone's forecast, with masked inputs and masked instance normalisation if needed."""
        if not self.observed_mask:
            return self.backbone(x_in)
        x_in, observed = mask_inputs(x_in)
        if not self.masked_rin:
            return self.backbone(x_in)
        rin = self.backbone.rin
        x_in = x_in.replace(past_target=masked_rin(rin, x_in.past_target, observed))
        out = self.backbone(x_in)
        return out.replace(prediction=rin.inverse(out.prediction))

    # ------------------------------------------------------------------------------------------ loss
    def _compute_loss(self, output: PLModuleOutput, target, criterion, sample_weight):
        """The forecast loss plus ``text_penalty`` times the size of the text's influence."""
        loss = self._forecast_loss(output, target, criterion, sample_weight)
        if self.text_penalty and self.training and len(self.text_branches):
            loss = loss + self.text_penalty * sum(branch.influence for branch in self.text_branches)
        return loss

    def _forecast_loss(self, output: PLModuleOutput, target, criterion, sample_weight):
        """Darts' loss with missing labels masked: a NaN target step teaches nothing and breaks nothing."""
        observed = ~torch.isnan(target)
        if bool(observed.all()):
            return super()._compute_loss(output, target, criterion, sample_weight)
        weight = observed.to(target.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight
        target = torch.where(observed, target, torch.zeros((), dtype=target.dtype, device=target.device))
        if self.likelihood:
            # mean over all elements of weighted losses: rescale so that the observed steps keep their weight
            loss = self.likelihood.compute_loss(output.prediction, target, weight)
            return loss * weight.numel() / weight.sum().clamp(min=1.0)
        reduction = getattr(criterion, "reduction", None)
        if reduction is None:
            raise_log(
                ValueError(
                    "The training targets have missing values and the loss function has no `reduction` setting "
                    "to mask them. Fill the missing values (e.g. darts.dataprocessing.transformers."
                    "MissingValuesFiller) or use a torch loss with `reduction`."
                )
            )
        criterion.reduction = "none"
        try:
            losses = criterion(output.prediction.squeeze(dim=-1), target)
        finally:
            criterion.reduction = reduction
        return (losses * weight).sum() / weight.sum().clamp(min=1.0)

    # ------------------------------------------------------------------------------------------ optimiser
    def configure_optimizers(self):
        """Darts' optimiser and scheduler set-up; with ``encoder_lr`` (lora/full), the encoder parameters get
        their own parameter group with that learning rate."""
        encoder_params = self.vocabulary.encoder_parameters()
        if not encoder_params or self.encoder_lr is None:
            return super().configure_optimizers()
        encoder_ids = {id(p) for p in encoder_params}
        groups = [
            {"params": [p for p in self.parameters() if id(p) not in encoder_ids]},
            {"params": encoder_params, "lr": float(self.encoder_lr)},
        ]
        optimizer_cls = self.optimizer_cls

        def with_groups(params, **kwargs):  # Darts passes `self.parameters()`: give the groups instead
            return optimizer_cls(groups, **kwargs)

        self.optimizer_cls = with_groups
        try:
            return super().configure_optimizers()
        finally:
            self.optimizer_cls = optimizer_cls


add_safe_globals([TextFusionModule])
