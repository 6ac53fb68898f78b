"""Resolve encoder specs and model names through the plugin registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from darts_llm.encoders.base import TextEncoder
from darts_llm.errors import EncoderLoadError, PluginError
from darts_llm.plugins import load_plugins

#: The alias used when no encoder is given.
DEFAULT_ENCODER = "minilm"


@dataclass(frozen=True)
class EncoderEntry:
    """A registered encoder alias."""

    name: str
    factory: Callable[..., TextEncoder]
    description: str = ""
    plugin: str = ""


_encoders: dict[str, EncoderEntry] | None = None
_models: dict[str, type] | None = None


def _collect_encoders() -> dict[str, EncoderEntry]:
    pm = load_plugins()
    found: dict[str, EncoderEntry] = {}
    for impl in reversed(pm.hook.darts_llm_register_encoders.get_hookimpls()):
        plugin = impl.plugin_name

        def register(name, factory, description="", _plugin=plugin):
            if not isinstance(name, str) or not name:
                raise PluginError(f"Plugin {_plugin!r} registered an encoder with invalid name {name!r}.")
            if not callable(factory):
                raise PluginError(f"Plugin {_plugin!r}: the factory of encoder {name!r} is not callable.")
            if name in found:
                raise PluginError(
                    f"Encoder name {name!r} is registered twice (by {found[name].plugin!r} and {_plugin!r}); "
                    f"rename one of them, or set DARTS_LLM_DISABLE_PLUGINS=1 to load only the built-ins."
                )
            found[name] = EncoderEntry(name, factory, description, _plugin)

        impl.function(register=register)
    return found


def _collect_models() -> dict[str, type]:
    pm = load_plugins()
    found: dict[str, type] = {}
    owner: dict[str, str] = {}
    for impl in reversed(pm.hook.darts_llm_register_models.get_hookimpls()):
        plugin = impl.plugin_name

        def register(model_class, name=None, _plugin=plugin):
            if not isinstance(model_class, type):
                raise PluginError(f"Plugin {_plugin!r} registered {model_class!r}, which is not a class.")
            name = name or model_class.__name__
            if name in found:
                raise PluginError(
                    f"Model name {name!r} is registered twice (by {owner[name]!r} and {_plugin!r}); "
                    f"rename one of them, or set DARTS_LLM_DISABLE_PLUGINS=1 to load only the built-ins."
                )
            found[name] = model_class
            owner[name] = _plugin

        impl.function(register=register)
    return found


def _encoder_entries() -> dict[str, EncoderEntry]:
    global _encoders
    if _encoders is None:
        _encoders = _collect_encoders()
    return _encoders


def _model_entries() -> dict[str, type]:
    global _models
    if _models is None:
        _models = _collect_models()
    return _models


def refresh() -> None:
    """Re-read the registrations at the next lookup (after registering a plugin by hand)."""
    global _encoders, _models
    _encoders = None
    _models = None


def list_encoders() -> dict[str, str]:
    """Registered encoder aliases and their descriptions."""
    return {name: entry.description for name, entry in _encoder_entries().items()}


def list_models() -> dict[str, type]:
    """Registered forecasting model classes by name."""
    return dict(_model_entries())


def get_model_class(name: str) -> type:
    """The model class registered as ``name`` (e.g. ``"TextTiDEModel"``)."""
    models = _model_entries()
    if name not in models:
        raise KeyError(f"Unknown model {name!r}; registered models: {sorted(models)}.")
    return models[name]


def get_encoder(spec: str | TextEncoder | None = None, **kwargs) -> TextEncoder:
    """Resolve an encoder spec to a :class:`~darts_llm.encoders.base.TextEncoder`.

    Parameters
    ----------
    spec
        ``None`` (the default encoder, all-MiniLM-L6-v2), a registered alias (``"minilm"``, see
        :func:`list_encoders`), a local directory holding a Hugging Face model, a Hugging Face model id
        (``"intfloat/multilingual-e5-small"``), or a ``TextEncoder`` instance (returned as is).
    **kwargs
        Passed to the encoder factory, e.g. ``pooling="last"``, ``max_length=128``, ``device="cuda"``.

    Returns
    -------
    TextEncoder
        The encoder. Hugging Face weights load on first use; a missing model raises
        :class:`~darts_llm.errors.EncoderLoadError` with the ways to fix it.
    """
    if isinstance(spec, TextEncoder):
        if kwargs:
            raise ValueError(
                f"Encoder settings {sorted(kwargs)} cannot be applied to an encoder instance; "
                f"set them when creating {spec!r}."
            )
        return spec
    if spec is None:
        spec = DEFAULT_ENCODER
    if not isinstance(spec, str) or not spec.strip():
        raise EncoderLoadError(
            f"Encoder spec must be an alias, a Hugging Face id, a local directory or a TextEncoder, got {spec!r}."
        )
    entries = _encoder_entries()
    if spec in entries:
        return entries[spec].factory(**kwargs)
    from darts_llm.encoders.huggingface import HuggingFaceEncoder

    path = Path(os.path.expanduser(spec))
    if path.exists() and not path.is_dir():
        raise EncoderLoadError(
            f"Encoder path {spec!r} is a file; pass the directory that holds config.json and the weights."
        )
    if path.is_dir() and not (path / "config.json").is_file():
        raise EncoderLoadError(
            f"Directory {spec!r} holds no config.json, so it is not a Hugging Face model; pass the folder "
            f"written by `save_pretrained`, or an alias from {sorted(entries)}."
        )
    looks_like_id = path.is_dir() or ("/" in spec and not spec.startswith((".", "/", "~")))
    if not looks_like_id:
        raise EncoderLoadError(
            f"Unknown encoder {spec!r}: not a registered alias ({sorted(entries)}), not an existing "
            f"directory, and not a Hugging Face id of the form 'organisation/model'."
        )
    return HuggingFaceEncoder(spec, **kwargs)
