"""Fine-tune a text encoder so that its embeddings track launch demand, and save it as a model folder.

A generic sentence encoder places two descriptions close when they *mean* similar things; a new product is better
compared with earlier launches that *sold* alike. :func:`tune_encoder_on_demand` trains the encoder on earlier
launches (their texts and what each sold) and saves a sentence-transformers folder that every part of darts-llm
loads with ``text_encoder="<folder>"``: the text models, :class:`~darts_llm.dataprocessing.StaticTextEmbedder`,
:class:`~darts_llm.dataprocessing.TextNeighbours` and the embedding cache. The folder's encoder id is its path
and a hash of its files, so the cache never mixes its vectors with the base model's.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darts_llm.encoders.base import TextEncoder, clean_texts
from darts_llm.encoders.demand_training import TuningSettings

if TYPE_CHECKING:
    from darts_llm.encoders.huggingface import HuggingFaceEncoder

logger = logging.getLogger(__name__)

__all__ = ["DemandTuningResult", "tune_encoder_on_demand"]

#: The fewest unique texts the training part and (when there is one) the validation part may have.
MIN_TRAIN_TEXTS = 8
MIN_VALIDATION_TEXTS = 2
#: Training record written into the folder (it is hashed into the encoder id with the weights).
RECORD_FILE = "demand_tuning.json"


@dataclass
class DemandTuningResult:
    """What :func:`tune_encoder_on_demand` returns.

    Attributes
    ----------
    path
        Absolute path of the saved model folder: pass it as ``text_encoder=result.path``.
    mode
        ``"lora"`` or ``"full"``.
    train_loss, validation_loss
        Loss per epoch: mean squared error of the standardised targets (plus ``neighbour_weight`` times that of
        the neighbour read-out). Entry 0 is the frozen encoder with the ridge head, before any update; entry ``e``
        is epoch ``e`` (training: mean over its batches; validation: after the epoch). ``validation_loss`` is
        empty when ``validation_fraction=0``.
    best_epoch
        The epoch whose weights were saved (lowest validation loss; the last epoch without validation). ``0``
        means that no epoch beat the frozen encoder: the folder then holds the base weights.
    seconds_per_epoch
        Wall-clock seconds of each training epoch, its validation pass included.
    n_train, n_validation
        Unique texts in the training and validation parts.
    """

    path: str
    mode: str
    train_loss: list[float]
    validation_loss: list[float]
    best_epoch: int
    seconds_per_epoch: list[float] = field(default_factory=list)
    n_train: int = 0
    n_validation: int = 0

    def encoder(self, **kwargs) -> HuggingFaceEncoder:
        """The saved encoder as a :class:`~darts_llm.HuggingFaceEncoder` (``kwargs``: e.g. ``device="cpu"``)."""
        from darts_llm.encoders.huggingface import HuggingFaceEncoder

        return HuggingFaceEncoder(self.path, **kwargs)

    def __fspath__(self) -> str:
        return self.path


# ------------------------------------------------------------------------------------------------ input checks
def unique_targets(texts: Sequence[object], targets) -> tuple[list[str], np.ndarray]:
    """The unique texts (in first-seen order) and the mean target row of each, as a 2-D float array.

    Raises ``ValueError`` for a length mismatch, targets that are not 1-D or 2-D, non-finite or constant targets.
    """
    clean = clean_texts(texts, name="texts")
    values = None if isinstance(targets, str) else np.asarray(targets, dtype=np.float64)
    if values is None or values.ndim not in (1, 2):
        raise ValueError(
            f"`targets` must be a 1-D array (one number per text) or a 2-D array (one row per text, e.g. a launch "
            f"curve), got shape {None if values is None else values.shape}."
        )
    if len(values) != len(clean):
        raise ValueError(
            f"`texts` and `targets` must have the same length (one target row per text), got {len(clean)} texts "
            f"and {len(values)} target rows."
        )
    values = values.reshape(len(values), -1)
    if values.shape[1] == 0:
        raise ValueError("`targets` has no columns; give at least one number per text.")
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`targets` holds {int(bad.sum())} row(s) with NaN or infinite values (the first at position {first}, "
            f"text {clean[first][:60]!r}); drop those texts or fill their targets (e.g. 0 units sold) first."
        )
    index: dict[str, int] = {}
    rows = np.array([index.setdefault(text, len(index)) for text in clean])
    sums = np.zeros((len(index), values.shape[1]))
    np.add.at(sums, rows, values)
    means = sums / np.bincount(rows, minlength=len(index))[:, None]
    constant = [j for j in range(means.shape[1]) if np.ptp(means[:, j]) == 0]
    if constant:
        raise ValueError(
            f"`targets` column(s) {constant} have the same value for every text, so there is nothing to learn; "
            f"drop them, or pass a target that differs between texts."
        )
    return list(index), means


def split_indices(n: int, validation_fraction: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``n`` unique texts into training and validation positions."""
    n_val = max(round(validation_fraction * n), MIN_VALIDATION_TEXTS) if validation_fraction > 0 else 0
    if n - n_val < MIN_TRAIN_TEXTS:
        need = MIN_TRAIN_TEXTS + (MIN_VALIDATION_TEXTS if validation_fraction > 0 else 0)
        raise ValueError(
            f"Too few texts to fine-tune on: {n} unique text(s) leave {max(n - n_val, 0)} for training and {n_val} "
            f"for validation; at least {MIN_TRAIN_TEXTS} training texts are needed ({need} unique texts with "
            f"validation_fraction={validation_fraction}). Pass more texts, or a smaller `validation_fraction` "
            f"(0 trains on all of them)."
        )
    order = np.random.default_rng(random_state).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def prepare_output_dir(output_dir) -> Path:
    """Create ``output_dir`` (or accept an empty one) and check that it can be written, before any training."""
    if not isinstance(output_dir, (str, os.PathLike)) or not str(output_dir):
        raise ValueError(f"`output_dir` must be a folder path, got {output_dir!r}.")
    path = Path(os.path.expanduser(output_dir)).resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"`output_dir` {str(path)!r} is a file; pass the path of a new (or empty) folder.")
    if path.is_dir() and any(path.iterdir()):
        raise ValueError(
            f"`output_dir` {str(path)!r} is not empty; pass a new folder (or empty this one), so that the saved "
            f"model's files are never mixed with others."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise ValueError(
            f"`output_dir` {str(path)!r} cannot be written ({type(err).__name__}: {err}); pass a folder you can "
            f"write to."
        ) from err
    return path


def _base_encoder(text_encoder) -> HuggingFaceEncoder:
    from darts_llm.encoders.huggingface import HuggingFaceEncoder
    from darts_llm.registry import get_encoder

    encoder = get_encoder(os.fspath(text_encoder) if isinstance(text_encoder, os.PathLike) else text_encoder)
    if not isinstance(encoder, HuggingFaceEncoder):
        raise ValueError(
            f"`text_encoder` must resolve to a Hugging Face encoder (an alias, a model id or a local folder), since "
            f"its transformer is trained; got {encoder!r}."
        )
    return encoder


def _lora_settings(mode, lora_r, lora_alpha, lora_dropout, lora_target_modules, lora_config) -> dict | None:
    if mode != "lora":
        return None
    if lora_config is not None and not isinstance(lora_config, dict):
        raise ValueError(f"`lora_config` must be a dict of peft.LoraConfig arguments, got {lora_config!r}.")
    if isinstance(lora_r, bool) or not isinstance(lora_r, (int, np.integer)) or lora_r < 1:
        raise ValueError(f"`lora_r` must be a positive integer, got {lora_r!r}.")
    targets = [lora_target_modules] if isinstance(lora_target_modules, str) else list(lora_target_modules)
    settings = {"r": int(lora_r), "lora_alpha": lora_alpha, "lora_dropout": lora_dropout, "target_modules": targets}
    return {**settings, **(lora_config or {})}


def _model_card(record: dict[str, Any]) -> str:
    losses = ", ".join(f"{v:.4f}" for v in record["validation_loss"]) or "none (no validation part)"
    return (
        "# Demand-aligned text encoder\n\n"
        f"Fine-tuned by darts-llm (`tune_encoder_on_demand`, mode `{record['settings']['mode']}`) from "
        f"`{record['base_model']}` on {record['n_train']} unique texts (validation: {record['n_validation']}) with "
        f"{record['n_targets']} target column(s); the saved weights are those of epoch {record['best_epoch']}.\n\n"
        f"Validation loss per epoch (0: the frozen encoder with the ridge head): {losses}.\n\n"
        'Load it in darts-llm with `text_encoder="<this folder>"`, or with `SentenceTransformer("<this folder>")`.\n'
    )


# ------------------------------------------------------------------------------------------------ public entry
def tune_encoder_on_demand(
    texts: Sequence[str],
    targets,
    output_dir: str | os.PathLike,
    text_encoder: str | TextEncoder | os.PathLike = "minilm",
    mode: str = "lora",
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float | None = None,
    head_learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    neighbour_weight: float = 0.0,
    neighbour_temperature: float = 0.05,
    lora_r: int = 8,
    lora_alpha: float = 16,
    lora_dropout: float = 0.1,
    lora_target_modules: Sequence[str] = ("query", "value"),
    lora_config: dict | None = None,
    encoder_dropout: bool = False,
    validation_fraction: float = 0.2,
    patience: int = 3,
    random_state: int = 0,
    device: str = "auto",
    show_progress: bool = False,
) -> DemandTuningResult:
    """Fine-tune a text encoder on what earlier launches sold, and save it as a model folder.

    The transformer (LoRA adapters or every weight) trains together with a linear head on the pooled embedding,
    which predicts the standardised targets. The head starts at the ridge regression of the targets on the frozen
    embeddings (a linear probe first), so that the first updates refine the embedding instead of following a
    random head. The head is not saved: the folder is an encoder, usable wherever darts-llm takes one.

    The embedding the head reads is exactly the saved encoder's output, normalisation included: the folder keeps
    the base encoder's normalisation (all-MiniLM-L6-v2 normalises). Unit vectors put whatever the training adds
    into their direction, the one thing cosine similarity (``TextNeighbours``) compares; a length that carried
    demand would be invisible to it.

    Parameters
    ----------
    texts
        One description per earlier launch (missing values are the empty text). A repeated text is trained once,
        with the mean of its targets.
    targets
        What each text's product sold: a 1-D array (one number per text, e.g. ``log1p`` of the mean weekly units of
        its first 8 weeks) or a 2-D array (one row per text, e.g. ``log1p`` of the units of each of those weeks).
        Each column is standardised on the training part. Use a log scale: launches differ by orders of magnitude,
        and a squared error on raw units is ruled by a few best sellers.
    output_dir
        A new or empty folder, checked before training starts. It receives the model (weights, tokenizer,
        sentence-transformers files), a ``demand_tuning.json`` record of the run and a ``README.md``.
    text_encoder
        The encoder to start from: an alias (``"minilm"``), a Hugging Face id, a local folder or a
        :class:`~darts_llm.HuggingFaceEncoder` (its pooling, length, normalisation and prompt are kept).
    mode
        ``"lora"`` (default): LoRA adapters (``peft``) on ``lora_target_modules``, merged into the weights before
        saving, so that the folder is a plain model. ``"full"``: every weight of the transformer trains.
    epochs
        Most passes over the training texts.
    batch_size
        Texts per step.
    learning_rate
        Learning rate of the encoder weights (AdamW). ``None``: ``5e-4`` for ``"lora"``, ``3e-5`` for ``"full"``.
    head_learning_rate
        Learning rate of the linear head.
    weight_decay
        AdamW weight decay of every trained weight.
    neighbour_weight
        Weight of a second loss that trains cosine similarity itself: each training text's target is predicted
        by the mean of the other training texts' targets, weighted by ``softmax(cosine / neighbour_temperature)``.
        A linear head can be satisfied by a small move along a few directions, which leaves the nearest
        neighbours of a text much as they were; this term asks the neighbours to have sold alike. ``0`` (default)
        trains the head only: on the Online Retail launches the extra term did not make the neighbours of later
        launches better (``benchmarks/results/demand_tuning.md``).
    neighbour_temperature
        Temperature of that softmax: smaller values weight the closest texts more.
    lora_r, lora_alpha, lora_dropout, lora_target_modules
        LoRA rank, scaling, dropout and adapted modules (default ``("query", "value")``, the attention projections
        of BERT-like encoders; ``["q_proj", "v_proj"]`` for Llama/Qwen-style models).
    lora_config
        A dict of ``peft.LoraConfig`` arguments; its entries override the four settings above.
    encoder_dropout
        Keep the encoder's dropout (and ``lora_dropout``) on while training. Off by default: dropout noise in the
        embedding passes straight into the regression output, whose spread then differs between training and
        use; early stopping, weight decay and the LoRA rank regularise instead.
    validation_fraction
        Share of the unique texts held out (a seeded random split) for early stopping: the weights of the epoch
        with the lowest validation loss are saved. ``0``: no validation; the last epoch is saved.
    patience
        Epochs without a lower validation loss before training stops.
    random_state
        Seed of the split, the LoRA initialisation, dropout and the batch order: on a CPU, the same call writes
        the same weights.
    device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    show_progress
        Show a progress bar over the epochs.

    Returns
    -------
    DemandTuningResult
        The folder's path (``text_encoder=result.path``), the loss histories, the saved epoch and the seconds per
        epoch.

    Raises
    ------
    ValueError
        Mismatched lengths, non-finite or constant targets, too few unique texts, an ``output_dir`` that is not
        empty or cannot be written, or an invalid setting.
    ImportError
        ``mode="lora"`` without ``peft`` installed.

    Examples
    --------
    >>> result = tune_encoder_on_demand(descriptions, np.log1p(first_weeks_units), "demand-minilm")  # doctest: +SKIP
    >>> embedder = StaticTextEmbedder(text_cols="description", encoder=result.path)  # doctest: +SKIP
    """
    settings = TuningSettings(
        mode=mode, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        head_learning_rate=head_learning_rate, weight_decay=weight_decay, neighbour_weight=neighbour_weight,
        neighbour_temperature=neighbour_temperature, encoder_dropout=encoder_dropout,
        validation_fraction=validation_fraction, patience=patience, random_state=random_state,
        lora=_lora_settings(mode, lora_r, lora_alpha, lora_dropout, lora_target_modules, lora_config),
    )
    if settings.lora is not None:
        from darts_llm.models.optional import require_peft

        require_peft()
    unique, values = unique_targets(texts, targets)
    train_idx, val_idx = split_indices(len(unique), settings.validation_fraction, settings.random_state)
    path = prepare_output_dir(output_dir)
    base = _base_encoder(text_encoder)
    history, transformer, scale = _fit(base, unique, values, train_idx, val_idx, settings, device, show_progress)
    record = {
        "base_model": base.model_name_or_path, "base_encoder_id": base.encoder_id,
        "n_train": len(train_idx), "n_validation": len(val_idx), "n_targets": int(values.shape[1]),
        "target_mean": scale[0].tolist(), "target_std": scale[1].tolist(), "settings": settings.as_record(),
        "best_epoch": history["best_epoch"], "train_loss": history["train_loss"],
        "validation_loss": history["validation_loss"],
    }
    from darts_llm.encoders.st_writer import write_json, write_sentence_transformers_folder

    write_sentence_transformers_folder(path, transformer, base)
    write_json(path / RECORD_FILE, record)
    (path / "README.md").write_text(_model_card(record), encoding="utf-8")
    if history["best_epoch"] == 0 and history["validation_loss"]:
        logger.warning(
            "No epoch of demand tuning lowered the validation loss below the frozen encoder's (%.4f): the folder "
            "%s holds the base weights. Try a smaller `learning_rate`, or more texts.",
            history["validation_loss"][0], path,
        )
    return DemandTuningResult(
        path=str(path), mode=settings.mode, train_loss=history["train_loss"],
        validation_loss=history["validation_loss"], best_epoch=history["best_epoch"],
        seconds_per_epoch=history["seconds"], n_train=len(train_idx), n_validation=len(val_idx),
    )


def _fit(base, texts, values, train_idx, val_idx, settings: TuningSettings, device, show_progress):
    """Standardise, fit the ridge head on frozen embeddings, train; the trained transformer on the CPU."""
    import torch

    from darts_llm.encoders.demand_training import embed_all, ridge_head, train_on_demand
    from darts_llm.encoders.devices import resolve_device

    run_device = resolve_device(device)
    mean, std = values[train_idx].mean(axis=0), values[train_idx].std(axis=0)
    std[std == 0] = 1.0  # a column constant on the training part only: its standardised target is 0 there
    scaled = torch.as_tensor((values - mean) / std, dtype=torch.float32, device=run_device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.random_state)
        transformer = base.load_transformer().float().to(run_device).eval()
        frozen = embed_all(base, transformer, texts, settings.batch_size, run_device)
        weights, bias = ridge_head(frozen[train_idx].cpu().numpy(), scaled[train_idx].cpu().numpy())
        head = torch.nn.Linear(frozen.shape[1], values.shape[1]).to(run_device)
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(weights, dtype=torch.float32))
            head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        if settings.lora is not None:
            from peft import LoraConfig, get_peft_model

            transformer = get_peft_model(transformer, LoraConfig(**settings.lora))
        history = train_on_demand(base, transformer, head, texts, scaled, frozen, train_idx, val_idx, settings,
                                  run_device, show_progress)
    if settings.lora is not None:
        transformer = transformer.merge_and_unload()
    return history, transformer.cpu(), (mean, std)
