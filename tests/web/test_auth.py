"""Who may use the server: loopback Host names without a token; the token everywhere else; Origin checks."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from lorakit.web.app import create_app

from .conftest import LiveServer

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded(workspace, runner):
    return create_app(workspace, runner=runner, token=TOKEN, allowed_origins=["https://studio.example"])


def test_without_token_only_loopback_host_names(app):
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/api/settings").status_code == 200
    assert TestClient(app, base_url="http://localhost").get("/api/settings").status_code == 200
    rebound = TestClient(app, base_url="http://evil.example").get("/api/settings")
    assert rebound.status_code == 403 and rebound.json()["error"]["fix"]


def test_token_required_wrong_token_refused(guarded):
    client = TestClient(guarded, base_url="http://192.168.1.5:8000")
    r = client.get("/api/jobs")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "token" in r.json()["error"]["fix"]
    assert client.get("/api/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/api/jobs", params={"token": TOKEN}).status_code == 200
    assert client.get("/api/health").status_code == 200  # liveness only, says nothing


def test_token_link_sets_a_cookie_and_leaves_the_address_bar(guarded):
    client = TestClient(guarded, base_url="http://192.168.1.5:8000", follow_redirects=False)
    r = client.get("/", params={"token": TOKEN})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert client.get("/api/jobs").status_code == 200  # the cookie now carries it


def test_token_never_returned_by_the_api(guarded, workspace):
    settings = workspace.settings
    settings.server_token = TOKEN
    workspace.save_settings(settings)
    try:
        client = TestClient(guarded, base_url="http://10.0.0.2", headers={"Authorization": f"Bearer {TOKEN}"})
        body = client.get("/api/settings").text
        assert TOKEN not in body and json.loads(body)["server_token_set"] is True
        assert TOKEN not in client.get("/openapi.json").text
        assert client.get("/api/files/download", params={"path": "settings.toml"}).status_code == 403
    finally:
        settings.server_token = None
        workspace.save_settings(settings)


def test_origin_checked_on_changes(app, guarded):
    local = TestClient(app, base_url="http://127.0.0.1:8000")
    r = local.post("/api/files/mkdir", json={"path": "datasets/o1"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    ok = local.post("/api/files/mkdir", json={"path": "datasets/o1"}, headers={"Origin": "http://127.0.0.1:8000"})
    assert ok.status_code == 201
    assert local.get("/api/files", headers={"Origin": "http://evil.example"}).status_code == 200  # reads are safe
    remote = TestClient(guarded, base_url="http://10.0.0.2", headers={"Authorization": f"Bearer {TOKEN}"})
    listed = remote.post(
        "/api/files/mkdir", json={"path": "datasets/o2"}, headers={"Origin": "https://studio.example"}
    )
    assert listed.status_code == 201


def test_websocket_refused_without_token_or_from_another_origin(guarded, app):
    client = TestClient(guarded, base_url="http://10.0.0.2")
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
        pass
    assert refused.value.code == 4401
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"op": "ping"}))
        assert json.loads(ws.receive_text()) == {"type": "pong"}
    local = TestClient(app, base_url="http://127.0.0.1")
    with pytest.raises(WebSocketDisconnect), local.websocket_connect("/ws", headers={"Origin": "http://evil.example"}):
        pass


def test_websocket_refused_by_a_real_server_without_token(guarded):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with LiveServer(guarded) as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(server.ws_url, open_timeout=10).close()
        assert refused.value.response.status_code == 403
        with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, open_timeout=10) as ws:
            ws.send(json.dumps({"op": "ping"}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
