"""The Darts-model side of the text models: :class:`TextCovariatesMixin`.

A text-aware twin of a Darts torch model is ``class TextXModel(TextCovariatesMixin, XModel)`` with a docstring:
the mixin gives the class an ``__init__`` whose signature is ``XModel``'s plus the text arguments (keyword-only,
with their defaults, see :mod:`darts_llm.models.text_settings`), so Darts' ``ModelMeta`` records every text
argument in ``model_params`` and ``untrained_model()``, ``save``/``load``, ``load_weights`` and
``load_from_checkpoint`` all see them. A twin may also write its own ``__init__`` (taking ``**kwargs``); its
signature is extended the same way.

The mixin owns the pieces, each in its own module:

- :class:`~darts_llm.models.text_settings.TextSettings`: the text arguments, checked once;
- :class:`~darts_llm.models.text_schema.TextSchema`: which static columns hold text (resolved at the first fit);
- :class:`~darts_llm.models.vocabulary.TextVocabulary`: text ids and rows, created at the first fit and handed to
  the network (:class:`~darts_llm.models.fusion.TextFusionModule`), whose checkpoints then carry it;
- :mod:`~darts_llm.models.text_datasets`: Darts' datasets with text ids in the samples' static covariates;
- :class:`~darts_llm.models.new_products.NewProductForecasts`: forecasts for products without history.
- :class:`~darts_llm.models.distributed.SingleProcessPrediction`: forecasts in the calling process after training
  on several (Lightning DDP).
- :class:`~darts_llm.models.checked_training.CheckedTextTraining`: the no-text twin first, then the checked text
  correction (``text_entry="residual"``).

Pickled state holds only plain data: the encoder *spec* (never a loaded model), the schema and the vocabulary's
configuration; the vocabulary itself is saved with the network's checkpoint.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from darts import TimeSeries
from darts.logging import raise_log
from darts.utils.serialization import add_safe_globals

from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.encoders.huggingface import HuggingFaceEncoder
from darts_llm.errors import TextInputError
from darts_llm.models.cold_start import HistoryDropout
from darts_llm.models.distributed import SingleProcessPrediction
from darts_llm.models.encoder_spec import encoder_key, quiet_mask_channel_warning, resolve_encoder
from darts_llm.models.fusion import TextFusionModule, backbone_path
from darts_llm.models.new_products import NewProductForecasts
from darts_llm.models.optional import require_peft
from darts_llm.models.text_datasets import TextInferenceDataset, TextTrainingDataset, encode_ids
from darts_llm.models.checked_training import CheckedTextTraining
from darts_llm.models.text_residual import TextCheck
from darts_llm.models.text_schema import TargetLayout, TextSchema, is_missing, refuse_missing_targets
from darts_llm.models.text_schema import resolve_text_schema
from darts_llm.models.text_settings import TEXT_PARAMS_DOC, TextSettings, merged_signature
from darts_llm.models.vocabulary import TextVocabulary, make_vocabulary

logger = logging.getLogger(__name__)

__all__ = ["TEXT_PARAMS_DOC", "TextCovariatesMixin", "darts_backbone"]

def _backbone_of(cls: type) -> type:
    """The class whose ``__init__`` signature a text model extends: the nearest base with its own ``__init__``."""
    for base in cls.__mro__[1:]:
        if base is not TextCovariatesMixin and "__init__" in base.__dict__:
            return base
    raise TypeError(f"{cls.__name__} needs a Darts TorchForecastingModel among its bases.")  # pragma: no cover


def darts_backbone(cls: type) -> type:
    """The Darts model a text model is the twin of (``TiDEModel`` for ``TextTiDEModel``)."""
    for base in cls.__mro__:
        if not issubclass(base, TextCovariatesMixin) and hasattr(base, "_create_model"):
            return base
    raise TypeError(f"{cls.__name__} has no Darts model among its bases.")  # pragma: no cover


class TextCovariatesMixin(CheckedTextTraining, NewProductForecasts, SingleProcessPrediction):
    """Adds text static covariates to a Darts ``TorchForecastingModel`` (put it first among the bases).

    The text parameters are described in :data:`~darts_llm.models.text_settings.TEXT_PARAMS_DOC`; every other
    argument goes to the Darts model.
    """

    def __init_subclass__(cls, backbone_defaults: dict[str, Any] | None = None, **kwargs):
        """Give the text model its ``__init__`` signature: the backbone's (with ``backbone_defaults`` replacing
        some of its defaults) or the class's own, plus the text parameters."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__init__")
        if own is None:
            base = _backbone_of(cls)

            def __init__(self, *args, **kwargs):
                super(cls, self).__init__(*args, **kwargs)

            __init__.__qualname__ = f"{cls.__qualname__}.__init__"
            __init__.__signature__ = merged_signature(base.__init__, cls.__name__, backbone_defaults)
            cls.__init__ = __init__
        else:
            own.__signature__ = merged_signature(own, cls.__name__, backbone_defaults)

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        settings = TextSettings.from_kwargs(kwargs)
        if kwargs.get("use_static_covariates", True) is False:
            raise_log(
                ValueError(
                    f"{name} reads text from the static covariates; `use_static_covariates=False` would switch that "
                    f"off. Use the Darts model without text instead, or remove `use_static_covariates=False`."
                )
            )
        if settings.encoder_finetuning == "frozen" and settings.encoder_lr is not None:
            logger.warning("`encoder_lr` has no effect with encoder_finetuning='frozen' (the encoder is not trained).")
        if settings.encoder_finetuning == "lora":
            require_peft()
        encoder = resolve_encoder(settings.text_encoder)  # fails early on an unknown alias or a missing directory
        if settings.encoder_finetuning != "frozen" and not isinstance(encoder, HuggingFaceEncoder):
            raise_log(
                ValueError(
                    f"encoder_finetuning={settings.encoder_finetuning!r} trains the encoder inside the network, "
                    f"which needs a Hugging Face encoder (an alias, a model id or a local directory); got "
                    f"{encoder!r}. Use encoder_finetuning='frozen' with this encoder."
                )
            )
        #: The text arguments (checked, canonical).
        self.text_settings = settings
        # picklable spec only: a string, the constructor arguments of a HuggingFaceEncoder, or a user encoder
        # instance (whose class the user registers with darts.utils.serialization.add_safe_globals)
        spec = settings.text_encoder
        if isinstance(spec, HuggingFaceEncoder):
            spec = dict(spec.spec, device=spec.device, dtype=spec.dtype)
        self._text_encoder_spec: Any = spec
        self._encoder: TextEncoder | None = encoder  # runtime only, never pickled
        #: Which static columns hold text (resolved at the first fit).
        self._text_schema: TextSchema | None = None
        #: What the training targets looked like (for series of new products).
        self._target_layout: TargetLayout | None = None
        #: The vocabulary (created at the first fit; the network's child once the network exists).
        self._vocabulary: TextVocabulary | None = None
        #: How to rebuild an empty vocabulary of this model (plain data, pickled; set with the network).
        self._vocabulary_config: dict | None = None
        #: What the text check of the last fit found (``text_entry="residual"``).
        self._text_check: TextCheck | None = None
        super().__init__(*args, **kwargs)
        # Darts recorded the arguments as given: record the canonical values (defaults given or omitted compare equal)
        self._model_params.update(settings.as_params())
        if self.masks_missing_history and settings.min_input_chunk_length > self.input_chunk_length:
            raise_log(
                ValueError(
                    f"`min_input_chunk_length` ({settings.min_input_chunk_length}) must be at most "
                    f"`input_chunk_length` ({self.input_chunk_length})."
                )
            )

    # ------------------------------------------------------------------------------------------ settings
    @property
    def text_dim(self) -> int:
        """Size of the projected text features of each text column."""
        return self.text_settings.text_dim

    @property
    def text_dropout(self) -> float:
        """Dropout on the projected text features."""
        return self.text_settings.text_dropout

    @property
    def encoder_finetuning(self) -> str:
        """``"frozen"``, ``"lora"`` or ``"full"``."""
        return self.text_settings.encoder_finetuning

    @property
    def short_history_prob(self) -> float:
        """The fraction of training samples with history dropout."""
        return self.text_settings.short_history_prob

    @property
    def min_input_chunk_length(self) -> int:
        """The shortest target history the model accepts (``input_chunk_length`` unless set at creation)."""
        min_icl = self.text_settings.min_input_chunk_length
        return self.input_chunk_length if min_icl is None else min_icl

    @property
    def masks_missing_history(self) -> bool:
        """Whether unobserved (NaN) input steps are masked: ``min_input_chunk_length`` was given."""
        return self.text_settings.min_input_chunk_length is not None

    # ------------------------------------------------------------------------------------------ encoder
    def _get_encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = resolve_encoder(self._text_encoder_spec)
        return self._encoder

    @property
    def text_encoder(self) -> TextEncoder:
        """The text encoder (resolved from the stored spec; weights load on first use)."""
        return self._get_encoder()

    @property
    def text_columns(self) -> list | None:
        """The static covariate columns read as text (``None`` before ``fit()``)."""
        return None if self._text_schema is None else list(self._text_schema.text_cols)

    @property
    def text_vocabulary(self) -> TextVocabulary | None:
        """The model's :class:`~darts_llm.models.vocabulary.TextVocabulary` (``None`` before ``fit()``)."""
        return self._vocabulary

    # ------------------------------------------------------------------------------------------ vocabulary
    def _new_vocabulary(self) -> TextVocabulary:
        settings = self.text_settings
        config = {"kind": settings.encoder_finetuning}
        if settings.encoder_finetuning != "frozen":  # the transformer trains inside the network
            config.update(encoder_spec=dict(self._get_encoder().spec, device="cpu"),
                          lora_settings=settings.lora_settings())
        return make_vocabulary(config)

    def text_ids(self, texts: list[str]) -> list[int]:
        """The vocabulary ids of ``texts``; texts not seen before are encoded (frozen) or tokenised and added."""
        if self._vocabulary is None:
            self._vocabulary = self._new_vocabulary()
        if self._vocabulary.missing(texts):
            self._vocabulary.add(texts, self._get_encoder())
        return self._vocabulary.ids(texts)

    # ------------------------------------------------------------------------------------------ columns
    def _verify_static_covariates(self, static_covariates: pd.DataFrame | None):
        """Darts' check (numeric only) replaced: text columns may be strings; the columns must match the fit.
        At the first fit the schema is resolved from all training series (:meth:`_static_rows`)."""
        if self._text_schema is not None:
            self._text_schema.check(static_covariates, type(self).__name__)

    def _static_rows(self, series: Sequence[TimeSeries]) -> list[np.ndarray]:
        """Per series, its static covariates as numbers: numeric columns, then ``ID_DIGITS`` digits per text
        column (unseen texts are added to the vocabulary here)."""
        name = type(self).__name__
        if self._text_schema is None:
            self._text_schema = resolve_text_schema(series, self.text_settings.text_cols, name)
        schema = self._text_schema
        columns = list(schema.columns)
        text_idx = [columns.index(c) for c in schema.text_cols]
        numeric_idx = [columns.index(c) for c in schema.numeric_cols]
        tables = []  # one object array per series (a single pandas call each: this runs on every predict)
        for i, s in enumerate(series):
            schema.check(s.static_covariates, name, where=f" (index {i})")
            tables.append(s.static_covariates.to_numpy(dtype=object))
        texts: list[str] = []
        for i, table in enumerate(tables):
            for j, col in zip(text_idx, schema.text_cols):
                values = [None if is_missing(v) else v for v in table[:, j]]
                texts += clean_texts(values, name=f"static covariate {col!r} of series {i}")
        ids = self.text_ids(texts)
        rows, pos = [], 0
        for i, (s, table) in enumerate(zip(series, tables)):
            n = len(table)
            try:
                numeric = table[:, numeric_idx].astype(s.dtype)
            except (TypeError, ValueError) as err:
                raise_log(
                    TextInputError(
                        f"The numeric static covariates {list(schema.numeric_cols)} of series {i} cannot be read as "
                        f"numbers ({err}). Add text columns to `text_cols`, or convert the values to numbers."
                    )
                )
            # text ids were collected series by series, column by column, row by row
            digits = [encode_ids(ids[pos + k * n : pos + (k + 1) * n]).astype(s.dtype) for k in range(len(text_idx))]
            pos += n * len(text_idx)
            rows.append(np.concatenate([numeric, *digits], axis=1))
        return rows

    # ------------------------------------------------------------------------------------------ datasets
    def _build_train_dataset(self, series, past_covariates, future_covariates, sample_weight, max_samples_per_ts,
                             stride: int = 1):
        inner = super()._build_train_dataset(
            series=series,
            past_covariates=past_covariates,
            future_covariates=future_covariates,
            sample_weight=sample_weight,
            max_samples_per_ts=max_samples_per_ts,
            stride=stride,
        )
        if not self.masks_missing_history:
            refuse_missing_targets(series, type(self).__name__)
        return TextTrainingDataset(inner, self._static_rows(series))

    def _build_inference_dataset(self, n, series, past_covariates, future_covariates, stride: int = 0,
                                 bounds=None):
        inner = super()._build_inference_dataset(
            n=n,
            series=series,
            past_covariates=past_covariates,
            future_covariates=future_covariates,
            stride=stride,
            bounds=bounds,
        )
        return TextInferenceDataset(inner, self._static_rows(series))

    def _setup_for_fit_from_dataset(self, series, *args, **kwargs):
        series_input, params = super()._setup_for_fit_from_dataset(series, *args, **kwargs)
        self._target_layout = TargetLayout.of(series if isinstance(series, TimeSeries) else series[0])
        train = params["train_dataset"]
        prob = self.short_history_prob
        if isinstance(train, TextTrainingDataset) and self.masks_missing_history and prob > 0:
            # a seed drawn from the fit's seeded torch RNG, without consuming it (weights initialise as without)
            with torch.random.fork_rng(devices=[]):
                seed = int(torch.randint(0, 2**31 - 1, (1,)))
            train.history_dropout = HistoryDropout(prob, self.min_input_chunk_length, seed, len(train))
        return series_input, params

    # ------------------------------------------------------------------------------------------ network
    def _build_backbone(self, train_sample):
        """Darts' own module for the widened static covariates (numeric columns + ``text_dim`` per text column)."""
        schema, text_dim = self._text_schema, self.text_dim
        n_rows = train_sample.static_covariates.shape[0]
        wide_cols = list(schema.numeric_cols)
        if self.text_settings.text_entry == "static":
            wide_cols += [f"{c}__text{j}" for c in schema.text_cols for j in range(text_dim)]
        numeric = train_sample.static_covariates[:, : len(schema.numeric_cols)]
        static = (numeric if self.text_settings.text_entry == "residual" else
                  np.zeros((n_rows, len(wide_cols)), dtype=train_sample.static_covariates.dtype))
        # the twin of a model whose only static covariates are texts has none
        wide = train_sample.replace(static_covariates=static if len(wide_cols) else None)
        if self.masks_missing_history:
            # the observed-step mask is one more past-covariate channel of the backbone
            past = train_sample.past_target
            channel = np.zeros((past.shape[0], 1), dtype=past.dtype)
            covs = train_sample.past_covariates
            wide = wide.replace(past_covariates=channel if covs is None else np.concatenate([covs, channel], axis=1))
        saved_static, saved_shape = self.static_covariates, self.pl_module_params.get("train_sample_shape")
        self.static_covariates = (pd.DataFrame(np.zeros((n_rows, len(wide_cols))), columns=wide_cols)
                                  if len(wide_cols) else None)
        self.pl_module_params["train_sample_shape"] = wide.sample_shapes()
        try:
            with quiet_mask_channel_warning(self.masks_missing_history):
                return super()._create_model(wide)
        finally:
            self.static_covariates = saved_static
            self.pl_module_params["train_sample_shape"] = saved_shape

    def _create_model(self, train_sample):
        if self._text_schema is None:
            raise_log(
                ValueError(
                    f"{type(self).__name__} must be trained with `fit()` (which reads the text columns); "
                    f"`fit_from_dataset()` with a custom dataset, and `load_weights()` with `skip_checks=True`, "
                    f"are not supported."
                )
            )
        backbone = self._build_backbone(train_sample)
        # `load_weights()`: an empty vocabulary of the saved kind, filled by the checkpoint's state
        vocabulary = self._vocabulary or make_vocabulary(self._vocabulary_config)
        settings = self.text_settings
        module = TextFusionModule(
            backbone_class=backbone_path(type(backbone)),
            backbone_hparams=dict(backbone.hparams),
            n_numeric=len(self._text_schema.numeric_cols),
            n_text_cols=len(self._text_schema.text_cols),
            text_dim=settings.text_dim,
            vocabulary_config=vocabulary.config(),
            text_dropout=settings.text_dropout,
            text_gate=settings.text_gate,
            no_text_prob=settings.no_text_prob,
            text_noise=settings.text_noise,
            text_components=settings.text_components,
            text_penalty=settings.text_penalty,
            text_entry=settings.text_entry,
            n_target_components=int(train_sample.future_target.shape[1]),
            n_static_rows=int(train_sample.static_covariates.shape[0]),
            encoder_lr=settings.encoder_lr,
            observed_mask=self.masks_missing_history,
            backbone=backbone,
            vocabulary=vocabulary,
            **self.pl_module_params,
        )
        if settings.text_components is not None and self._vocabulary is not None:
            # the basis of the texts known at the first fit (a checkpoint being loaded brings its own)
            rows = torch.as_tensor(vocabulary.similarity_rows(vocabulary.texts, self._get_encoder()))
            for branch in module.all_text_branches:
                branch.fit_basis(rows)
        self._adopt_vocabulary(module)
        return module

    def _adopt_vocabulary(self, module: TextFusionModule) -> None:
        """The network's vocabulary is the model's (one object)."""
        self._vocabulary = module.vocabulary
        self._vocabulary_config = module.vocabulary.config()

    # ------------------------------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = super().__getstate__()
        state["_encoder"] = None
        state["_vocabulary"] = None  # saved with the network (its checkpoint), never twice
        return state

    def __setstate__(self, d):
        super().__setstate__(d)
        self._encoder = None

    def _check_ckpt_parameters(self, tfm_save):
        # `load_weights()`: encoders compare by their settings; the column layout is the saved model's
        mine, saved = self.model_params.get("text_encoder"), tfm_save.model_params.get("text_encoder")
        if "text_encoder" in tfm_save.model_params and encoder_key(mine) == encoder_key(saved):
            tfm_save.model_params["text_encoder"] = mine
        if "text_entry" not in tfm_save.model_params:  # saved before the residual entry: the static one
            tfm_save.model_params.update(text_entry="static", text_min_gain=self.model_params.get("text_min_gain"))
        super()._check_ckpt_parameters(tfm_save)
        if tfm_save._text_schema is not None:
            self._text_schema = tfm_save._text_schema
            self._target_layout = tfm_save._target_layout
            self._vocabulary_config = copy.deepcopy(tfm_save._vocabulary_config)
            self._vocabulary = None

    def _load_from_checkpoint(self, file_path, trusted=False, **kwargs):
        module = super()._load_from_checkpoint(file_path, trusted=trusted, **kwargs)
        self._adopt_vocabulary(module)
        return module


TextCovariatesMixin.__doc__ += "\n    Parameters\n    ----------" + TEXT_PARAMS_DOC

add_safe_globals([HuggingFaceEncoder, TextSchema, TargetLayout, TextSettings, TextCheck])
