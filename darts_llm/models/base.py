"""The Darts-model side of the text models: :class:`TextCovariatesMixin`.

A text-aware twin of a Darts torch model is ``class TextXModel(TextCovariatesMixin, XModel)`` with ``XModel``'s
``__init__`` signature (see ``text_tide_model.py``). The mixin

- resolves the text columns among the static covariates at fit (:meth:`TextCovariatesMixin._verify_static_covariates`),
- keeps the vocabulary of texts (id = position) and encodes texts it has not seen yet (frozen: through
  :func:`darts_llm.cache.default_cache`; lora/full: tokenises them),
- wraps Darts' training and inference datasets so that each sample's static covariates carry numeric text ids
  instead of strings (the series themselves, and thus the forecasts' static covariates, stay as given),
- builds the backbone module for the widened static covariates and wraps it in
  :class:`~darts_llm.models.fusion.TextFusionModule` (:meth:`TextCovariatesMixin._create_model`),
- with ``min_input_chunk_length``: accepts short (and all-NaN) histories, masks their unobserved steps, trains
  with history dropout and forecasts products without any history (:meth:`TextCovariatesMixin.predict_new_products`);
  see :mod:`darts_llm.models.cold_start`.

Pickled state holds only plain data: the encoder *spec* (never a loaded model), the column layout and the texts.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from darts import TimeSeries
from darts.logging import raise_log
from darts.utils.data.torch_datasets.inference_dataset import TorchInferenceDataset
from darts.utils.data.torch_datasets.training_dataset import TorchTrainingDataset
from darts.utils.serialization import add_safe_globals

from darts_llm.cache import default_cache
from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.encoders.huggingface import HuggingFaceEncoder
from darts_llm.errors import TextInputError
from darts_llm.models.cold_start import HistoryDropout, new_product_series
from darts_llm.models.fusion import (
    FINETUNING_MODES,
    ID_DIGITS,
    MAX_TEXTS,
    TextFusionModule,
    encode_ids,
)

logger = logging.getLogger(__name__)

__all__ = ["TEXT_PARAMS_DOC", "TextCovariatesMixin", "require_peft"]

#: Default LoRA target modules: the attention projections of BERT-like encoders (MiniLM, MPNet, E5, ...).
DEFAULT_LORA_TARGETS = ("query", "value")

#: Docstring section shared by the text models (appended to each model's ``Parameters``).
TEXT_PARAMS_DOC = """
        text_cols
            Static covariate columns holding text. Default: every non-numeric column of the static covariates of
            the series passed to ``fit()`` (a string group column such as a SKU code counts too; name the columns
            to leave it out, or drop it with ``from_group_dataframe(..., drop_group_cols=...)``). All other static
            columns must be numeric; they are passed to the backbone untouched. Missing texts (``None``/NaN) are
            the empty string; numbers in a text column are an error.
        text_encoder
            The text encoder: an alias (``"minilm"``, the default), a Hugging Face model id, a local directory
            (see :func:`darts_llm.get_encoder`), or a :class:`~darts_llm.TextEncoder` instance (``"frozen"`` only,
            unless it is a :class:`~darts_llm.HuggingFaceEncoder`). Only its spec is saved with the model, never
            its weights. A custom ``TextEncoder`` class is pickled with the model: register it with
            ``darts.utils.serialization.add_safe_globals`` to load the model safely.
        text_dim
            Number of features each text column is projected to before it enters the backbone's static
            covariates. Default: ``16``.
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


def require_peft() -> None:
    """Raise an ``ImportError`` that says how to install ``peft`` when it is missing."""
    if importlib.util.find_spec("peft") is None:
        raise ImportError(
            'encoder_finetuning="lora" needs the `peft` package, which is not installed. Install it with '
            '`pip install "darts-llm[lora]"`, or use encoder_finetuning="frozen" or "full".'
        )


_ENCODERS: dict[str, TextEncoder] = {}


def _resolve_encoder(spec) -> TextEncoder:
    """A :class:`TextEncoder` for ``spec``; string specs resolve once per process (weights load once)."""
    from darts_llm.registry import get_encoder

    if isinstance(spec, TextEncoder):
        return spec
    if isinstance(spec, dict):  # the spec of a HuggingFaceEncoder
        return HuggingFaceEncoder(**spec)
    key = "minilm" if spec is None else spec
    if isinstance(key, str) and key in _ENCODERS:
        return _ENCODERS[key]
    encoder = get_encoder(spec)
    if isinstance(key, str):
        _ENCODERS[key] = encoder
    return encoder


