"""The text as a checked correction of the no-text forecast: :class:`TextResidual` and :func:`fit_text_residual`.

With ``text_entry="residual"`` (the default) a text model is trained in two stages:

1. **The no-text twin.** The backbone is built and trained exactly as the Darts model without text (same static
   covariate width, same initial weights, same batches for the same ``random_state``): the text does not enter.
2. **The text correction.** :class:`TextResidual` maps each text to a per-step offset added to the twin's
   forecast (every quantile shifted alike). It is fitted on the frozen twin's forecasts of the training windows,
   on *older* windows only, and checked on the most recent ones (the windows whose forecast ends in the last
   ``output_chunk_length`` steps of each series; windows whose forecast overlaps those steps are never fitted on).
   It is kept only if it lowers the forecast loss of those recent windows by more than ``text_min_gain`` (a
   fraction) *and* the reduction, paired series by series, exceeds :data:`GAIN_Z` standard errors (a gain that
   one lucky series could explain does not count); it is then fitted again on all windows. Otherwise the model
   *is* its no-text twin.

The correction is what the no-text forecast leaves unexplained, and a product-specific offset the network could
memorise from the training weeks only survives if it still holds in weeks it was not fitted on.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from darts_llm.models.cold_start import HistoryDropout
from darts_llm.models.darts_internals import PLModuleOutput, batch_collate_train, training_stage
from darts_llm.models.text_branch import TextBranch

logger = logging.getLogger(__name__)

__all__ = ["GAIN_Z", "TextCheck", "TextResidual", "fit_text_residual", "window_ends"]


class TextResidual(nn.Module):
    """Text embeddings -> per-step offsets of the forecast.

    Each text column goes through a :class:`~darts_llm.models.text_branch.TextBranch` (principal components,
    projection to ``text_dim`` features, dropout); the features and the share of observed input steps enter a small
    network whose last layer starts at zero, so that the correction starts at zero.

    Parameters
    ----------
    embedding_dim
        Size of the encoder's embeddings.
    n_text_cols
        Number of text columns.
    text_dim
        Features per text column.
    n_outputs
        ``output_chunk_length * n_target_components``.
    dropout, components
        As for :class:`~darts_llm.models.text_branch.TextBranch`.
    n_rows
        Rows of the static covariates (one per target component when each component has its own text).
    """

    def __init__(self, embedding_dim: int, n_text_cols: int, text_dim: int, n_outputs: int, dropout: float = 0.0,
                 components: int | None = None, n_rows: int = 1):
        super().__init__()
        self.branches = nn.ModuleList(
            TextBranch(embedding_dim, text_dim, dropout, components=components) for _ in range(n_text_cols)
        )
        hidden = 4 * text_dim
        self.hidden = nn.Linear(n_rows * n_text_cols * text_dim + 1, hidden)
        self.out = nn.Linear(hidden, n_outputs)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        # the mean raw offset over the training windows: the correction moves a text relative to the others and
        # never the whole panel (a shift of every forecast would be a bias fix, not what the text says)
        self.register_buffer("center", torch.zeros(n_outputs))

    def raw(self, embeddings: list[torch.Tensor], observed_share: torch.Tensor) -> torch.Tensor:
        """Uncentred offsets ``(batch, n_outputs)`` from one embedding batch ``(batch, rows, embedding_dim)`` per
        text column and the share of observed input steps ``(batch,)``."""
        features = torch.cat([branch(e) for branch, e in zip(self.branches, embeddings)], dim=-1)
        x = torch.cat([features.flatten(1), observed_share.unsqueeze(-1).to(features.dtype)], dim=-1)
        return self.out(torch.nn.functional.gelu(self.hidden(x)))

    def forward(self, embeddings: list[torch.Tensor], observed_share: torch.Tensor) -> torch.Tensor:
        """Offsets ``(batch, n_outputs)``: :meth:`raw` minus its mean over the training windows."""
        return self.raw(embeddings, observed_share) - self.center

    def reset(self) -> None:
        """Start again from a zero correction (the principal-component bases are kept)."""
        self.hidden.reset_parameters()
        for branch in self.branches:
            branch.projection.reset_parameters()
            nn.init.zeros_(branch.no_text)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.center.zero_()


@dataclass
class TextCheck:
    """What the text correction did on the most recent training windows (``model.text_check``).

    Attributes
    ----------
    kept
        Whether the text correction is used.
    loss_without_text, loss_with_text
        Forecast loss of the recent windows without and with the correction fitted on older windows (``None``
        when there were not enough windows to check).
    gain
        ``1 - loss_with_text / loss_without_text``.
    min_gain
        The gain the text had to exceed (``text_min_gain``; ``None``: used without a check).
    n_fit, n_check
        Number of older windows the correction was fitted on, and of recent windows it was checked on.
    reason
        One sentence saying why the text is or is not used.
    z
        The loss reduction per series, averaged over the series and divided by its standard error: the text is
        used only if it exceeds :data:`GAIN_Z` (``None`` when there was nothing to check).
    """

    kept: bool
    loss_without_text: float | None
    loss_with_text: float | None
    gain: float | None
    min_gain: float | None
    n_fit: int
    n_check: int
    reason: str
    z: float | None = None

    def as_dict(self) -> dict:
        """The check as a plain dict."""
        return asdict(self)


def window_ends(dataset, max_windows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of distinct training windows of a Darts training ``dataset`` and, for each, the number of steps
    between the end of its forecast window and the end of its series (``0``: the last window) and the index of
    its series."""
    inner = getattr(dataset, "inner", dataset)
    per_ts = inner.max_samples_per_ts
    seen: set[tuple[int, int]] = set()
    indices, steps, owners = [], [], []
    for index in range(len(inner)):
        series_idx = index // per_ts
        series = inner.series[series_idx]
        end = inner._get_end_of_output_idx(series, series_idx, index)
        if (series_idx, end) in seen:  # `max_samples_per_ts` beyond a series' windows repeats them
            continue
        seen.add((series_idx, end))
        indices.append(index)
        steps.append(len(series) - end)
        owners.append(series_idx)
    indices, steps, owners = (np.asarray(a, dtype=np.int64) for a in (indices, steps, owners))
    if max_windows is not None and len(indices) > max_windows:
        keep = np.random.default_rng(0).choice(len(indices), size=max_windows, replace=False)
        keep.sort()
        indices, steps, owners = indices[keep], steps[keep], owners[keep]
    return indices, steps, owners


