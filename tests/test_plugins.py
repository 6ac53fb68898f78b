"""Plugin loading through pluggy and entry points; the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import darts_llm
from darts_llm import PluginError, get_encoder, hookimpl, list_encoders, registry
from darts_llm.plugins import DISABLE_ENV, pm, reset_plugins

EXAMPLE = Path(__file__).parent / "plugin_example"


@pytest.fixture
def fresh_registry():
    reset_plugins()
    registry.refresh()
    yield
    reset_plugins()
    registry.refresh()


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """The example plugin package, pip-installed into a temporary folder put on sys.path."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True,
    )
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("darts_llm_hashing")]:
        del sys.modules[name]


def test_builtins_register_through_hooks(fresh_registry):
    names = list_encoders()
    assert "minilm" in names
    assert "darts_llm.default_plugins" in [pm.get_name(p) for p in pm.get_plugins()]


def test_third_party_plugin_discovered_through_entry_point(fresh_registry, installed_example, monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    assert "hashing" in list_encoders()
    enc = get_encoder("hashing", dim=16)
    assert enc.encode(["red candle"]).shape == (1, 16)
    assert enc.encoder_id.startswith("hashing:")


def test_plugins_can_be_disabled(fresh_registry, installed_example, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "1")
    names = list_encoders()
    assert "hashing" not in names and "minilm" in names


def test_entry_points_load_once(fresh_registry, installed_example, monkeypatch):
    calls = []
    original = darts_llm.plugins._load_entry_points
    monkeypatch.setattr(darts_llm.plugins, "_load_entry_points", lambda g: calls.append(g) or original(g))
    list_encoders()
    list_encoders()
    get_encoder("minilm")
    assert calls == ["darts_llm"]


class _Duplicate:
    @hookimpl
    def darts_llm_register_encoders(self, register):
        register("minilm", lambda **kw: None)


def test_duplicate_names_rejected(fresh_registry):
    darts_llm.plugins.load_plugins()
    pm.register(_Duplicate(), name="duplicate-plugin")
    registry.refresh()
    with pytest.raises(PluginError, match="'minilm' is registered twice.*duplicate-plugin"):
        list_encoders()


def test_unknown_model_name(fresh_registry):
    with pytest.raises(KeyError, match="Unknown model 'NoSuchModel'"):
        darts_llm.get_model_class("NoSuchModel")


def test_encoder_instance_passes_through(tiny_encoder):
    assert get_encoder(tiny_encoder) is tiny_encoder
    with pytest.raises(ValueError, match="cannot be applied"):
        get_encoder(tiny_encoder, pooling="cls")


def test_local_directory_spec(tiny_bert_dir):
    enc = get_encoder(tiny_bert_dir, max_length=16)
    assert enc.dim == 32 and enc.max_length == 16
