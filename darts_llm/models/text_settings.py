"""The text arguments of the text models: :class:`TextSettings`, their documentation and the merged signature.

Every text model takes its backbone's arguments plus the same text arguments. :class:`TextSettings` holds the
text arguments with their defaults, checks them and puts them in one canonical form (so that a default passed
explicitly and an omitted one compare equal in Darts' ``load_weights`` checks). :func:`merged_signature` builds the
``__init__`` signature Darts' ``ModelMeta`` reads: the backbone's parameters, then the text parameters
(keyword-only, with their defaults), then ``**kwargs``.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from typing import Any

import numpy as np
from darts.logging import raise_log

__all__ = ["FINETUNING_MODES", "TEXT_PARAMS_DOC", "TextSettings", "merged_signature", "text_model_doc"]

FINETUNING_MODES = ("frozen", "lora", "full")

#: Default LoRA target modules: the attention projections of BERT-like encoders (MiniLM, MPNet, E5, ...).
DEFAULT_LORA_TARGETS = ("query", "value")

#: The default text encoder alias.
DEFAULT_ENCODER = "minilm"

#: Docstring section shared by the text models (appended to each model's ``Parameters``).
TEXT_PARAMS_DOC = """
    text_cols
        Static covariate columns holding text. Default: every static covariate column that holds strings in any
        of the series passed to ``fit()``, except columns that look like identifiers (one distinct code per
        series, such as a SKU; a warning names them and they are left out of the network). All other static
        columns must be numeric; they are passed to the backbone untouched. Missing texts (``None``/NaN/``pd.NA``)
        are the empty string; numbers in a text column are an error.
    text_encoder
        The text encoder: an alias (``"minilm"``, the default), a Hugging Face model id, a local directory
        (see :func:`darts_llm.get_encoder`), or a :class:`~darts_llm.TextEncoder` instance (``"frozen"`` only,
        unless it is a :class:`~darts_llm.HuggingFaceEncoder`). Only its spec is saved with the model, never
        its weights. A custom ``TextEncoder`` class is pickled with the model: register it with
        ``darts.utils.serialization.add_safe_globals`` to load the model safely.
    text_entry
        How the text enters the network. ``"residual"`` (default): the backbone is trained exactly as its Darts
        twin without text (for the same ``random_state``, the same network), then a correction of its forecast is
        learned from the text on the older training windows and kept only if it lowers the loss of the most
        recent windows by more than ``text_min_gain`` and by more than 1.645 standard errors over the series;
        ``model.text_check`` says what happened. Without that gain
        the model *is* its no-text twin. ``"static"``: the projected text features join the backbone's static
        covariates and train with it (``text_gate``, ``no_text_prob``, ``text_noise`` and ``text_penalty`` apply
        to this entry only). See :mod:`darts_llm.models.text_residual`.
    text_min_gain
        The relative loss reduction on the most recent training windows the text correction must exceed to be
        used (``"residual"`` only). ``None``: the correction is used without a check (``text_check`` still
        reports what the check would have found), e.g. when the recent weeks are known not to be representative.
        Default: ``0.005`` (0.5%).
    text_dim
        Number of features each text column is projected to (before it enters the backbone's static
        covariates, or the correction network). Default: ``8``.
    encoder_finetuning
        ``"frozen"`` (default): each unique text is encoded once (through :func:`darts_llm.default_cache`)
        and looked up in an embedding table stored with the model; the encoder never runs in the training
        loop, and a fitted model forecasts known texts without loading it. ``"lora"``: LoRA adapters (``peft``)
        on the encoder are trained with the forecaster. ``"full"``: all encoder weights are trained.
    encoder_lr
        Learning rate of the encoder parameters (``"lora"``/``"full"``) in their own optimiser parameter
        group. Default: ``None`` (the learning rate of ``optimizer_kwargs``).
    lora_r, lora_alpha, lora_dropout, lora_target_modules
        LoRA rank (default ``8``), scaling (``16``), dropout (``0.1``) and the encoder modules that get
        adapters (default ``("query", "value")``, right for BERT-like encoders).
    lora_config
        A dict of ``peft.LoraConfig`` arguments; its entries override the four settings above.
    text_dropout
        Dropout on the projected text features (Monte Carlo dropout). Default: ``0.1``. Each embedding is
        standardised (zero mean, unit variance) before its projection.
    text_gate
        A learned per-feature gate on the text features that starts at zero, so that the new network is its
        no-text twin and the text gains influence only as far as training opens the gate. Default: ``True``.
    no_text_prob
        Text dropout: the probability that a training sample sees a learned "no text" vector instead of its
        text features, so that the same network also learns the forecast without text. Default: ``0.5``.
    text_noise
        Standard deviation of Gaussian noise on the projected text features during training (a narrow, noisy
        channel). Default: ``0.0``. See :mod:`darts_llm.models.text_branch`.
    text_components
        Number of principal components of the training texts' embeddings the text projection reads (a frozen
        basis computed at the first fit), or ``None`` for the full embedding. With a few components, the
        projection cannot give every product a code of its own (with few products, a linear map of the full
        embedding can): similar texts get similar features. Default: ``8``.
    text_penalty
        Weight of a penalty on the text's influence (the mean absolute size of the text's part of the features)
        added to the training loss: the text has to lower the forecast error by more than it costs. Default:
        ``0.3``.
    min_input_chunk_length
        Shortest target history the model accepts, ``1 <= min_input_chunk_length <= input_chunk_length``.
        Default: ``None`` (the history must be ``input_chunk_length`` long, as in Darts). When set, Darts
        left-pads shorter input windows with NaN and the network *masks* every NaN step of the past target
        (padding, missing values): NaNs become zeros and an observed-step mask enters the backbone as one more
        past-covariate channel; reversible instance normalisation uses the observed steps only. Training then
        includes the early, padded windows of every series (its launch phase), and
        :meth:`predict_new_products` forecasts products with no history at all.
    short_history_prob
        History dropout (needs ``min_input_chunk_length``): the fraction of training samples that keep only
        their last ``j`` observed steps, ``j`` drawn uniformly from ``0 .. min_input_chunk_length`` (``0``: no
        history, only text and static covariates). Seeded by ``random_state``; validation samples are never
        dropped. Default: ``None`` (``0.2`` with ``min_input_chunk_length``, ``0`` without).
