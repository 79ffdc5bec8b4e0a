"""Fixtures for model tests: loopback Civitai and Hugging Face servers, a clean token environment."""

from __future__ import annotations

import pytest

from lorakit import credentials

from .servers import CivitaiServer, HubServer


@pytest.fixture(autouse=True)
def _no_user_tokens(monkeypatch, tmp_path):
    """Tests never see the developer's real tokens or settings."""
    for names in credentials.SERVICES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "lorakit-home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture
def civitai():
    server = CivitaiServer()
    yield server
    server.close()


@pytest.fixture
def hub():
    server = HubServer()
    yield server
    server.close()
