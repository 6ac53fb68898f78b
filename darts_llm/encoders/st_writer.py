"""Write a sentence-transformers model folder around a ``transformers`` model (the counterpart of ``st_config``).

The folder is what ``save_pretrained`` writes (config, weights, tokenizer) plus the files that say how to turn token
states into one vector: ``modules.json`` (Transformer -> Pooling [-> Normalize]), ``1_Pooling/config.json``,
``sentence_bert_config.json`` (``max_seq_length``) and ``config_sentence_transformers.json`` (the prompt). darts-llm
reads them back with :func:`~darts_llm.encoders.st_config.read_folder_settings`, and the ``sentence-transformers``
package loads the folder as a ``SentenceTransformer``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from darts_llm.encoders.huggingface import HuggingFaceEncoder

__all__ = ["write_json", "write_sentence_transformers_folder"]

#: darts-llm pooling mode -> the sentence-transformers flag that selects it (the flags every version reads).
_POOLING_FLAGS = {"mean": "pooling_mode_mean_tokens", "cls": "pooling_mode_cls_token", "last": "pooling_mode_lasttoken"}
#: Name of the prompt written when the encoder prepends one.
PROMPT_NAME = "default"


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON with sorted keys (the same data always gives the same bytes)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_sentence_transformers_folder(
    path: str | Path, transformer: torch.nn.Module, encoder: HuggingFaceEncoder
) -> Path:
    """Save ``transformer`` with ``encoder``'s tokenizer, pooling, normalisation, length and prompt into ``path``.

    Parameters
    ----------
    path
        The folder (created if needed).
    transformer
        A ``transformers`` model (e.g. a fine-tuned copy of ``encoder``'s), saved with ``save_pretrained``
        (safetensors).
    encoder
        The encoder whose tokenizer and settings the folder gets, so that ``HuggingFaceEncoder(path)`` embeds as
        ``encoder`` does with ``transformer``'s weights.

    Returns
    -------
    Path
        The folder.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(path, safe_serialization=True)
    encoder.tokenizer.save_pretrained(path)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if encoder.normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (path / "2_Normalize").mkdir(exist_ok=True)
    pooling = {flag: mode == encoder.pooling for mode, flag in _POOLING_FLAGS.items()}
    pooling.update(word_embedding_dimension=int(transformer.config.hidden_size), pooling_mode_max_tokens=False,
                   pooling_mode_mean_sqrt_len_tokens=False)
    (path / "1_Pooling").mkdir(exist_ok=True)
    write_json(path / "1_Pooling" / "config.json", pooling)
    write_json(path / "modules.json", modules)
    write_json(path / "sentence_bert_config.json", {"max_seq_length": encoder.max_length, "do_lower_case": False})
    st_config: dict[str, Any] = {"similarity_fn_name": "cosine"}
    if encoder.prompt:
        st_config.update(prompts={PROMPT_NAME: encoder.prompt}, default_prompt_name=PROMPT_NAME)
    write_json(path / "config_sentence_transformers.json", st_config)
    return path
