"""Settings (secrets never shown), service tokens (masked), the single-page app with its index fallback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lorakit.web.app import create_app


def test_settings_change_and_validation(client, workspace):
    before = client.get("/api/settings").json()
    assert before["server_token_set"] is False and "server_token" not in before
    r = client.patch("/api/settings", json={"thumbnail_size": 128, "server_token": "a-new-token-1234567890"})
    assert r.status_code == 200 and r.json()["thumbnail_size"] == 128 and r.json()["server_token_set"] is True
    assert "a-new-token" not in r.text and workspace.server_token() == "a-new-token-1234567890"
    assert client.patch("/api/settings", json={"thumbnail_size": 5}).status_code == 422
    settings = workspace.settings
    settings.server_token, settings.thumbnail_size = None, 256
    workspace.save_settings(settings)


def test_service_tokens_are_masked(client):
    token = "hf_abcdefghijklmnopqrstuvwxyz123456"
    r = client.put("/api/settings/credentials/hf", json={"token": token})
    assert r.status_code == 200 and r.json()["service"] == "huggingface"
    assert token not in r.text and r.json()["masked"].endswith("3456")
    listed = client.get("/api/settings/credentials")
    assert token not in listed.text
    assert {c["service"]: c["source"] for c in listed.json()}["huggingface"] == "settings file"
    assert client.delete("/api/settings/credentials/hf").json()["source"] in (None, "$HF_TOKEN")
    assert client.put("/api/settings/credentials/myspace", json={"token": "x" * 20}).status_code == 400


def test_single_page_app_and_fallback(workspace, runner, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>lorakit app</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    client = TestClient(create_app(workspace, runner=runner, frontend_dir=dist), base_url="http://127.0.0.1")
    assert "lorakit app" in client.get("/").text
    assert client.get("/assets/app.js").text == "console.log(1)"
    assert "lorakit app" in client.get("/datasets/cats").text  # the app's own route
    assert client.get("/api/not-a-route").status_code == 404
    sneaky = client.get("/%2e%2e/%2e%2e/settings.toml")  # never a file outside dist: the app's index at most
    assert sneaky.status_code in (200, 400, 404) and "server_token" not in sneaky.text


def test_without_a_built_app_the_root_explains(client):
    r = client.get("/")
    assert r.status_code == 200 and 'href="docs"' in r.text and "not built" in r.text
    r = client.get("/some/page")
    assert r.status_code == 404 and "/docs" in r.json()["error"]["message"]
