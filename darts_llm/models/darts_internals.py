"""Every private Darts name darts-llm relies on, in one place.

Darts has no public extension API for what the text models do, so they build on these. Each is used for one
reason, and ``tests/models/test_darts_internals.py`` checks that the installed Darts still has them all.

Imported names
    ``TorchTrainingDataset``, ``TorchInferenceDataset`` (``darts.utils.data.torch_datasets``): the text
    datasets wrap Darts' own to put text ids in the samples' static covariates. ``PLModuleInput``,
    ``PLModuleOutput``: the batch containers the fusion module reads and returns. ``MonteCarloDropout``
    (``darts.utils.torch``): the text dropout, so that ``mc_dropout=True`` includes it. ``_batch_collate_fn_train``
    and ``ModuleStage``: the text check collates training windows and turns them into module inputs as Darts does.
Overridden methods of ``TorchForecastingModel``
    ``_create_model`` (wrap the backbone module), ``_build_train_dataset`` / ``_build_inference_dataset`` (wrap the
    datasets), ``_verify_static_covariates`` (strings are allowed in text columns), ``_setup_for_fit_from_dataset``
    (history dropout, the target layout), ``_check_ckpt_parameters`` (encoders compare by their settings) and
    ``_load_from_checkpoint`` (the model takes the loaded network's vocabulary), ``_train`` (the text correction
    is fitted and checked after Darts trained the no-text twin).
Attributes read or set
    ``pl_module_params["train_sample_shape"]`` and ``static_covariates`` while the backbone module is built for the
    widened static covariates; a dataset's ``uses_static_covariates_covariates`` flag; an inference dataset's
    ``bounds``, ``cum_lengths``, ``stride`` and ``_find_list_index`` (which series a sample belongs to); a training
    dataset's ``series``, ``max_samples_per_ts`` and ``_get_end_of_output_idx`` (where a window ends).
"""

from __future__ import annotations

from darts.utils.data.torch_datasets.inference_dataset import TorchInferenceDataset
from darts.utils.data.torch_datasets.training_dataset import TorchTrainingDataset
from darts.utils.data.torch_datasets.utils import ModuleStage, PLModuleInput, PLModuleOutput
from darts.utils.data.torch_datasets.utils import _batch_collate_fn_train as batch_collate_train
from darts.utils.torch import MonteCarloDropout

__all__ = [
    "OVERRIDDEN_METHODS",
    "batch_collate_train",
    "training_stage",
    "MonteCarloDropout",
    "PLModuleInput",
    "PLModuleOutput",
    "TorchInferenceDataset",
    "TorchTrainingDataset",
]

#: The private ``TorchForecastingModel`` methods the text models override.
OVERRIDDEN_METHODS = (
    "_create_model",
    "_build_train_dataset",
    "_build_inference_dataset",
    "_verify_static_covariates",
    "_setup_for_fit_from_dataset",
    "_check_ckpt_parameters",
    "_load_from_checkpoint",
    "_train",
)


def training_stage() -> ModuleStage:
    """Darts' ``ModuleStage.TRAIN`` (how a training batch becomes a module input)."""
    return ModuleStage.TRAIN
