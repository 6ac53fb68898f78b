"""The :class:`TextEncoder` interface every encoder implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np

from darts_llm.errors import TextInputError


def is_missing(value: object) -> bool:
    """Whether ``value`` is a missing scalar: ``None``, float/numpy NaN, ``pd.NA`` or ``pd.NaT``.

    Strings (including ``""``, ``"nan"`` and ``"<NA>"``) are never missing: they are text.
    """
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if type(value).__module__.startswith(("pandas", "numpy")):
        import pandas as pd  # only for pandas/numpy scalars (pd.NA, pd.NaT, np.datetime64("NaT"), ...)

        try:
            return bool(pd.api.types.is_scalar(value) and pd.isna(value))
        except (TypeError, ValueError):
            return False
    return False


def clean_texts(
    texts: Iterable[object], missing: str = "empty", name: str = "texts"
) -> list[str]:
    """Validate text input and return a list of strings.

    Parameters
    ----------
    texts
        The values to check. Strings pass unchanged.
    missing
        What to do with missing values (``None``, NaN, ``pd.NA``, ``pd.NaT``): ``"empty"`` turns them into the
        empty string (which has a defined embedding), ``"raise"`` raises :class:`TextInputError`.
    name
        The parameter name used in error messages.

    Returns
    -------
    list[str]
        The texts as strings, in input order.

    Raises
    ------
    TextInputError
        If a value is neither a string nor missing, or is missing and ``missing="raise"``.
    """
    if isinstance(texts, str):
        raise TextInputError(
            f"`{name}` must be a sequence of strings, got a single string; wrap it in a list: [{texts[:40]!r}]."
        )
    if missing not in ("empty", "raise"):
        raise ValueError(f"`missing` must be 'empty' or 'raise', got {missing!r}.")
    out: list[str] = []
    for i, value in enumerate(texts):
        if isinstance(value, str):
            out.append(str(value))
        elif is_missing(value):
            if missing == "raise":
                raise TextInputError(
                    f"`{name}[{i}]` is missing ({value!r}); fill it with a string (e.g. '') or pass missing='empty'."
                )
            out.append("")
        else:
            raise TextInputError(
                f"`{name}[{i}]` is a {type(value).__name__} ({value!r:.60}), not a string. Convert the values to "
                f"text yourself if they are meant as text (e.g. `column.astype('string')`, which keeps missing "
                f"values missing; `.astype(str)` would embed 'nan' and '<NA>' as words), or drop the value. "
                f"Missing values (None, NaN, pd.NA) need no conversion: they are embedded as the empty text."
            )
    return out


class TextEncoder(ABC):
    """A model that maps texts to fixed-size float32 vectors.

    Subclasses implement :attr:`encoder_id`, :attr:`dim` and :meth:`_encode`. The ``encoder_id`` is a fingerprint:
    two encoders with the same id must return the same vectors for the same text, since
    :class:`~darts_llm.cache.EmbeddingCache` keys its entries on it.
    """

    @property
    @abstractmethod
    def encoder_id(self) -> str:
        """A string that identifies the model, its weights and every setting that changes the output."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Size of the embedding vectors."""

    @abstractmethod
    def _encode(
        self, texts: list[str], batch_size: int, show_progress: bool
    ) -> np.ndarray:
        """Encode validated strings into an array of shape ``(len(texts), dim)``."""

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into embeddings.

        Parameters
        ----------
        texts
            The texts. Missing values (``None``, NaN, ``pd.NA``, ``pd.NaT``) are encoded as the empty string;
            other non-strings raise
            :class:`~darts_llm.errors.TextInputError`.
        batch_size
            Number of texts per forward pass.
        show_progress
            Show a progress bar. ``None`` shows one for more than 1,000 texts.

        Returns
        -------
        np.ndarray
            float32 array of shape ``(len(texts), dim)``, rows in input order.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive integer, got {batch_size!r}."
            )
        clean = clean_texts(texts)
        if not clean:
            return np.zeros((0, self.dim), dtype=np.float32)
        if show_progress is None:
            show_progress = len(clean) > 1000
        out = np.asarray(self._encode(clean, batch_size, show_progress))
        return out.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.encoder_id!r})"
