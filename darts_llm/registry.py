"""Resolve encoder specs and model names through the plugin registry.

Importing this module loads no plugin, no ``torch`` and no Darts: entry points load on the first lookup, and a
model registered as a ``"module:Class"`` string is imported only when it is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from darts_llm.encoders.base import TextEncoder
from darts_llm.errors import EncoderLoadError, PluginError
from darts_llm.plugins import hook_error, load_plugins

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
_models: dict[str, type | str] | None = None
_model_owners: dict[str, str] = {}


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

        _call_hook(impl, register)
    return found


def _call_hook(impl, register) -> None:
    """Run one plugin's hook; anything it raises (other than a registration error) names the plugin."""
    try:
        impl.function(register=register)
    except PluginError:
        raise
    except Exception as err:  # noqa: BLE001 - a plugin's own bug, reported with its name
        raise hook_error(impl.plugin_name, impl.function.__name__, err) from err


def _import_reference(reference: str, name: str, plugin: str) -> type:
    """The class named by ``"module:Class"``."""
    import importlib

    module_name, _, attr = reference.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except Exception as err:  # noqa: BLE001
        raise hook_error(plugin, f"darts_llm_register_models (importing {reference!r} for {name!r})", err) from err
    if not isinstance(cls, type):
        raise PluginError(f"Plugin {plugin!r} registered {reference!r} as model {name!r}, which is not a class.")
    return cls


def _collect_models() -> dict[str, type | str]:
    pm = load_plugins()
    found: dict[str, type | str] = {}
    owner: dict[str, str] = {}
    for impl in reversed(pm.hook.darts_llm_register_models.get_hookimpls()):
        plugin = impl.plugin_name

        def register(model_class, name=None, _plugin=plugin):
            lazy = isinstance(model_class, str) and model_class.count(":") == 1
            if not (isinstance(model_class, type) or lazy):
                raise PluginError(
                    f"Plugin {_plugin!r} registered {model_class!r}, which is neither a class nor a "
                    f"'module:Class' reference."
                )
            name = name or (model_class.rpartition(":")[2] if lazy else model_class.__name__)
            if name in found:
                raise PluginError(
                    f"Model name {name!r} is registered twice (by {owner[name]!r} and {_plugin!r}); "
                    f"rename one of them, or set DARTS_LLM_DISABLE_PLUGINS=1 to load only the built-ins."
                )
            found[name] = model_class
            owner[name] = _plugin

        _call_hook(impl, register)
    _model_owners.update(owner)
    return found


def _encoder_entries() -> dict[str, EncoderEntry]:
    global _encoders
    if _encoders is None:
        _encoders = _collect_encoders()
    return _encoders


def _model_entries() -> dict[str, type | str]:
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
    """Registered forecasting model classes by name (imports each model's module)."""
    return {name: get_model_class(name) for name in _model_entries()}


def list_model_names() -> dict[str, str]:
    """Registered model names and where each lives (``"module:Class"``), without importing any of them."""
    return {
        name: ref if isinstance(ref, str) else f"{ref.__module__}:{ref.__qualname__}"
        for name, ref in _model_entries().items()
    }


def get_model_class(name: str) -> type:
    """The model class registered as ``name`` (e.g. ``"TextTiDEModel"``)."""
    models = _model_entries()
    if name not in models:
        raise KeyError(f"Unknown model {name!r}; registered models: {sorted(models)}.")
    if isinstance(models[name], str):
        models[name] = _import_reference(models[name], name, _model_owners.get(name, ""))
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