@dataclass
class _Windows:
    """The frozen twin's forecasts of a set of training windows, with what the correction reads."""

    base: torch.Tensor  # (n, ocl, dim, n_params)
    target: torch.Tensor  # (n, ocl, dim)
    weight: torch.Tensor | None
    static: torch.Tensor  # (n, rows, static width)
    observed_share: torch.Tensor  # (n,)
    scale: torch.Tensor  # (n, 1, dim)

    def take(self, rows: torch.Tensor) -> _Windows:
        return _Windows(self.base[rows], self.target[rows], None if self.weight is None else self.weight[rows],
                        self.static[rows], self.observed_share[rows], self.scale[rows])

    def __len__(self) -> int:
        return len(self.base)


@torch.no_grad()
def _twin_forecasts(module, dataset, indices: np.ndarray, batch_size: int) -> _Windows:
    """The frozen twin's forecasts of the windows ``indices`` of ``dataset`` (in float32, on the module's device).

    A dataset with history dropout draws it afresh from its seed (not from the draws of the training epochs), so
    the windows are the same however long and on however many processes the twin was trained.
    """
    param = next(module.backbone.parameters())
    device, dtype = param.device, param.dtype
    moved = lambda t: None if t is None else t.float().to(device)  # noqa: E731
    dropout = getattr(dataset, "history_dropout", None)
    if dropout is not None:
        dataset.history_dropout = HistoryDropout(dropout.prob, dropout.max_keep, dropout.seed, len(dataset))
    loader = DataLoader(Subset(dataset, indices.tolist()), batch_size=batch_size, shuffle=False,
                        collate_fn=batch_collate_train)
    parts: dict[str, list] = {"base": [], "target": [], "weight": [], "static": [], "observed_share": [],
                              "scale": []}
    was_training = module.training
    module.eval()
    try:
        for batch in loader:
            x = _to_device(batch.to_module_input(stage=training_stage()), device, dtype)
            prediction = module.forward_twin(x).prediction.float()
            parts["base"].append(prediction)
            parts["scale"].append(module.last_scale(prediction).float())
            parts["target"].append(moved(batch.future_target))
            parts["weight"].append(moved(batch.sample_weight))
            parts["static"].append(moved(batch.static_covariates))
            parts["observed_share"].append(moved(observed_share(batch.past_target)))
    finally:
        module.train(was_training)
        if dropout is not None:
            dataset.history_dropout = dropout
    weight = None if parts["weight"][0] is None else torch.cat(parts["weight"])
    return _Windows(torch.cat(parts["base"]), torch.cat(parts["target"]), weight, torch.cat(parts["static"]),
                    torch.cat(parts["observed_share"]), torch.cat(parts["scale"]))


