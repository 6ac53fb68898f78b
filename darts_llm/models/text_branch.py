"""How one text column enters the backbone: :class:`TextBranch`.

The branch turns a standardised text embedding into the ``text_dim`` features the backbone reads among its
static covariates::

    features = no_text + gate * keep * (projection(embedding) + noise - no_text)

- ``projection``: a linear map from the encoder's embedding to ``text_dim`` features (Monte Carlo dropout after it);
- ``no_text``: a learned vector, what the backbone sees for a sample without text; it starts at zero;
- ``gate`` (``text_gate=True``): a learned per-feature gate that starts at zero, so a new network *is* its no-text
  twin (every sample sees ``no_text``) and the text gains influence only as far as training pulls the gate open;
  without it the gate is fixed at one;
- ``keep``: text dropout during training (``no_text_prob``): a sample loses its text for the ``no_text`` vector with
  that probability, so one network also learns the forecast without text;
- ``noise``: Gaussian noise of standard deviation ``text_noise`` on the projected features during training, a
  narrow, noisy channel through which a product's exact identity is hard to pass.
"""

from __future__ import annotations

import torch
from torch import nn

from darts_llm.models.darts_internals import MonteCarloDropout

__all__ = ["TextBranch"]


class TextBranch(nn.Module):
    """Embeddings ``(..., embedding_dim)`` -> text features ``(..., text_dim)`` (see the module docstring).

    Parameters
    ----------
    embedding_dim
        Size of the encoder's embeddings.
    text_dim
        Number of features the backbone reads.
    dropout
        Monte Carlo dropout on the projected features.
    gated
        Whether the learned gate (starting at zero) scales the text's part of the features.
    no_text_prob
        Probability that a training sample sees the ``no_text`` vector instead of its text.
    noise
        Standard deviation of the Gaussian noise on the projected features during training.
    """

    def __init__(self, embedding_dim: int, text_dim: int, dropout: float = 0.0, gated: bool = False,
                 no_text_prob: float = 0.0, noise: float = 0.0, components: int | None = None):
        super().__init__()
        # a frozen principal-component basis of the training texts' embeddings (``components`` of them), or none
        self.components = None if components is None else int(components)
        if self.components is not None:
            self.register_buffer("center", torch.zeros(embedding_dim))
            self.register_buffer("basis", torch.zeros(embedding_dim, self.components))
        self.projection = nn.Linear(embedding_dim if components is None else self.components, text_dim)
        self.dropout = MonteCarloDropout(dropout) if dropout else nn.Identity()
        self.no_text = nn.Parameter(torch.zeros(text_dim))
        self.gate = nn.Parameter(torch.zeros(text_dim)) if gated else None
        self.no_text_prob = float(no_text_prob)
        self.noise = float(noise)

    def fit_basis(self, embeddings: torch.Tensor) -> None:
        """Set the principal-component basis from the training texts' embeddings ``(n_texts, embedding_dim)``."""
        if self.components is None:
            return
        x = embeddings.double()
        center = x.mean(dim=0)
        _, _, v = torch.linalg.svd(x - center, full_matrices=False)
        basis = torch.zeros_like(self.basis, dtype=torch.float64)
        k = min(self.components, v.shape[0])
        basis[:, :k] = v[:k].T
        self.center = center.to(self.center)
        self.basis = basis.to(self.basis)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        if self.components is not None:
            embeddings = (embeddings - self.center) @ self.basis
        features = self.dropout(self.projection(embeddings))
        if self.training and self.noise:
            features = features + self.noise * torch.randn_like(features)
        text = features - self.no_text
        if self.gate is not None:
            text = self.gate * text
        if self.training and self.no_text_prob:
            keep = torch.rand(text.shape[:-1] + (1,), device=text.device) >= self.no_text_prob
            text = text * keep.to(text.dtype)
        #: the mean size of the text's part of the features in the last forward pass (the text penalty's base)
        self.influence = text.abs().mean()
        return self.no_text + text

    def without_text(self, like: torch.Tensor) -> torch.Tensor:
        """The features of a sample without text, shaped like ``like`` ``(..., text_dim)``."""
        return self.no_text.expand_as(like)
