"""The real app over a fresh workspace: a TestClient, and uvicorn on a loopback port for WebSocket tests."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from lorakit.jobs.runner import JobRunner
from lorakit.web.app import create_app
from lorakit.web.routes import spa
from lorakit.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("web") / "ws")
    settings = ws.settings
    settings.cancel_grace_s = 1.0
    ws.save_settings(settings)
    return ws


@pytest.fixture(scope="module")
def runner(workspace):
    with JobRunner(workspace, poll_s=0.05) as runner:
        yield runner


@pytest.fixture(scope="module")
def app(workspace, runner):
    # As if the web app were not built (frontend/dist exists once `make setup` built it): the tests of `/`, `/docs`
    # and unknown paths see the API alone. tests/web/test_settings_spa.py and test_app_token_page.py give a dist.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spa, "default_dist", lambda: None)
        return create_app(workspace, runner=runner)


@pytest.fixture(scope="module")
def client(app):
    # The server answers loopback Host names only when it has no token, as `lorakit serve` does by default.
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@pytest.fixture(scope="module")
def live(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(autouse=True)
def _private_credentials(tmp_path, monkeypatch):
    """Service tokens set through the API go to a temporary folder, never the user's own."""
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "lorakit-home"))