def _to_device(x, device, dtype):
    """A module input with its tensors on ``device``, floating ones in the network's ``dtype``."""
    def move(value):
        if not isinstance(value, torch.Tensor):
            return value
        return value.to(device, dtype) if value.is_floating_point() else value.to(device)

    return x.replace(**{name: move(getattr(x, name)) for name in x.__dataclass_fields__})


def observed_share(past_target: torch.Tensor) -> torch.Tensor:
    """Share of the input steps ``(batch, steps, dim)`` whose values are observed (not NaN), per sample."""
    return (~torch.isnan(past_target)).all(dim=-1).to(past_target.dtype).mean(dim=-1)


def _loss(module, windows: _Windows, offsets: torch.Tensor | None) -> torch.Tensor:
    """The model's forecast loss of the twin's forecasts shifted by ``offsets`` (``None``: not shifted), with the
    windows' sample weights."""
    prediction = windows.base if offsets is None else module.add_offsets(windows.base, offsets, windows.scale)
    criterion = module.train_criterion
    reduction = getattr(criterion, "reduction", None)
    if windows.weight is not None and reduction is not None:
        criterion.reduction = "none"  # Darts weighs unreduced losses (and resets the reduction after a fit)
    try:
        return module._forecast_loss(PLModuleOutput(prediction=prediction), windows.target, criterion,
                                     windows.weight)
    finally:
        if reduction is not None:
            criterion.reduction = reduction


