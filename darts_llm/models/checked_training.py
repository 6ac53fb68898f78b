"""Training of a text model with ``text_entry="residual"``: :class:`CheckedTextTraining`.

Darts trains the network with the text switched off, which makes it the no-text twin (see
:mod:`darts_llm.models.text_residual`); the text check then fits the text correction on older training windows,
keeps it only if it lowers the loss of the most recent ones, and writes the result into the checkpoints Darts saved
during training.
"""

from __future__ import annotations

import glob
import os

import torch

from darts_llm.models.text_residual import TextCheck, fit_text_residual

__all__ = ["CheckedTextTraining"]


class CheckedTextTraining:
    """The training of the text models (mixed into :class:`~darts_llm.models.TextCovariatesMixin`)."""

    _text_check: TextCheck | None = None

    @property
    def text_check(self) -> TextCheck | None:
        """What the text check of the last ``fit()`` found (``text_entry="residual"``): whether the text correction
        is used, the losses of the most recent training windows with and without it, and why (``None`` before
        ``fit()`` and with ``text_entry="static"``)."""
        return self._text_check

    def _train(self, trainer, model, datamodule, load_best: bool = False) -> None:
        """Darts' training; with ``text_entry="residual"`` it trains the no-text twin, then the text check fits the
        text correction and keeps it only if it helps (:func:`~darts_llm.models.text_residual.fit_text_residual`)."""
        if getattr(model, "text_residual", None) is None:
            super()._train(trainer, model, datamodule, load_best=load_best)
            return
        model.set_text(False)
        text_params = [*model.text_residual.parameters(), *model.vocabulary.encoder_parameters()]
        trainable = [p.requires_grad for p in text_params]
        for param in text_params:  # the twin trains alone (and DDP sees no unused parameters)
            param.requires_grad_(False)
        try:
            super()._train(trainer, model, datamodule, load_best=load_best)
        finally:
            for param, flag in zip(text_params, trainable):
                param.requires_grad_(flag)
        loaded_best = self.model is not model  # Darts replaced the trained network by its best checkpoint
        model = self.model
        # on the training device (Lightning hands the network back on the CPU), then back where it was
        home = next(model.parameters()).device
        model.to(getattr(trainer.strategy, "root_device", home))
        settings = self.text_settings
        encoder_lr = settings.encoder_lr or (self.pl_module_params.get("optimizer_kwargs") or {}).get("lr", 1e-3)
        try:
            self._text_check = fit_text_residual(
                model, datamodule.train_dataset, self.output_chunk_length, settings.text_min_gain,
                encoder_lr=encoder_lr, seed=int(torch.initial_seed() % (2**31 - 1)),
            )
        finally:
            model.to(home)
        self._update_checkpoint(trainer, model, loaded_best)

    def _update_checkpoint(self, trainer, model, loaded_best: bool) -> None:
        """Write the checked network into the checkpoint its trained weights came from: Darts' checkpoint of the
        last epoch, or the best one when Darts loaded it (``load_best``). ``load_from_checkpoint`` of that
        checkpoint then forecasts as the fitted model does; other checkpoints (the best epoch, without
        ``load_best``) hold the twin as it was at that epoch, without text."""
        if not trainer.is_global_zero:
            return
        callbacks = [cb for cb in trainer.checkpoint_callbacks if isinstance(getattr(cb, "best_model_path", None), str)]
        if loaded_best:
            paths = {cb.best_model_path for cb in callbacks if getattr(cb, "monitor", None)}
        else:
            paths = {path for cb in callbacks if getattr(cb, "monitor", None) is None
                     for path in (cb.best_model_path, cb.last_model_path) if path}
            if not paths and self.save_checkpoints:  # spawned processes kept the paths: the newest last-epoch file
                folder = os.path.join(self.work_dir, self.model_name, "checkpoints")
                found = sorted(glob.glob(os.path.join(folder, "last-*.ckpt")), key=os.path.getmtime)
                paths = set(found[-1:])
        for path in paths:
            if path and os.path.isfile(path):
                checkpoint = torch.load(path, map_location="cpu", weights_only=False)
                checkpoint["state_dict"] = {k: v.detach().cpu() if torch.is_tensor(v) else v
                                            for k, v in model.state_dict().items()}
                torch.save(checkpoint, path)