"""


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class TextSettings:
    """The text arguments of a text model, checked and in canonical form (see :data:`TEXT_PARAMS_DOC`)."""

    text_cols: tuple[str, ...] | None = None
    text_encoder: Any = DEFAULT_ENCODER
    text_dim: int = 8
    encoder_finetuning: str = "frozen"
    encoder_lr: float | None = None
    lora_r: int = 8
    lora_alpha: float = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple[str, ...] = DEFAULT_LORA_TARGETS
    lora_config: dict | None = None
    text_entry: str = "residual"
    text_min_gain: float | None = 0.005
    text_dropout: float = 0.1
    text_gate: bool = True
    no_text_prob: float = 0.5
    text_noise: float = 0.0
    text_components: int | None = 8
    text_penalty: float = 0.3
    min_input_chunk_length: int | None = None
    short_history_prob: float | None = None

    def __setstate__(self, state: dict) -> None:
        # settings pickled before the residual entry existed describe the static entry
        state = {"text_entry": "static", **state}
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @classmethod
    def names(cls) -> list[str]:
        """The text argument names, in signature order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_kwargs(cls, kwargs: dict) -> TextSettings:
        """Pop the text arguments out of ``kwargs`` (the rest belongs to the backbone) and check them."""
        given = {name: kwargs.pop(name) for name in cls.names() if name in kwargs}
        return cls(**given)

    def __post_init__(self):
        set_ = object.__setattr__
        text_cols = self.text_cols
        if isinstance(text_cols, str):
            text_cols = (text_cols,)
        elif text_cols is not None:
            text_cols = tuple(text_cols)
            if not text_cols:
                raise_log(ValueError("`text_cols` must name at least one static covariate column, or be None."))
        set_(self, "text_cols", text_cols)
        if self.text_encoder is None:
            set_(self, "text_encoder", DEFAULT_ENCODER)
        if self.encoder_finetuning not in FINETUNING_MODES:
            raise_log(
                ValueError(f"`encoder_finetuning` must be one of {FINETUNING_MODES}, got {self.encoder_finetuning!r}.")
            )
        if not _is_int(self.text_dim) or self.text_dim < 1:
            raise_log(ValueError(f"`text_dim` must be a positive integer, got {self.text_dim!r}."))
        set_(self, "text_dim", int(self.text_dim))
        if self.encoder_lr is not None:
            if not (_is_number(self.encoder_lr) and self.encoder_lr > 0):
                raise_log(ValueError(f"`encoder_lr` must be a positive number or None, got {self.encoder_lr!r}."))
            set_(self, "encoder_lr", float(self.encoder_lr))
        if self.text_entry not in ("residual", "static"):
            raise_log(
                ValueError(
                    f"`text_entry` must be 'residual' (the no-text twin plus a checked text correction, the "
                    f"default) or 'static' (text features among the backbone's static covariates), got "
                    f"{self.text_entry!r}."
                )
            )
        if self.text_min_gain is not None:
            if not (_is_number(self.text_min_gain) and 0 <= self.text_min_gain < 1):
                raise_log(
                    ValueError(
                        f"`text_min_gain` must be a number in [0, 1), e.g. 0.005, or None (use the text without a "
                        f"check), got {self.text_min_gain!r}."
                    )
                )
            set_(self, "text_min_gain", float(self.text_min_gain))
        if not (_is_number(self.text_dropout) and 0 <= self.text_dropout < 1):
            raise_log(ValueError(f"`text_dropout` must be in [0, 1), got {self.text_dropout!r}."))
        set_(self, "text_dropout", float(self.text_dropout))
        if not isinstance(self.text_gate, bool | np.bool_):
            raise_log(ValueError(f"`text_gate` must be True or False, got {self.text_gate!r}."))
        set_(self, "text_gate", bool(self.text_gate))
        if not (_is_number(self.no_text_prob) and 0 <= self.no_text_prob < 1):
            raise_log(ValueError(f"`no_text_prob` must be in [0, 1), got {self.no_text_prob!r}."))
        set_(self, "no_text_prob", float(self.no_text_prob))
        if not (_is_number(self.text_noise) and self.text_noise >= 0):
            raise_log(ValueError(f"`text_noise` must be a number >= 0, got {self.text_noise!r}."))
        set_(self, "text_noise", float(self.text_noise))
        if self.text_components is not None:
            if not _is_int(self.text_components) or self.text_components < 1:
                raise_log(
                    ValueError(f"`text_components` must be a positive integer or None, got {self.text_components!r}.")
                )
            set_(self, "text_components", int(self.text_components))
        if not (_is_number(self.text_penalty) and self.text_penalty >= 0):
            raise_log(ValueError(f"`text_penalty` must be a number >= 0, got {self.text_penalty!r}."))
        set_(self, "text_penalty", float(self.text_penalty))
        self._check_history()
        self._check_lora()

    def _check_history(self) -> None:
        min_icl, prob = self.min_input_chunk_length, self.short_history_prob
        if min_icl is not None:
            if not _is_int(min_icl) or min_icl < 1:
                raise_log(
                    ValueError(
                        f"`min_input_chunk_length` must be a positive integer (at most `input_chunk_length`) or "
                        f"None, got {min_icl!r}."
                    )
                )
            object.__setattr__(self, "min_input_chunk_length", int(min_icl))
        if prob is not None and not (_is_number(prob) and 0 <= prob <= 1):
            raise_log(ValueError(f"`short_history_prob` must be in [0, 1] or None, got {prob!r}."))
        if prob and min_icl is None:
            raise_log(
                ValueError(
                    f"`short_history_prob={prob}` (history dropout) needs `min_input_chunk_length`, which switches "
                    f"on the masking of unobserved steps; e.g. set `min_input_chunk_length=1`."
                )
            )
        if prob is None:
            prob = 0.2 if min_icl is not None else 0.0
        object.__setattr__(self, "short_history_prob", float(prob))

    def _check_lora(self) -> None:
        if self.lora_config is not None and not isinstance(self.lora_config, dict):
            raise_log(ValueError(f"`lora_config` must be a dict of peft.LoraConfig arguments, got {self.lora_config!r}."))
        if not _is_int(self.lora_r) or self.lora_r < 1:
            raise_log(ValueError(f"`lora_r` must be a positive integer, got {self.lora_r!r}."))
        object.__setattr__(self, "lora_r", int(self.lora_r))
        targets = self.lora_target_modules
        if targets is None:
            targets = DEFAULT_LORA_TARGETS
        elif isinstance(targets, str):
            targets = (targets,)
        object.__setattr__(self, "lora_target_modules", tuple(targets))

    def as_params(self) -> dict[str, Any]:
        """The arguments as Darts records them in ``model_params`` (canonical values)."""
        return {name: getattr(self, name) for name in self.names()}

    def lora_settings(self) -> dict[str, Any]:
        """Keyword arguments of ``peft.LoraConfig``: the four LoRA settings, overridden by ``lora_config``."""
        settings = {
            "r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "target_modules": list(self.lora_target_modules),
        }
        settings.update(self.lora_config or {})
        return settings


