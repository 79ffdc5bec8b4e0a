"""Every route group is in the API; only a missing optional package may leave one out, never a broken module."""

from __future__ import annotations

import importlib
import logging
import sys

import pytest
from fastapi.routing import APIRoute

from lorakit.web.app import OPTIONAL_ROUTES, ROUTES, create_app


def _paths(router) -> set[str]:
    """A route group's HTTP paths (the WebSocket group has none; tests/web/test_ws.py covers it)."""
    return {route.path for route in router.routes if isinstance(route, APIRoute)}


def _served(app) -> set[str]:
    return set(app.openapi()["paths"])


def _fresh_import(monkeypatch, *names: str) -> None:
    """Forget these modules for this test only, so create_app imports them again (monkeypatch restores them)."""
    for name in names:
        if name in sys.modules:
            monkeypatch.delitem(sys.modules, name)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and hasattr(sys.modules[parent], child):  # `from parent import child` reads this
            monkeypatch.delattr(sys.modules[parent], child)


def test_every_route_group_is_served(workspace, runner):
    app = create_app(workspace, runner=runner)
    served = _served(app)
    for name in ROUTES + OPTIONAL_ROUTES:
        group = _paths(importlib.import_module(f"lorakit.web.routes.{name}").router)
        assert group or name == "ws", name
        assert group <= served, name


def test_a_missing_lorakit_module_fails_the_app(monkeypatch, workspace, runner):
    _fresh_import(monkeypatch, "lorakit.web.routes.plans", "lorakit.data.plan")
    monkeypatch.setitem(sys.modules, "lorakit.data.plan", None)  # as if data/plan.py were missing or broken
    with pytest.raises(ModuleNotFoundError) as error:
        create_app(workspace, runner=runner)
    assert error.value.name == "lorakit.data.plan"


def test_a_missing_optional_package_leaves_its_group_out_with_a_warning(monkeypatch, caplog, workspace, runner):
    _fresh_import(monkeypatch, "lorakit.web.routes.lora", "lorakit.lora.inspect")
    monkeypatch.setitem(sys.modules, "torch", None)  # an installation without the train extra
    with caplog.at_level(logging.WARNING, logger="lorakit.web"):
        app = create_app(workspace, runner=runner)
    served = _served(app)
    monkeypatch.undo()  # the real lora routes again, to name their paths
    lora_paths = _paths(importlib.import_module("lorakit.web.routes.lora").router)
    assert not lora_paths & served
    assert _paths(importlib.import_module("lorakit.web.routes.configs").router) <= served
    assert any("lora" in r.getMessage() and "torch" in r.getMessage() for r in caplog.records)
