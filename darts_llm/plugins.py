"""The plugin manager: built-in registrations plus lazily loaded entry points.

Entry points of the ``darts_llm`` group are loaded on the first registry lookup (not when ``darts_llm`` is
imported), once per process. A plugin that fails to import, or whose hook raises, is named in a
:class:`~darts_llm.errors.PluginError` (distribution, version and entry point) with the way to skip it; the healthy
plugins stay registered, and every later lookup raises the same error until the plugin is fixed or skipped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pluggy

from darts_llm import hookspecs
from darts_llm.errors import PluginError

logger = logging.getLogger(__name__)

#: Entry-point group scanned for third-party plugins.
ENTRY_POINT_GROUP = "darts_llm"
#: Environment variable that skips third-party plugins: ``1`` (or ``true``/``yes``/``on``) skips all of them; a
#: comma-separated list of entry-point or distribution names skips those (built-ins always load).
DISABLE_ENV = "DARTS_LLM_DISABLE_PLUGINS"

#: Modules of darts-llm itself that implement hooks.
DEFAULT_PLUGINS = ("darts_llm.default_plugins",)

pm = pluggy.PluginManager("darts_llm")
pm.add_hookspecs(hookspecs)


@dataclass(frozen=True)
class PluginSource:
    """Where a registered plugin comes from."""

    name: str
    entry_point: str = ""
    distribution: str = ""
    version: str = ""

    def describe(self) -> str:
        """``'name' (entry point 'pkg.mod', distribution pkg-dist 1.0)``."""
        parts = []
        if self.entry_point:
            parts.append(f"entry point {self.name} = {self.entry_point!r}")
        if self.distribution:
            parts.append(f"distribution {self.distribution} {self.version}".rstrip())
        return f"{self.name!r}" + (f" ({', '.join(parts)})" if parts else "")

    def hint(self) -> str:
        """How to get going again without this plugin."""
        if not self.entry_point:
            return "This is a built-in of darts-llm; please report it."
        uninstall = f" or `pip uninstall {self.distribution}`" if self.distribution else ""
        return (
            f"Fix or update the plugin{uninstall}; to run without it, set {DISABLE_ENV}={self.name} (or "
            f"{DISABLE_ENV}=1 to skip every third-party plugin)."
        )


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded."""

    source: PluginSource
    error: BaseException

    def message(self) -> str:
        return (
            f"The darts-llm plugin {self.source.describe()} failed to load: "
            f"{type(self.error).__name__}: {self.error}. {self.source.hint()}"
        )


_loaded = False
_sources: dict[str, PluginSource] = {}
_failures: list[PluginFailure] = []


def _disabled() -> tuple[bool, set[str]]:
    """(all third-party plugins skipped, names of the skipped ones)."""
    value = os.environ.get(DISABLE_ENV, "").strip()
    if value.lower() in ("1", "true", "yes", "on"):
        return True, set()
    return False, {v.strip().lower() for v in value.split(",") if v.strip()}


def plugins_disabled() -> bool:
    """Whether :data:`DISABLE_ENV` asks to skip every third-party plugin."""
    return _disabled()[0]


def _skipped(source: PluginSource) -> bool:
    every, names = _disabled()
    return every or source.name.lower() in names or (source.distribution or "\0").lower() in names


def _load_entry_points(group: str) -> None:
    """Load and register every entry point of ``group``; a failure is remembered, the others still load."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        source = PluginSource(
            ep.name, ep.value, dist.metadata["Name"] if dist is not None else "", dist.version if dist else ""
        )
        if _skipped(source) or pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as err:  # noqa: BLE001 - any failure of a third-party plugin is reported, not raised raw
            failure = PluginFailure(source, err)
            logger.error("%s", failure.message())
            _failures.append(failure)
            continue
        _sources[ep.name] = source


def load_plugins() -> pluggy.PluginManager:
    """Register the built-ins and, unless disabled, the entry-point plugins (loaded once per process).

    Raises
    ------
    PluginError
        If a plugin failed to import (now or at an earlier call): it names the plugin's entry point and
        distribution and how to skip it. The plugins that loaded stay registered.
    """
    global _loaded
    if not _loaded:
        import importlib

        for name in DEFAULT_PLUGINS:
            module = importlib.import_module(name)
            if not pm.is_registered(module):
                pm.register(module, name=name)
                _sources[name] = PluginSource(name)
        if not plugins_disabled():
            _load_entry_points(ENTRY_POINT_GROUP)
        _loaded = True  # only once everything was tried, so a failure cannot hide the other plugins
    failures = [f for f in _failures if not _skipped(f.source)]
    if failures:
        error = PluginError("\n".join(f.message() for f in failures))
        raise error from failures[0].error
    return pm


def plugin_source(name: str) -> PluginSource:
    """Entry point and distribution of the registered plugin ``name``."""
    return _sources.get(name, PluginSource(name))


def hook_error(plugin_name: str, hook: str, error: BaseException) -> PluginError:
    """The error for a plugin whose hook ``hook`` raised ``error``, naming the plugin and how to skip it."""
    source = plugin_source(plugin_name)
    return PluginError(
        f"The darts-llm plugin {source.describe()} failed in its hook {hook}: {type(error).__name__}: {error}. "
        f"{source.hint()}"
    )


def plugin_failures() -> list[PluginFailure]:
    """The plugins that failed to load in this process (also those now skipped)."""
    return list(_failures)


def get_plugins() -> list[dict]:
    """Names, hooks, entry points and distributions of the registered plugins."""
    load_plugins()
    out = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        info = {"name": name, "hooks": [h.name for h in pm.get_hookcallers(plugin) or []]}
        source = plugin_source(name)
        if source.distribution:
            info["distribution"] = source.distribution
            info["version"] = source.version
        if source.entry_point:
            info["entry_point"] = source.entry_point
        out.append(info)
    return out


def reset_plugins() -> None:
    """Forget loaded plugins and failures so that the next :func:`load_plugins` starts over (for tests)."""
    global _loaded
    for plugin in list(pm.get_plugins()):
        pm.unregister(plugin)
    _sources.clear()
    _failures.clear()
    _loaded = False
