"""What a sentence-transformers model folder says about itself: pooling, normalisation, length and prompts.

A sentence-transformers model is a plain ``transformers`` checkpoint plus a few JSON files:

- ``modules.json``: the module pipeline, e.g. ``Transformer`` -> ``Pooling`` (folder ``1_Pooling``) ->
  ``Normalize``;
- ``1_Pooling/config.json``: the pooling mode (``pooling_mode: "mean"``, or the older ``pooling_mode_*_token``
  booleans);
- ``sentence_bert_config.json``: ``max_seq_length``;
- ``config_sentence_transformers.json``: named ``prompts`` (E5: ``{"query": "query: ", "passage": "passage: "}``)
  and an optional ``default_prompt_name``.

These files are read here as JSON rather than by loading the model with the ``sentence-transformers`` package: the
text models fine-tune (LoRA/full) the underlying ``transformers`` model and pool its token states with the same
:meth:`~darts_llm.encoders.huggingface.HuggingFaceEncoder.embed` as the frozen path, so both paths need the bare
``AutoModel`` and the settings, not a ``SentenceTransformer`` pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: sentence-transformers pooling modes -> darts-llm pooling modes (others are not implemented).
_POOLING = {"mean": "mean", "cls": "cls", "lasttoken": "last"}
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
#: Modules that darts-llm reproduces (the transformer itself, pooling, L2 normalisation).
_KNOWN_MODULES = ("Transformer", "Pooling", "Normalize")


@dataclass(frozen=True)
class FolderSettings:
    """Settings read from a sentence-transformers model folder (``None``: the folder does not say).

    Attributes
    ----------
    is_sentence_transformers
        Whether the folder has a ``modules.json``.
    pooling
        darts-llm pooling mode (``"mean"``, ``"cls"``, ``"last"``), or the sentence-transformers name of a mode
        darts-llm does not implement (e.g. ``"max"``).
    normalize
        ``True`` if the pipeline ends with a ``Normalize`` module (``False`` for a pipeline without one).
    max_length
        ``max_seq_length`` of the transformer module.
    prompts
        Named prompts prepended to the texts.
    default_prompt_name
        The prompt used when none is chosen.
    unsupported
        Modules of the pipeline that darts-llm does not apply (``Dense``, ...): vectors then differ from the
        model card's.
    """

    is_sentence_transformers: bool = False
    pooling: str | None = None
    normalize: bool | None = None
    max_length: int | None = None
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    unsupported: tuple[str, ...] = ()


def _pooling_mode(config: dict) -> str | None:
    mode = config.get("pooling_mode")
    if isinstance(mode, list):
        mode = mode[0] if len(mode) == 1 else "+".join(map(str, mode))
    if mode is None:
        active = [name for key, name in _LEGACY_POOLING.items() if config.get(key)]
        mode = active[0] if len(active) == 1 else ("+".join(active) if active else None)
    if mode is None:
        return None
    return _POOLING.get(str(mode), str(mode))


def read_folder_settings(read: Callable[[str], str | None]) -> FolderSettings:
    """Settings of a sentence-transformers model whose files are read through ``read``.

    Parameters
    ----------
    read
        ``read(relative_path)`` returns the text of a file of the model, or ``None`` if the model has no such
        file (e.g. :func:`local_reader`).

    Returns
    -------
    FolderSettings
        What the folder says; an empty ``FolderSettings`` for a plain ``transformers`` checkpoint.
    """
    modules = _json(read, "modules.json")
    if not isinstance(modules, list):
        return FolderSettings()
    pooling = normalize = None
    unsupported = []
    include_prompt = True
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1] if isinstance(module, dict) else ""
        sub = module.get("path", "") if isinstance(module, dict) else ""
        if kind == "Pooling":
            config = _json(read, f"{sub}/config.json" if sub else "config.json") or {}
            pooling = _pooling_mode(config)
            include_prompt = bool(config.get("include_prompt", True))
        elif kind == "Normalize":
            normalize = True
        elif kind not in _KNOWN_MODULES:
            unsupported.append(kind or "unknown")
    if not include_prompt:
        unsupported.append("Pooling(include_prompt=False)")
    bert_config = _json(read, "sentence_bert_config.json") or {}
    max_length = bert_config.get("max_seq_length")
    st_config = _json(read, "config_sentence_transformers.json") or {}
    prompts = st_config.get("prompts") or {}
    return FolderSettings(
        is_sentence_transformers=True,
        pooling=pooling,
        normalize=bool(normalize),
        max_length=max_length if isinstance(max_length, int) and max_length >= 2 else None,
        prompts={str(k): str(v) for k, v in prompts.items()} if isinstance(prompts, dict) else {},
        default_prompt_name=st_config.get("default_prompt_name") or None,
        unsupported=tuple(unsupported),
    )


def _json(read: Callable[[str], str | None], name: str):
    text = read(name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def local_reader(folder: Path | None, fallback: Callable[[str], Path | None] | None = None) -> Callable[[str], str | None]:
    """A ``read`` function for :func:`read_folder_settings` on a local folder.

    ``fallback(relative_path)`` is asked for files the folder lacks (e.g. to fetch them from the hub cache).
    """

    def read(name: str) -> str | None:
        path = folder / name if folder is not None else None
        if (path is None or not path.is_file()) and fallback is not None:
            path = fallback(name)
        if path is None or not Path(path).is_file():
            return None
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return read