def merged_signature(init, model_name: str, defaults: dict[str, Any] | None = None) -> inspect.Signature:
    """The signature of ``init`` (a backbone's or a twin's ``__init__``) with the text parameters added.

    The text parameters come keyword-only, with their defaults, before ``**kwargs``; parameters of ``init`` that
    share a name with a text parameter are kept as they are. ``defaults`` replaces the defaults of some of
    ``init``'s own parameters (a twin that differs from its backbone, e.g. an LSTM by default).
    """
    params = [
        p.replace(default=defaults[p.name]) if defaults and p.name in defaults else p
        for p in inspect.signature(init).parameters.values()
    ]
    var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    head = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    have = {p.name for p in head}
    text = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
        for f in dataclasses.fields(TextSettings)
        if f.name not in have
    ]
    if not var_kw:
        raise_log(TypeError(f"{model_name}.__init__ must accept **kwargs, which carry the text arguments."))
    return inspect.Signature([*head, *text, *var_kw])


def text_model_doc(summary: str, backbone: type, notes: str = "", examples: str = "") -> str:
    """The docstring of a text model: ``summary``, the backbone's parameters (named, with a link), ``notes``
    about them, the text parameters (:data:`TEXT_PARAMS_DOC`) and ``examples``."""
    names = [
        p.name if p.kind is not inspect.Parameter.VAR_KEYWORD else f"**{p.name}"
        for p in list(inspect.signature(backbone.__init__).parameters.values())[1:]
    ]
    lines, line = [], "    "
    for name in names:
        piece = name + ", "
        if len(line) + len(piece) > 116:
            lines.append(line.rstrip())
            line = "    "
        line += piece
    lines.append(line.rstrip().rstrip(","))
    text = (
        f"{summary.strip()}\n\n    Parameters\n    ----------\n" + "\n".join(lines) + "\n"
        f"        All parameters of :class:`darts.models.{backbone.__name__}` (and of ``TorchForecastingModel``: "
        f"``n_epochs``, ``batch_size``, ``likelihood``, ``optimizer_kwargs``, ``pl_trainer_kwargs``, "
        f"``random_state``, ...). ``use_static_covariates`` must stay ``True``. {notes.strip()}".rstrip()
        + TEXT_PARAMS_DOC
    )
    if examples:
        text += "\n    Examples\n    --------\n" + examples.rstrip() + "\n"
    return text
