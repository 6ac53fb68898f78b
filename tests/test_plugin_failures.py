"""Plugins that fail at import or in a hook are named, can be skipped, and never hide the healthy ones."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import darts_llm
from darts_llm import PluginError, list_encoders, registry
from darts_llm.plugins import DISABLE_ENV, get_plugins, pm, reset_plugins

HEALTHY = """
from darts_llm import hookimpl

@hookimpl
def darts_llm_register_encoders(register):
    register("healthy-enc", lambda **kw: None, description="from a healthy plugin")
"""
BROKEN_IMPORT = """
raise RuntimeError("boom at import")
"""
BROKEN_HOOK = """
from darts_llm import hookimpl

@hookimpl
def darts_llm_register_encoders(register):
    raise ValueError("boom in hook")
"""


def _install(site, module: str, source: str, dist: str, entry_point: str) -> None:
    """A module plus the ``.dist-info`` metadata importlib.metadata reads, as pip would lay them out."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[darts_llm]\n{entry_point} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    reset_plugins()
    registry.refresh()
    _install(tmp_path, "healthy_plugin", HEALTHY, "healthy-dist", "healthy")
    yield tmp_path
    reset_plugins()
    registry.refresh()
    for name in ("healthy_plugin", "broken_import_plugin", "broken_hook_plugin"):
        sys.modules.pop(name, None)


def test_import_failure_is_named_and_does_not_hide_healthy_plugins(site, monkeypatch):
    _install(site, "broken_import_plugin", BROKEN_IMPORT, "broken-import-dist", "broken")
    for _ in range(2):  # a later call raises the same error instead of returning a registry without plugins
        with pytest.raises(PluginError) as info:
            list_encoders()
        message = str(info.value)
        assert "'broken'" in message and "broken_import_plugin" in message
        assert "broken-import-dist 1.2.3" in message and "boom at import" in message
        assert f"{DISABLE_ENV}=broken" in message and "pip uninstall broken-import-dist" in message
    assert "healthy" in [pm.get_name(p) for p in pm.get_plugins()]
    monkeypatch.setenv(DISABLE_ENV, "broken")  # skip just that one
    assert "healthy-enc" in list_encoders() and "minilm" in list_encoders()
    monkeypatch.setenv(DISABLE_ENV, "broken-import-dist")  # or name its distribution
    assert "healthy-enc" in list_encoders()
    assert {"name": "healthy", "distribution": "healthy-dist"}.items() <= next(
        p for p in get_plugins() if p["name"] == "healthy"
    ).items()


def test_hook_failure_is_named_with_the_hint(site, monkeypatch):
    _install(site, "broken_hook_plugin", BROKEN_HOOK, "broken-hook-dist", "hooky")
    for _ in range(2):
        with pytest.raises(PluginError) as info:
            list_encoders()
        message = str(info.value)
        assert "'hooky'" in message and "broken-hook-dist" in message
        assert "darts_llm_register_encoders" in message and "boom in hook" in message
        assert f"{DISABLE_ENV}=hooky" in message
    assert isinstance(info.value.__cause__, ValueError)
    monkeypatch.setenv(DISABLE_ENV, "hooky")
    reset_plugins()
    registry.refresh()
    assert "healthy-enc" in list_encoders()


def test_disable_all_still_loads_the_builtins(site, monkeypatch):
    _install(site, "broken_import_plugin", BROKEN_IMPORT, "broken-import-dist", "broken")
    monkeypatch.setenv(DISABLE_ENV, "1")
    names = list_encoders()
    assert "minilm" in names and "healthy-enc" not in names


def test_lazy_model_references_resolve_on_lookup(site):
    assert darts_llm.registry.list_model_names()["TextTiDEModel"] == "darts_llm.models.text_tide_model:TextTiDEModel"
    cls = darts_llm.get_model_class("TextTiDEModel")
    assert cls.__name__ == "TextTiDEModel"
    assert darts_llm.get_model_class("TextTiDEModel") is cls


def test_import_and_listing_stay_light():
    code = (
        "import sys, darts_llm\n"
        "from darts_llm.registry import list_encoders, list_model_names\n"
        "list_encoders(); list_model_names()\n"
        "print(sorted(m for m in ('torch', 'transformers', 'darts', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