def _encoder_key(spec):
    """Encoders compare by their settings (an encoder instance has no value equality)."""
    if isinstance(spec, HuggingFaceEncoder):
        return ("hf", tuple(sorted(spec.spec.items())), spec.device, spec.dtype)
    return spec


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value))


def _is_text_column(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values.dtype)


def _take_static_covariates(inner) -> bool:
    """Stop a Darts dataset from reading the static covariates (a slow pandas call on mixed text/number
    columns, for every sample); the text dataset sets its numeric rows instead. ``False`` if it uses none."""
    uses = bool(getattr(inner, "uses_static_covariates_covariates", False))
    inner.uses_static_covariates_covariates = False
    return uses


class _DropMaskWidthWarning(logging.Filter):
    """TiDE warns when it has fewer past covariates than ``temporal_width_past``; the mask channel is ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "features is <= `temporal_width_past`" not in record.getMessage()


@contextlib.contextmanager
def _quiet_mask_channel_warning(active: bool):
    if not active:
        yield
        return
    darts_logger = logging.getLogger("darts.models.forecasting.tide_model")
    quiet = _DropMaskWidthWarning()
    darts_logger.addFilter(quiet)
    try:
        yield
    finally:
        darts_logger.removeFilter(quiet)


class _TextTrainingDataset(TorchTrainingDataset):
    """A Darts training dataset whose samples carry numeric static covariates (text ids instead of strings)."""

    def __init__(self, inner: TorchTrainingDataset, static_rows: list[np.ndarray]):
        super().__init__()
        self.inner = inner
        self.static_rows = static_rows
        self.max_samples_per_ts = inner.max_samples_per_ts
        self.uses_static = _take_static_covariates(inner)
        #: :class:`~darts_llm.models.cold_start.HistoryDropout` (set on the training dataset of a fit only)
        self.history_dropout: HistoryDropout | None = None

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        sample = self.inner[index]  # a new sample object: set its static covariates in place
        if self.uses_static:
            sample.static_covariates = self.static_rows[index // self.max_samples_per_ts]
        if self.history_dropout is not None:
            sample = self.history_dropout(index, sample)
        return sample


class _TextInferenceDataset(TorchInferenceDataset):
    """A Darts inference dataset whose samples carry numeric static covariates; the series schema (and thus the
    forecasts' static covariates) keeps the original text."""

    def __init__(self, inner: TorchInferenceDataset, static_rows: list[np.ndarray]):
        super().__init__()
        self.inner = inner
        self.static_rows = static_rows
        self.uses_static = _take_static_covariates(inner)

    def __len__(self) -> int:
        return len(self.inner)

    def _series_idx(self, index: int) -> int:
        inner = self.inner
        if inner.bounds is None:
            return index
        return inner._find_list_index(index, inner.cum_lengths, inner.bounds, inner.stride)[0]

    def __getitem__(self, index: int):
        sample = self.inner[index]
        if self.uses_static:
            sample.static_covariates = self.static_rows[self._series_idx(index)]
        return sample


class TextCovariatesMixin:
    """Adds text static covariates to a Darts ``TorchForecastingModel`` (put it first among the bases).

    The keyword parameters are described in :data:`TEXT_PARAMS_DOC`; every other argument goes to the Darts model.
    """

    def __init__(
        self,
        *args,
        text_cols: str | Sequence[str] | None = None,
        text_encoder: str | TextEncoder | None = None,
        text_dim: int = 16,
        encoder_finetuning: str = "frozen",
        encoder_lr: float | None = None,
        lora_r: int = 8,
        lora_alpha: float = 16,
        lora_dropout: float = 0.1,
        lora_target_modules: Sequence[str] | None = None,
        lora_config: dict | None = None,
        text_dropout: float = 0.1,
        min_input_chunk_length: int | None = None,
        short_history_prob: float | None = None,
        **kwargs,
    ):
        name = type(self).__name__
        if kwargs.get("use_static_covariates", True) is False:
            raise ValueError(
                f"{name} reads text from the static covariates; `use_static_covariates=False` would switch that "
                f"off. Use the Darts model without text instead, or remove `use_static_covariates=False`."
            )
        if encoder_finetuning not in FINETUNING_MODES:
            raise ValueError(f"`encoder_finetuning` must be one of {FINETUNING_MODES}, got {encoder_finetuning!r}.")
        if not isinstance(text_dim, int) or isinstance(text_dim, bool) or text_dim < 1:
            raise ValueError(f"`text_dim` must be a positive integer, got {text_dim!r}.")
        if encoder_lr is not None and not (isinstance(encoder_lr, int | float) and encoder_lr > 0):
            raise ValueError(f"`encoder_lr` must be a positive number or None, got {encoder_lr!r}.")
        if not (isinstance(text_dropout, int | float) and 0 <= text_dropout < 1):
            raise ValueError(f"`text_dropout` must be in [0, 1), got {text_dropout!r}.")
        if isinstance(text_cols, str):
            text_cols = [text_cols]
        elif text_cols is not None:
            text_cols = list(text_cols)
            if not text_cols:
                raise ValueError("`text_cols` must name at least one static covariate column, or be None.")
        if min_input_chunk_length is not None and (
            not isinstance(min_input_chunk_length, int | np.integer)
            or isinstance(min_input_chunk_length, bool)
            or min_input_chunk_length < 1
        ):
            raise ValueError(
                f"`min_input_chunk_length` must be a positive integer (at most `input_chunk_length`) or None, got "
                f"{min_input_chunk_length!r}."
            )
        if short_history_prob is not None and not (
            isinstance(short_history_prob, int | float) and 0 <= short_history_prob <= 1
        ):
            raise ValueError(f"`short_history_prob` must be in [0, 1] or None, got {short_history_prob!r}.")
        if short_history_prob and min_input_chunk_length is None:
            raise ValueError(
                f"`short_history_prob={short_history_prob}` (history dropout) needs `min_input_chunk_length`, "
                f"which switches on the masking of unobserved steps; e.g. set `min_input_chunk_length=1`."
            )
        if lora_config is not None and not isinstance(lora_config, dict):
            raise ValueError(f"`lora_config` must be a dict of peft.LoraConfig arguments, got {lora_config!r}.")
        if encoder_finetuning == "frozen" and encoder_lr is not None:
            logger.warning("`encoder_lr` has no effect with encoder_finetuning='frozen' (the encoder is not trained).")
        if encoder_finetuning == "lora":
            require_peft()
            if not isinstance(lora_r, int) or lora_r < 1:
                raise ValueError(f"`lora_r` must be a positive integer, got {lora_r!r}.")

        encoder = _resolve_encoder(text_encoder)  # fails early on an unknown alias or a missing directory
        if encoder_finetuning != "frozen" and not isinstance(encoder, HuggingFaceEncoder):
            raise ValueError(
                f"encoder_finetuning={encoder_finetuning!r} trains the encoder inside the network, which needs a "
                f"Hugging Face encoder (an alias, a model id or a local directory); got {encoder!r}. "
                f"Use encoder_finetuning='frozen' with this encoder."
            )

        self._text_cols_param = text_cols
        # picklable spec only: a string, the constructor arguments of a HuggingFaceEncoder, or a user encoder
        # instance (whose class the user registers with darts.utils.serialization.add_safe_globals)
        if isinstance(text_encoder, HuggingFaceEncoder):
            self._text_encoder_spec: Any = dict(text_encoder.spec, device=text_encoder.device, dtype=text_encoder.dtype)
        else:
            self._text_encoder_spec = text_encoder
        self.text_dim = text_dim
        self.encoder_finetuning = encoder_finetuning
        self.encoder_lr = encoder_lr
        self.text_dropout = float(text_dropout)
        settings = {
            "r": lora_r,
            "lora_alpha": lora_alpha,
            "lora_dropout": lora_dropout,
            "target_modules": list(lora_target_modules or DEFAULT_LORA_TARGETS),
        }
        settings.update(lora_config or {})
        self._lora_settings = settings

        #: Column layout resolved at the first fit: {"columns", "text_cols", "numeric_cols", "embedding_dim", ...}.
        self._text_schema: dict | None = None
        #: The texts known to the model; a text's id is its position (ids never change).
        self._texts: list[str] = []
        self._text_index: dict[str, int] = {}
        self._pending_rows: list = []  # encodings of texts added before the network exists
        self._encoder: TextEncoder | None = encoder  # runtime only, never pickled
        self._min_icl = None if min_input_chunk_length is None else int(min_input_chunk_length)
        if short_history_prob is None:
            short_history_prob = 0.2 if min_input_chunk_length is not None else 0.0
        self.short_history_prob = float(short_history_prob)
        super().__init__(*args, **kwargs)
        if self._min_icl is not None and self._min_icl > self.input_chunk_length:
            raise ValueError(
                f"`min_input_chunk_length` ({self._min_icl}) must be at most `input_chunk_length` "
                f"({self.input_chunk_length})."
            )

    # ------------------------------------------------------------------------------------------ short history
    @property
    def min_input_chunk_length(self) -> int:
        """The shortest target history the model accepts (``input_chunk_length`` unless set at creation)."""
        min_icl = getattr(self, "_min_icl", None)
        return self.input_chunk_length if min_icl is None else min_icl

    @property
    def masks_missing_history(self) -> bool:
        """Whether unobserved (NaN) input steps are masked: ``min_input_chunk_length`` was given."""
        return getattr(self, "_min_icl", None) is not None

    # ------------------------------------------------------------------------------------------ encoder
    def _get_encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = _resolve_encoder(self._text_encoder_spec)
        return self._encoder

    @property
    def text_encoder(self) -> TextEncoder:
        """The text encoder (resolved from the stored spec; weights load on first use)."""
        return self._get_encoder()

    @property
    def text_columns(self) -> list | None:
        """The static covariate columns read as text (``None`` before ``fit()``)."""
        return None if self._text_schema is None else list(self._text_schema["text_cols"])

    # ------------------------------------------------------------------------------------------ vocabulary
    @property
    def _vocab(self) -> list[str]:
        """The authoritative vocabulary: the network's when it exists (it is saved in its checkpoints)."""
        return self.model.texts if self.model is not None else self._texts

    def _ids_of(self, texts: list[str]) -> list[int]:
        vocab = self._vocab
        if len(self._text_index) != len(vocab):
            self._text_index = {t: i for i, t in enumerate(vocab)}
        new = [t for t in dict.fromkeys(texts) if t not in self._text_index]
        if new:
            self._add_texts(new)
            vocab = self._vocab
            for i in range(len(vocab) - len(new), len(vocab)):
                self._text_index[vocab[i]] = i
        return [self._text_index[t] for t in texts]

    def _add_texts(self, texts: list[str]) -> None:
        """Encode (frozen) or tokenise (lora/full) new texts and append them to the vocabulary."""
        if len(self._vocab) + len(texts) > MAX_TEXTS:
            raise_log(ValueError(f"A text model holds at most {MAX_TEXTS:,} distinct texts."))
        encoder = self._get_encoder()
        schema = self._text_schema
        if self.encoder_finetuning == "frozen":
            rows = default_cache().encode(encoder, texts)
            if schema.get("encoder_id") is None:
                schema["encoder_id"] = encoder.encoder_id
            elif encoder.encoder_id != schema["encoder_id"]:
                raise_log(
                    ValueError(
                        f"The text encoder now resolves to {encoder.encoder_id!r}, but this model was fitted with "
                        f"{schema['encoder_id']!r}; embeddings of the two cannot be mixed. Restore the encoder "
                        f"the model was fitted with, or fit a new model."
                    )
                )
        else:
            batch = encoder.tokenize(texts)
            rows = (batch["input_ids"].numpy(), batch["attention_mask"].numpy())
        if self.model is not None:
            self.model.append_texts(list(texts), rows)
        else:
            self._texts.extend(texts)
            self._pending_rows.append(rows)
        logger.info("Added %d new text(s) to the vocabulary of %s.", len(texts), type(self).__name__)

    # ------------------------------------------------------------------------------------------ columns
    def _resolve_text_schema(self, static: pd.DataFrame | None) -> dict:
        name = type(self).__name__
        if static is None or static.shape[1] == 0:
            raise_log(
                ValueError(
                    f"{name} found no static covariates in the target series, so there is no text column. "
                    f"Attach the text as a string static covariate, e.g. TimeSeries.from_group_dataframe(df, "
                    f"group_cols='sku', time_col='week', value_cols='qty', static_cols=['description']); "
                    f"`text_cols` must name string static covariate columns."
                )
            )
        columns = list(static.columns)
        if self._text_cols_param is None:
            text_cols = [c for c in columns if _is_text_column(static[c])]
            if not text_cols:
                raise_log(
                    ValueError(
                        f"{name} found no text column among the static covariate columns {columns} (all are "
                        f"numeric). `text_cols` must name string static covariate columns, e.g. a product "
                        f"description attached with TimeSeries.from_group_dataframe(..., static_cols=['description'])."
                    )
                )
        else:
            text_cols = list(self._text_cols_param)
            missing = [c for c in text_cols if c not in columns]
            if missing:
                raise_log(
                    ValueError(
                        f"`text_cols` names {missing}, which are not static covariate columns; the static "
                        f"covariates have the columns {columns}. `text_cols` must name string static covariate columns."
                    )
                )
        numeric_cols = [c for c in columns if c not in text_cols]
        bad = [c for c in numeric_cols if _is_text_column(static[c])]
        if bad:
            raise_log(
                ValueError(
                    f"The static covariate columns {bad} are neither numeric nor listed in `text_cols` "
                    f"({text_cols}). Add them to `text_cols`, encode them as numbers, or drop them (for group "
                    f"columns: TimeSeries.from_group_dataframe(..., drop_group_cols=...))."
                )
            )
        logger.info("%s reads text from the static covariate columns %s.", name, text_cols)
        return {"columns": columns, "text_cols": text_cols, "numeric_cols": numeric_cols}

    def _check_columns(self, static: pd.DataFrame | None, where: str = "") -> None:
        schema = self._text_schema
        if static is None:
            raise_log(
                ValueError(
                    f"{type(self).__name__} was fitted with the static covariates {schema['columns']} (text in "
                    f"{schema['text_cols']}), but a target series{where} has no static covariates. Attach the same "
                    f"static covariate columns to every series."
                )
            )
        if list(static.columns) != schema["columns"]:
            raise_log(
                ValueError(
                    f"The static covariate columns of a target series{where} are {list(static.columns)}, but "
                    f"{type(self).__name__} was fitted with {schema['columns']} (text in {schema['text_cols']}). "
                    f"Use the same static covariate columns, in the same order, at fit and prediction."
                )
            )

    def _verify_static_covariates(self, static_covariates: pd.DataFrame | None):
        """Darts' check (numeric only) replaced: text columns may be strings; the columns must match the fit."""
        if self._text_schema is None:
            self._text_schema = self._resolve_text_schema(static_covariates)
        else:
            self._check_columns(static_covariates)

    def _static_rows(self, series: Sequence[TimeSeries]) -> list[np.ndarray]:
        """Per series, its static covariates as numbers: numeric columns, then ``ID_DIGITS`` digits per text
        column (unseen texts are encoded and added to the vocabulary here)."""
        if self._text_schema is None:
            self._text_schema = self._resolve_text_schema(series[0].static_covariates)
        schema = self._text_schema
        text_cols, numeric_cols = schema["text_cols"], schema["numeric_cols"]
        columns = schema["columns"]
        text_idx = [columns.index(c) for c in text_cols]
        numeric_idx = [columns.index(c) for c in numeric_cols]
        tables = []  # one object array per series (a single pandas call each: this runs on every predict)
        for i, s in enumerate(series):
            static = s.static_covariates
            self._check_columns(static, where=f" (index {i})")
            tables.append(static.to_numpy(dtype=object))
        texts: list[str] = []
        for i, table in enumerate(tables):
            for j, col in zip(text_idx, text_cols):
                values = [None if _is_missing(v) else v for v in table[:, j]]
                texts += clean_texts(values, name=f"static covariate {col!r} of series {i}")
        ids = self._ids_of(texts)
        rows, pos = [], 0
        for i, (s, table) in enumerate(zip(series, tables)):
            n = len(table)
            try:
                numeric = table[:, numeric_idx].astype(s.dtype)
            except (TypeError, ValueError) as err:
                raise_log(
                    TextInputError(
                        f"The numeric static covariates {numeric_cols} of series {i} cannot be read as numbers "
                        f"({err}). Add text columns to `text_cols`, or convert the values to numbers."
                    )
                )
            # text ids were collected series by series, column by column, row by row
            digits = [np.asarray(encode_ids(ids[pos + k * n : pos + (k + 1) * n]), dtype=s.dtype)
                      for k in range(len(text_cols))]
            pos += n * len(text_cols)
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
        return _TextTrainingDataset(inner, self._static_rows(series))

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
        return _TextInferenceDataset(inner, self._static_rows(series))

    def _setup_for_fit_from_dataset(self, series, *args, **kwargs):
        series_input, params = super()._setup_for_fit_from_dataset(series, *args, **kwargs)
        first = series if isinstance(series, TimeSeries) else series[0]
        if self._text_schema is not None:
            # what a new product's series looks like (predict_new_products)
            self._text_schema["target"] = {
                "freq": first.freq,
                "components": list(first.components),
                "dtype": np.dtype(first.dtype).name,
            }
        train = params["train_dataset"]
        prob = getattr(self, "short_history_prob", 0.0)
        if isinstance(train, _TextTrainingDataset) and self.masks_missing_history and prob > 0:
            # a seed drawn from the fit's seeded torch RNG, without consuming it (weights initialise as without)
            with torch.random.fork_rng(devices=[]):
                seed = int(torch.randint(0, 2**31 - 1, (1,)))
            train.history_dropout = HistoryDropout(
                prob, self.min_input_chunk_length, seed, len(train)
            )
        return series_input, params

    # ------------------------------------------------------------------------------------------ new products
    def new_product_series(self, static_covariates: pd.DataFrame, start) -> list[TimeSeries]:
        """Target series without any observation for new products: what :meth:`predict_new_products` forecasts.

        Each series holds ``min_input_chunk_length`` NaN steps ending one step before ``start``, on the
        frequency of the training series, and carries one row of ``static_covariates``. Use them like any
        series (``predict``, :func:`~darts_llm.models.explain.explain_text`); with future covariates, these must
        start at the series' start.

        Parameters
        ----------
        static_covariates
            One row per product, with every static covariate column the model was fitted with (other columns
            are ignored).
        start
            The first forecast step (a timestamp, or an integer for series with a range index).
        """
        name = type(self).__name__
        if self.model is None or self._text_schema is None:
            raise_log(ValueError(f"{name} must be fitted before forecasting new products; call `fit()` first."))
        if not self.masks_missing_history:
            raise_log(
                ValueError(
                    f"This {name} was fitted without `min_input_chunk_length`, so it needs "
                    f"{self.input_chunk_length} observed steps per series and cannot forecast products without "
                    f"history. Create the model with e.g. `min_input_chunk_length=1` (and `short_history_prob=0.2`, "
                    f"the default then: training samples without history) and fit it again."
                )
            )
        schema = self._text_schema
        if isinstance(static_covariates, pd.Series):
            static_covariates = static_covariates.to_frame().T
        if not isinstance(static_covariates, pd.DataFrame):
            raise_log(
                ValueError(
                    f"`static_covariates` must be a pandas DataFrame with one row per product and the columns "
                    f"{schema['columns']}; got {type(static_covariates).__name__}."
                )
            )
        if static_covariates.empty:
            raise_log(ValueError("`static_covariates` has no rows; give one row per new product."))
        missing = [c for c in schema["columns"] if c not in static_covariates.columns]
        if missing:
            raise_log(
                ValueError(
                    f"`static_covariates` lacks the columns {missing}; {name} was fitted with the static "
                    f"covariates {schema['columns']} (text in {schema['text_cols']})."
                )
            )
        frame = static_covariates[schema["columns"]]
        numeric = frame[schema["numeric_cols"]]
        if len(numeric.columns):
            try:
                bad = numeric.astype(float).isna().any()
            except (TypeError, ValueError) as err:
                raise_log(ValueError(f"The numeric static covariates {schema['numeric_cols']} must be numbers: {err}"))
            if bad.any():
                raise_log(
                    ValueError(f"The numeric static covariates {list(bad[bad].index)} of `static_covariates` are missing.")
                )
        target = schema.get("target")
        if target is None:
            raise_log(ValueError(f"This {name} does not know the frequency of its training series; fit it again."))
        freq = target["freq"]
        if isinstance(freq, int | np.integer) != isinstance(start, int | np.integer):
            kind = "an integer" if isinstance(freq, int | np.integer) else "a timestamp"
            raise_log(ValueError(f"`start` must be {kind} like the training series' time index, got {start!r}."))
        return new_product_series(
            frame,
            start,
            freq,
            length=self.min_input_chunk_length,
            components=target["components"],
            dtype=np.dtype(target["dtype"]),
        )

    def predict_new_products(
        self,
        static_covariates: pd.DataFrame,
        start,
        n: int,
        num_samples: int = 1,
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        **predict_kwargs,
    ) -> list[TimeSeries]:
        """Forecast products that have no sales history yet, from their text and other static covariates.

        Needs a model created with ``min_input_chunk_length``. Each product gets a target series with no
        observation (:meth:`new_product_series`), which the network reads as fully masked history; the forecast
        comes from the text, the numeric static covariates and the covariates. Products with some history are
        forecast with ``predict`` on their (short) series as usual.

        Parameters
        ----------
        static_covariates
            One row per product, with the static covariate columns the model was fitted with (e.g.
            ``description`` and ``price``); extra columns are ignored.
        start
            The first forecast step (a timestamp on the training series' frequency; an integer for range indexes).
        n
            Forecast horizon.
        num_samples
            Number of samples of probabilistic forecasts (models with a ``likelihood``).
        past_covariates, future_covariates
            As for ``predict``: one series per product, or one series shared by all. Future covariates must cover
            ``min_input_chunk_length`` steps before ``start`` up to the horizon.
        **predict_kwargs
            Other arguments of ``predict`` (``random_state``, ``mc_dropout``, ``batch_size``, ...).

        Returns
        -------
        list[TimeSeries]
            One forecast per row of ``static_covariates``, starting at ``start``, carrying the row as static
            covariates.
        """
        series = self.new_product_series(static_covariates, start)

        def per_product(covariates, name):
            if covariates is None or not isinstance(covariates, TimeSeries):
                if covariates is not None and len(covariates) != len(series):
                    raise_log(
                        ValueError(
                            f"`{name}` must be one series, or one per product ({len(series)}); got {len(covariates)}."
                        )
                    )
                return covariates
            return [covariates] * len(series)

        return self.predict(
            n,
            series=series,
            past_covariates=per_product(past_covariates, "past_covariates"),
            future_covariates=per_product(future_covariates, "future_covariates"),
            num_samples=num_samples,
            **predict_kwargs,
        )

    # ------------------------------------------------------------------------------------------ network
    def _embedding_dim(self) -> int:
        schema = self._text_schema
        if schema.get("embedding_dim") is None:
            if self.encoder_finetuning == "frozen" and self._pending_rows:
                schema["embedding_dim"] = int(self._pending_rows[0].shape[1])
            else:
                schema["embedding_dim"] = int(self._get_encoder().dim)
        return schema["embedding_dim"]

    def _create_model(self, train_sample):
        schema = self._text_schema
        if schema is None:
            raise_log(
                ValueError(
                    f"{type(self).__name__} must be trained with `fit()` (which reads the text columns); "
                    f"`fit_from_dataset()` with a custom dataset, and `load_weights()` with `skip_checks=True`, "
                    f"are not supported."
                )
            )
        static = train_sample.static_covariates
        n_rows = static.shape[0]
        n_numeric, n_text = len(schema["numeric_cols"]), len(schema["text_cols"])
        wide_cols = list(schema["numeric_cols"]) + [
            f"{col}__text{j}" for col in schema["text_cols"] for j in range(self.text_dim)
        ]
        wide_sample = train_sample.replace(
            static_covariates=np.zeros((n_rows, len(wide_cols)), dtype=static.dtype)
        )
        if self.masks_missing_history:
            # the observed-step mask is one more past-covariate channel of the backbone
            past = train_sample.past_target
            channel = np.zeros((past.shape[0], 1), dtype=past.dtype)
            covs = train_sample.past_covariates
            wide_sample = wide_sample.replace(
                past_covariates=channel if covs is None else np.concatenate([covs, channel], axis=1)
            )
        embedding_dim = self._embedding_dim()

        # build the backbone once to learn its class and constructor arguments (for the widened static covariates);
        # the RNG state is restored, so the module built below gets the same initial weights
        saved_static, saved_shape = self.static_covariates, self.pl_module_params.get("train_sample_shape")
        self.static_covariates = pd.DataFrame(np.zeros((n_rows, len(wide_cols))), columns=wide_cols)
        self.pl_module_params["train_sample_shape"] = wide_sample.sample_shapes()
        try:
            with torch.random.fork_rng(devices=[]), _quiet_mask_channel_warning(self.masks_missing_history):
                probe = super()._create_model(wide_sample)
        finally:
            self.static_covariates = saved_static
            self.pl_module_params["train_sample_shape"] = saved_shape
        backbone_cls = type(probe)
        backbone_hparams = dict(probe.hparams)
        del probe

        trainable = self.encoder_finetuning != "frozen"
        n_tokens = 0
        if trainable and self._pending_rows:
            n_tokens = max(r[0].shape[1] for r in self._pending_rows)
        encoder_spec = None
        if trainable:
            encoder = self._get_encoder()
            encoder_spec = dict(encoder.spec, device="cpu")
        module = TextFusionModule(
            backbone_class=f"{backbone_cls.__module__}.{backbone_cls.__qualname__}",
            backbone_hparams=backbone_hparams,
            n_numeric=n_numeric,
            n_text_cols=n_text,
            text_dim=self.text_dim,
            embedding_dim=embedding_dim,
            n_texts=0,
            encoder_finetuning=self.encoder_finetuning,
            encoder_spec=encoder_spec,
            n_tokens=n_tokens,
            lora_settings=self._lora_settings if self.encoder_finetuning == "lora" else None,
            text_dropout=self.text_dropout,
            encoder_lr=self.encoder_lr,
            observed_mask=self.masks_missing_history,
            **self.pl_module_params,
        )
        # hand the texts encoded so far to the network (its table is a buffer: saved in checkpoints)
        texts, self._texts = self._texts, []
        pending, self._pending_rows = self._pending_rows, []
        if texts and not pending:
            # `load_weights()`: the vocabulary comes from the saved model; its rows are loaded with the weights
            pending = [(np.zeros((len(texts), 1), dtype=np.int64),) * 2] if trainable else [
                np.zeros((len(texts), embedding_dim), dtype=np.float32)
            ]
            n_tokens = 1 if trainable else 0
        if texts:
            if trainable:
                rows = tuple(
                    np.concatenate([np.pad(r[k], ((0, 0), (0, n_tokens - r[k].shape[1]))) for r in pending])
                    for k in (0, 1)
                )
            else:
                rows = np.concatenate(pending)
            module.append_texts(texts, rows)
        self._texts = module.texts  # one list: the network's vocabulary is the model's
        return module

    # ------------------------------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = super().__getstate__()
        state["_encoder"] = None
        state["_texts"] = list(self._vocab)  # a snapshot for the pickled model; the network's copy is loaded too
        state["_text_index"] = {}
        return state

    def __setstate__(self, d):
        super().__setstate__(d)
        self._encoder = None

    def _check_ckpt_parameters(self, tfm_save):
        # `load_weights()`: encoders compare by their settings, and the column layout and texts are the saved model's
        mine, saved = self.model_params.get("text_encoder"), tfm_save.model_params.get("text_encoder")
        if "text_encoder" in tfm_save.model_params and _encoder_key(mine) == _encoder_key(saved):
            tfm_save.model_params["text_encoder"] = mine
        super()._check_ckpt_parameters(tfm_save)
        if tfm_save._text_schema is not None:
            self._text_schema = copy.deepcopy(tfm_save._text_schema)
            self._texts = list(tfm_save._texts)
            self._text_index, self._pending_rows = {}, []

    def _load_from_checkpoint(self, file_path, trusted=False, **kwargs):
        module = super()._load_from_checkpoint(file_path, trusted=trusted, **kwargs)
        self._text_index = {}
        return module


add_safe_globals([HuggingFaceEncoder])
