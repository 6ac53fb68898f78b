"""Model specifications as data: which Darts model, on which inputs, with which text variant.

A spec names its inputs instead of building them: ``static`` is ``"num"`` (``log1p(price)`` only), a text mode
(``"real"``, ``"shuffled"``, ``"constant"``: the description as a string static covariate for the text-aware
models) or ``"pca:<mode>"`` (the description as numeric PCA static covariates); ``past`` / ``future`` list
``"age"`` (launch covariates) and ``"nbr:<mode>"`` (text-neighbour demand). :func:`with_ablations` turns one text
model into its real / shuffled / constant variants, and :func:`ensemble_specs` names averaged pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from darts_llm.evaluation import ABLATION_MODES

ABLATION = "ablation"


@dataclass(frozen=True)
class ModelSpec:
    """A global model of a benchmark: ``build(seed)`` returns the untrained Darts model."""

    name: str
    family: str
    build: Callable[[int], object]
    static: str = "num"
    past: tuple[str, ...] = ()
    future: tuple[str, ...] = ()
    text: bool = False
    seeded: bool = True


@dataclass(frozen=True)
class EnsembleSpec:
    """The average of two models' forecasts (Darts ``NaiveEnsembleModel``), per seed of the seeded member."""

    name: str
    members: tuple[str, str]
    text: bool
    family: str = "ensemble"


def ablation_name(name: str, mode: str) -> str:
    """``name`` of the ``mode`` variant of a text model (``"X"``, ``"X, shuffled text"``, ``"X, constant text"``)."""
    return name if mode == "real" else f"{name}, {mode} text"


def with_ablations(spec: ModelSpec, modes: tuple[str, ...] = ABLATION_MODES) -> list[ModelSpec]:
    """``spec`` (written with ``{mode}`` in its input names) for each text mode; non-real modes are ablations."""
    out = []
    for mode in modes:
        out.append(replace(
            spec,
            name=ablation_name(spec.name, mode),
            family=spec.family if mode == "real" else ABLATION,
            static=spec.static.format(mode=mode),
            past=tuple(p.format(mode=mode) for p in spec.past),
            future=tuple(f.format(mode=mode) for f in spec.future),
            text=True,
        ))
    return out


def ensemble_specs(pairs: list[tuple[str, str, str]], specs: dict[str, bool], ablated: set[str]) -> list[EnsembleSpec]:
    """Ensembles of ``(label, member a, member b)``; with text members, also their shuffled / constant variants.

    ``specs`` maps every available model to whether it reads text; ``ablated`` are the models with ablation
    variants (an ensemble's ablation ablates each of its text members).
    """
    out = []
    for label, a, b in pairs:
        if a not in specs or b not in specs:
            continue
        text = specs[a] or specs[b]
        out.append(EnsembleSpec(f"Ensemble: {label}", (a, b), text))
        if text and all(m in ablated or not specs[m] for m in (a, b)):
            for mode in ABLATION_MODES[1:]:
                members = tuple(ablation_name(m, mode) if specs[m] else m for m in (a, b))
                out.append(EnsembleSpec(ablation_name(f"Ensemble: {label}", mode), members, True, ABLATION))
    return out
