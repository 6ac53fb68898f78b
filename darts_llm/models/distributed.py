"""Forecasts after training on several processes (Lightning DDP): :class:`SingleProcessPrediction`.

A model fitted with ``pl_trainer_kwargs={"strategy": "ddp_spawn", "devices": 2}`` would predict with the same
strategy: under ``ddp_spawn`` Darts then gets no forecasts back (the workers hold them), and under ``ddp`` each
process forecasts only its share of the series. :class:`SingleProcessPrediction` makes ``predict`` and
``historical_forecasts`` run in the calling process on one device when no ``trainer`` is given; training (a
later ``fit`` too) keeps the strategy it was given.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SingleProcessPrediction", "is_multi_process", "single_process_params"]

#: Strategy names that run in a single process.
SINGLE_PROCESS_STRATEGIES = ("auto", "single_device", "single_xla", "single_tpu")


def _device_count(devices) -> int | None:
    """How many devices ``devices`` names (``-1``: all, counted as 2), ``None`` for ``"auto"`` or not given."""
    if devices is None or devices == "auto":
        return None
    if isinstance(devices, str):
        devices = devices.strip()
        if "," in devices:
            return len([d for d in devices.split(",") if d.strip()])
        return 2 if devices == "-1" else (int(devices) if devices.isdigit() else None)
    if isinstance(devices, (list, tuple)):
        return len(devices)
    return 2 if devices == -1 else int(devices)


def is_multi_process(trainer_params: dict[str, Any]) -> bool:
    """Whether Lightning trainer arguments run several processes (DDP, FSDP, DeepSpeed, several devices or nodes)."""
    from pytorch_lightning.strategies import ParallelStrategy

    strategy = trainer_params.get("strategy", "auto")
    if isinstance(strategy, ParallelStrategy):
        return True
    if isinstance(strategy, str) and strategy not in SINGLE_PROCESS_STRATEGIES:
        return True
    count = _device_count(trainer_params.get("devices"))
    if count is None and trainer_params.get("accelerator", "auto") in ("auto", "gpu", "cuda"):
        import torch

        count = torch.cuda.device_count()  # Lightning's "auto" takes every visible GPU
    return (count is not None and count > 1) or int(trainer_params.get("num_nodes", 1) or 1) > 1


def single_process_params(trainer_params: dict[str, Any]) -> dict[str, Any]:
    """The same trainer arguments on one device of the calling process (the first device of a list)."""
    params = dict(trainer_params, strategy="auto", num_nodes=1)
    devices = trainer_params.get("devices")
    if isinstance(devices, (list, tuple)) and devices:
        params["devices"] = [devices[0]]
    elif isinstance(devices, str) and "," in devices:  # "1,2": the first device named, not device 0
        params["devices"] = [int(devices.split(",")[0])]
    else:
        params["devices"] = 1
    return params


class SingleProcessPrediction:
    """Predicts in the calling process on one device when the model trains on several processes.

    Mixed into :class:`~darts_llm.models.TextCovariatesMixin`. A ``trainer`` passed to ``predict`` is used as
    given.
    """

    def predict_from_dataset(self, n, dataset, trainer=None, *args, **kwargs):
        trainer_params = self.trainer_params
        if trainer is not None or not is_multi_process(trainer_params):
            return super().predict_from_dataset(n, dataset, trainer, *args, **kwargs)
        self.trainer_params = single_process_params(trainer_params)
        try:
            return super().predict_from_dataset(n, dataset, None, *args, **kwargs)
        finally:
            self.trainer_params = trainer_params
