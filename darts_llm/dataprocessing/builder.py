"""The shape shared by the covariate builders: target series in, covariate series out.

A Darts data transformer maps each series to a transformed version of *itself*, one series at a time: Darts calls a
static ``ts_transform(series, params)`` per series, and a :class:`darts.dataprocessing.Pipeline` feeds each
transformer's output to the next one, with no argument for a forecast horizon. Text covariates do not fit that
mould on their own: the output is another series (the covariates of a target, not the target), the covariates of one
product can depend on the other series passed with it (what its text neighbours sold), and future covariates must
reach ``n`` steps past the target's end. So the builders share the small interface of :class:`CovariateBuilder`,
close to Darts' own covariate encoders (``encode_train`` / ``encode_inference(n, target)``):

- ``fit(series)``: learn from the training targets (a projection, the panel of neighbours);
- ``past_covariates(series)``: covariates on each target's own time index, for ``past_covariates=``;
- ``future_covariates(series, n)``: covariates reaching at least ``n`` steps past each target's end.

:class:`CovariateTransformer` wraps any builder as a Darts ``FittableDataTransformer`` (one kind of covariates, a
fixed ``n``) so that it can sit in a Darts ``Pipeline``, e.g. followed by a ``Scaler`` of the covariates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.dataprocessing.transformers import FittableDataTransformer
from darts.logging import raise_log

#: Kinds of covariates a builder can produce.
COVARIATE_KINDS = ("past", "future")


def as_series_list(series: TimeSeries | Sequence[TimeSeries], name: str = "series") -> list[TimeSeries]:
    """``series`` as a non-empty list of ``TimeSeries`` (a single series becomes a list of one)."""
    seq = [series] if isinstance(series, TimeSeries) else list(series) if series is not None else []
    if not seq:
        raise_log(ValueError(f"`{name}` is empty; pass a TimeSeries or a non-empty sequence of them."))
    for idx, ts in enumerate(seq):
        if not isinstance(ts, TimeSeries):
            raise_log(ValueError(f"`{name}[{idx}]` is a {type(ts).__name__}, not a darts TimeSeries."))
    return seq


def check_horizon(n: Any, name: str = "n") -> int:
    """``n`` as a non-negative int, or a ``ValueError`` naming the parameter."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise_log(ValueError(f"`{name}` must be a non-negative integer (the forecast horizon, in steps after each series' end), got {n!r}."))
    return int(n)


def series_keys(
    series: Sequence[TimeSeries], series_key: str | None, keys: Sequence[Hashable] | None = None
) -> list[Hashable] | None:
    """One key per series: from ``keys``, else from ``series_key``; ``None`` when neither is given.

    Parameters
    ----------
    series
        The series.
    series_key
        Name of a static covariate column, or of a ``metadata`` entry, that holds each series' key (a product id).
    keys
        Explicit keys, one per series; override ``series_key``.

    Returns
    -------
    list | None
        The keys, or ``None`` when the series carry no key.
    """
    if keys is not None:
        if isinstance(keys, (str, bytes)):
            raise_log(ValueError(f"`keys` must be a sequence with one key per series, got the string {keys!r}."))
        keys = list(keys)
        if len(keys) != len(series):
            raise_log(ValueError(f"`keys` has {len(keys)} entries for {len(series)} series; pass one key per series."))
        return keys
    if series_key is None:
        return None
    out = []
    for idx, ts in enumerate(series):
        static = ts.static_covariates
        metadata = getattr(ts, "metadata", None) or {}
        if static is not None and series_key in static.columns:
            values = pd.unique(static[series_key].to_numpy(dtype=object))
            if len(values) != 1 or pd.isna(values[0]):
                raise_log(
                    ValueError(
                        f"series[{idx}] static covariate {series_key!r} (the `series_key`) must hold one key, got "
                        f"{list(values)}."
                    )
                )
            out.append(values[0])
        elif series_key in metadata:
            out.append(metadata[series_key])
        else:
            have = [] if static is None else list(static.columns)
            raise_log(
                ValueError(
                    f"series[{idx}] has no static covariate {series_key!r} and no metadata entry of that name (the "
                    f"`series_key`; its static covariates are {have}, its metadata keys {list(metadata)}); add it, "
                    f"or pass `keys=[...]` with one key per series."
                )
            )
    return out


class CovariateBuilder(ABC):
    """Builds covariate series for target series; see the module docstring for why this is not a Darts transformer.

    Subclasses implement :meth:`fit` and :meth:`past_covariates`, and :meth:`future_covariates` where they can
    know covariate values ahead of time. Outputs follow Darts' conventions: one ``TimeSeries`` for a single input,
    a list for a sequence, in input order.
    """

    #: Name used in messages.
    name: str = "CovariateBuilder"

    @abstractmethod
    def fit(self, series: TimeSeries | Sequence[TimeSeries]) -> "CovariateBuilder":
        """Learn from the training target series; returns ``self``."""

    @abstractmethod
    def past_covariates(self, series: TimeSeries | Sequence[TimeSeries]) -> TimeSeries | list[TimeSeries]:
        """Past covariates covering each target's own time index."""

    def future_covariates(self, series: TimeSeries | Sequence[TimeSeries], n: int) -> TimeSeries | list[TimeSeries]:
        """Future covariates covering each target's index and at least ``n`` steps after it."""
        raise_log(
            ValueError(
                f"{self.name} builds past covariates only (its values are not known ahead of time); pass them as "
                f"`past_covariates=` from `past_covariates(series)`."
            )
        )

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` was called."""
        return bool(getattr(self, "fitted_", False))

    def check_fitted(self) -> None:
        if not self.fitted:
            raise_log(ValueError(f"{self.name} is not fitted; call `fit(series)` first."))

    def covariates(
        self, series: TimeSeries | Sequence[TimeSeries], kind: str = "past", n: int = 0
    ) -> TimeSeries | list[TimeSeries]:
        """``past_covariates(series)`` for ``kind="past"``, ``future_covariates(series, n)`` for ``"future"``."""
        if kind not in COVARIATE_KINDS:
            raise_log(ValueError(f"`kind` must be one of {COVARIATE_KINDS}, got {kind!r}."))
        if kind == "past":
            return self.past_covariates(series)
        return self.future_covariates(series, n)


class CovariateTransformer(FittableDataTransformer):
    """A :class:`CovariateBuilder` as a Darts ``FittableDataTransformer``, for a Darts ``Pipeline``.

    ``fit`` fits the builder on all series at once (a global fit) and ``transform`` returns their covariates of
    one kind. A pipeline's output is then a covariate series, so put this transformer first and follow it only by
    transformers of the covariates (a ``Scaler``, a ``MissingValuesFiller``).

    Parameters
    ----------
    builder
        The covariate builder (it is fitted in place).
    kind
        ``"past"`` (``builder.past_covariates``) or ``"future"`` (``builder.future_covariates(series, n)``).
    n
        Steps after each target's end for future covariates (the forecast horizon).
    name
        Name of the transformer; by default the builder's name and the kind.

    Examples
    --------
    >>> from darts.dataprocessing import Pipeline  # doctest: +SKIP
    >>> from darts.dataprocessing.transformers import Scaler  # doctest: +SKIP
    >>> covariates = Pipeline([CovariateTransformer(embedder), Scaler()])  # doctest: +SKIP
    >>> past_train = covariates.fit_transform(train)  # doctest: +SKIP
    """

    def __init__(self, builder: CovariateBuilder, kind: str = "past", n: int = 0, name: str | None = None):
        if not isinstance(builder, CovariateBuilder):
            raise_log(
                ValueError(
                    f"`builder` must be a darts_llm CovariateBuilder (TextEventsEmbedder, TextNeighbours), got "
                    f"{type(builder).__name__}."
                )
            )
        if kind not in COVARIATE_KINDS:
            raise_log(ValueError(f"`kind` must be one of {COVARIATE_KINDS}, got {kind!r}."))
        self._builder = builder
        self._kind = kind
        self._n = check_horizon(n)
        super().__init__(name=name or f"{builder.name}({kind})", global_fit=True, mask_components=False)

    @property
    def builder(self) -> CovariateBuilder:
        """The wrapped builder."""
        return self._builder

    @staticmethod
    def ts_fit(series: Sequence[TimeSeries], params: dict, *args, **kwargs) -> CovariateBuilder:
        return params["fixed"]["_builder"].fit(series)

    @staticmethod
    def ts_transform(series: TimeSeries, params: dict, *args, **kwargs) -> TimeSeries:
        fixed = params["fixed"]
        return params["fitted"].covariates(series, kind=fixed["_kind"], n=fixed["_n"])

    def transform(self, series, *args, component_mask=None, series_idx=None, **kwargs):
        """Covariates of every series, built in one call so that a builder sees the whole panel.

        ``component_mask`` and ``series_idx`` are accepted for compatibility with Darts and ignored: the
        covariates use every component of a target, and one fitted builder serves all series.
        """
        if not self._fit_called:
            raise_log(ValueError(f"{self.name}: call `fit` (or `fit_transform`) before `transform`."))
        return self._fitted_params[0].covariates(series, kind=self._kind, n=self._n)