def _fit(module, windows: _Windows, steps: int, lr: float, batch_size: int, seed: int,
         encoder_lr: float) -> None:
    head: TextResidual = module.text_residual
    head.reset()
    head.train()
    module.vocabulary.train()  # lora/full: the encoder's own dropout while it learns
    groups = [{"params": list(head.parameters())}]
    encoder = module.vocabulary.encoder_parameters()  # lora/full: the encoder learns the correction too
    if encoder:
        groups.append({"params": encoder, "lr": encoder_lr})
    optimiser = torch.optim.Adam(groups, lr=lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    n = len(windows)
    for _ in range(steps):
        rows = torch.randint(0, n, (min(batch_size, n),), generator=generator).to(windows.base.device)
        part = windows.take(rows)
        offsets = module.text_offsets(part.static, part.observed_share, raw=True)
        loss = _loss(module, part, offsets - offsets.mean(dim=0, keepdim=True))  # centred, as it is used
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    head.eval()
    module.vocabulary.eval()
    with torch.no_grad():
        raw = torch.cat([module.text_offsets(windows.static[i : i + batch_size],
                                             windows.observed_share[i : i + batch_size], raw=True)
                         for i in range(0, n, batch_size)])
        head.center.copy_(raw.reshape(n, -1).mean(dim=0))


@torch.no_grad()
def _checked_losses(module, windows: _Windows, owners: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The checked windows' loss without and with the text, and per series the loss without minus with it
    (positive: the text helps). The text's offsets are computed once for all windows."""
    offsets = module.text_offsets(windows.static, windows.observed_share)
    without, with_text = float(_loss(module, windows, None)), float(_loss(module, windows, offsets))
    gains = []
    for owner in np.unique(owners):
        rows = torch.as_tensor(np.flatnonzero(owners == owner), device=windows.base.device)
        part = windows.take(rows)
        gains.append(float(_loss(module, part, None)) - float(_loss(module, part, offsets[rows])))
    return without, with_text, np.asarray(gains)


#: One-sided z value the series-paired gain of the text must exceed (a 5% chance that a correction without any
#: real gain passes).
GAIN_Z = 1.645


def fit_text_residual(module, dataset, output_chunk_length: int, min_gain: float | None, steps: int = 300,
                      lr: float = 3e-3, batch_size: int = 512, max_windows: int = 50_000, seed: int = 0,
                      encoder_lr: float = 1e-4) -> TextCheck:
    """Fit the text correction of ``module`` (a :class:`~darts_llm.models.fusion.TextFusionModule` whose twin is
    trained) on the windows of ``dataset``, check it on the most recent ones and keep it only if it helps there
    (``min_gain=None``: keep it whatever the check finds).

    ``lr`` is the learning rate of the correction network, ``encoder_lr`` that of a trainable encoder
    (lora/full), which starts every fit from the weights it had after the twin's training and keeps them when the
    text is dropped. Returns the :class:`TextCheck`; ``module.text_on`` is set accordingly.
    """
    indices, steps_after, owners = window_ends(dataset, max_windows)
    ocl = int(output_chunk_length)
    check = steps_after < ocl
    fit = steps_after >= 2 * ocl - 1  # their forecast windows never reach a checked step
    n_fit, n_check = int(fit.sum()), int(check.sum())
    checkable = n_fit > 0 and n_check > 0
    module.set_text(False)
    if not checkable and min_gain is not None:
        reason = (f"the training series are too short to check the text on recent windows ({n_fit} older "
                  f"and {n_check} recent windows): the model forecasts without text")
        return TextCheck(False, None, None, None, min_gain, n_fit, n_check, reason, None)
    without = with_text = gain = z = None
    encoder = module.vocabulary.encoder_parameters()
    encoder_start = [p.detach().clone() for p in encoder]

    def restore_encoder():
        with torch.no_grad():
            for param, start in zip(encoder, encoder_start):
                param.copy_(start)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        windows = _twin_forecasts(module, dataset, indices, batch_size=max(batch_size, 256))
        device = windows.base.device
        module.text_residual.to(device)
        if checkable:
            fit_rows = torch.as_tensor(np.flatnonzero(fit), device=device)
            checked = windows.take(torch.as_tensor(np.flatnonzero(check), device=device))
            _fit(module, windows.take(fit_rows), steps, lr, batch_size, seed, encoder_lr)
            without, with_text, per_series = _checked_losses(module, checked, owners[check])
            gain = 1.0 - with_text / without if without > 0 else 0.0
            z = _paired_z(per_series)
        passed = checkable and min_gain is not None and bool(np.isfinite(gain) and gain > min_gain and z > GAIN_Z)
        kept = passed or min_gain is None
        restore_encoder()
        if kept:
            _fit(module, windows, steps, lr, batch_size, seed + 1, encoder_lr)
        else:
            module.text_residual.reset()
    module.set_text(kept)
    change = (f"the text changes the loss of the {n_check} most recent training windows by {-100 * gain:+.1f}% "
              f"(z = {z:.1f} over {len(per_series)} series)" if checkable else "the text could not be checked")
    if min_gain is None:
        reason = f"{change}; it is used without a check (text_min_gain=None)"
    else:
        needs = f"a reduction above {100 * min_gain:.1f}% with z above {GAIN_Z}"
        reason = (f"{change}; it is used ({needs})" if kept else
                  f"{change}; the model forecasts without text (it needs {needs})")
    logger.info("Text check: %s.", reason)
    return TextCheck(kept, without, with_text, gain, min_gain, n_fit, n_check, reason, z)


def _paired_z(gains: np.ndarray) -> float:
    """Mean over series of the text's loss reduction, in standard errors (0 with fewer than 2 series)."""
    if len(gains) < 2:
        return 0.0
    spread = float(np.std(gains, ddof=1))
    if spread == 0.0:
        return 0.0 if float(np.mean(gains)) <= 0 else float("inf")
    return float(np.mean(gains)) / (spread / np.sqrt(len(gains)))
