"""The plugin manager: built-in registrations plus lazily loaded entry points."""

from __future__ import annotations

import logging
import os

import pluggy

from darts_llm import hookspecs

logger = logging.getLogger(__name__)

#: Entry-point group scanned for third-party plugins.
ENTRY_POINT_GROUP = "darts_llm"
#: Set this environment variable to "1" to skip third-party plugins (built-ins still load).
DISABLE_ENV = "DARTS_LLM_DISABLE_PLUGINS"

#: Modules of darts-llm itself that implement hooks.
DEFAULT_PLUGINS = ("darts_llm.default_plugins",)

pm = pluggy.PluginManager("darts_llm")
pm.add_hookspecs(hookspecs)

_loaded = False


def plugins_disabled() -> bool:
    """Whether :data:`DISABLE_ENV` asks to skip third-party plugins."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_plugins() -> pluggy.PluginManager:
    """Register the built-ins and, unless disabled, the entry-point plugins; runs once per process."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    import importlib

    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name=name)
    if not plugins_disabled():
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def get_plugins() -> list[dict]:
    """Names and distributions of the registered plugins."""
    load_plugins()
    out = []
    for plugin in pm.get_plugins():
        info = {"name": pm.get_name(plugin), "hooks": [h.name for h in pm.get_hookcallers(plugin) or []]}
        dist = dict(pm.list_plugin_distinfo()).get(plugin)
        if dist is not None:
            info["version"] = dist.version
            info["distribution"] = dist.project_name
        out.append(info)
    return out


def reset_plugins() -> None:
    """Forget loaded plugins so that the next :func:`load_plugins` starts over (for tests)."""
    global _loaded
    for plugin in list(pm.get_plugins()):
        pm.unregister(plugin)
    _loaded = False
