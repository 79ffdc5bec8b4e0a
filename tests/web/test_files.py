"""Files API: browse, traversal in every form, chunked upload with limits, rename/move/trash/restore."""

from __future__ import annotations

import pytest


def test_browse_hides_lorakit_internals(client, workspace):
    entries = {e["name"] for e in client.get("/api/files").json()["entries"]}
    assert {"datasets", "models", "outputs", "configs", "trash"} <= entries
    assert not entries & {"settings.toml", "lorakit.db"}
    r = client.get("/api/files", params={"path": "models"})
    assert {e["name"] for e in r.json()["entries"]} >= {"checkpoints", "loras", "vae"}


@pytest.mark.parametrize(
    "path",
    ["../", "..", "/etc", "datasets/../../x", "%2e%2e/x", "%252e%252e/x", "datasets\\..\\..", "a\x00b", "C:/x"],
)
def test_traversal_is_refused_everywhere(client, path):
    for method, url, kwargs in (
        ("GET", "/api/files", {"params": {"path": path}}),
        ("GET", "/api/files/download", {"params": {"path": path}}),
        ("POST", "/api/files/mkdir", {"json": {"path": path}}),
        ("POST", "/api/files/delete", {"json": {"paths": [path]}}),
        ("POST", "/api/files/upload", {"params": {"path": path, "total": 1}, "content": b"x"}),
    ):
        r = client.request(method, url, **kwargs)
        assert r.status_code in (400, 404), (method, url, path, r.text)
        assert r.json()["error"]["code"] in ("path", "not_found"), r.text


def test_encoded_traversal_in_the_raw_url(client):
    for raw in ("/api/files?path=%2e%2e%2f%2e%2e%2fetc", "/api/files?path=..%2f..%2fetc", "/api/files?path=%2Fetc"):
        r = client.get(raw)
        assert r.status_code == 400 and r.json()["error"]["code"] == "path"


def test_symlink_out_of_the_workspace(client, workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOPSECRET")
    (workspace.datasets / "sneaky").symlink_to(outside)
    r = client.get("/api/files/download", params={"path": "datasets/sneaky/secret.txt"})
    assert r.status_code == 400 and "TOPSECRET" not in r.text
    listing = client.get("/api/files", params={"path": "datasets"}).json()["entries"]
    assert "sneaky" not in {e["name"] for e in listing}
    (workspace.datasets / "sneaky").unlink()


def test_settings_file_is_never_served(client, workspace):
    r = client.get("/api/files/download", params={"path": "settings.toml"})
    assert r.status_code == 403
    (workspace.outputs / "link.toml").symlink_to(workspace.settings_path)
    assert client.get("/api/files/download", params={"path": "outputs/link.toml"}).status_code == 403
    (workspace.outputs / "link.toml").unlink()


def test_chunked_upload_resume_and_download(client):
    data = bytes(range(256)) * 40
    path = "datasets/up/blob.bin"
    r = client.post("/api/files/upload", params={"path": path, "offset": 0, "total": len(data)}, content=data[:4000])
    assert r.json() == {"path": path, "received": 4000, "total": len(data), "complete": False}
    assert client.get("/api/files/upload", params={"path": path}).json()["received"] == 4000
    r = client.post("/api/files/upload", params={"path": path, "offset": 9, "total": len(data)}, content=data[9:])
    assert r.status_code == 409 and "offset 4000" in r.json()["error"]["fix"]
    r = client.post(
        "/api/files/upload", params={"path": path, "offset": 4000, "total": len(data)}, content=data[4000:]
    )
    assert r.json()["complete"] is True
    assert client.get("/api/files/download", params={"path": path}).content == data
    again = client.post("/api/files/upload", params={"path": path, "total": 1}, content=b"x")
    assert again.status_code == 409


def test_oversized_upload_is_refused(client, workspace):
    settings = workspace.settings
    settings.max_upload_mb = 1
    workspace.save_settings(settings)
    try:
        r = client.post("/api/files/upload", params={"path": "datasets/big.bin", "total": 2 * 2**20}, content=b"x")
        assert r.status_code == 413 and r.json()["error"]["fix"]
        r = client.post("/api/files/upload", params={"path": "datasets/lie.bin", "total": 10}, content=b"y" * 100)
        assert r.status_code == 413
        assert not (workspace.datasets / "lie.bin").exists()
    finally:
        settings.max_upload_mb = 4096
        workspace.save_settings(settings)


def test_mkdir_rename_move_trash_restore(client, workspace):
    assert client.post("/api/files/mkdir", json={"path": "datasets/a/b"}).status_code == 201
    (workspace.datasets / "a" / "b" / "x.txt").write_text("hi")
    r = client.post("/api/files/rename", json={"path": "datasets/a/b/x.txt", "name": "y.txt"})
    assert r.json()["path"] == "datasets/a/b/y.txt"
    assert client.post("/api/files/rename", json={"path": "datasets/a/b/y.txt", "name": "../z"}).status_code == 400
    r = client.post("/api/files/move", json={"paths": ["datasets/a/b/y.txt"], "to": "datasets/a"})
    assert r.json()[0]["path"] == "datasets/a/y.txt"
    assert client.post("/api/files/move", json={"paths": ["datasets/a"], "to": "datasets/a/b"}).status_code == 400
    trashed = client.post("/api/files/delete", json={"paths": ["datasets/a/y.txt"]}).json()
    assert trashed[0]["original_path"] == "datasets/a/y.txt"
    assert not (workspace.datasets / "a" / "y.txt").exists()
    assert [t["id"] for t in client.get("/api/files/trash").json()] == [trashed[0]["id"]]
    r = client.post(f"/api/files/trash/{trashed[0]['id']}/restore")
    assert r.json()["path"] == "datasets/a/y.txt" and (workspace.datasets / "a" / "y.txt").read_text() == "hi"
    for protected in ("datasets", "", "models/loras", "settings.toml"):
        assert client.post("/api/files/delete", json={"paths": [protected]}).status_code == 403


def test_malformed_and_invalid_requests(client):
    r = client.post("/api/files/mkdir", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
    r = client.post("/api/files/move", json={"paths": [], "to": "datasets"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "paths"
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and set(r.json()["error"]) == {"code", "message", "fix", "field"}


def test_links_are_changed_not_their_targets(client, workspace):
    real = workspace.datasets / "real"
    real.mkdir()
    (real / "keep.txt").write_text("keep")
    (workspace.datasets / "alias").symlink_to(real)
    names = {e["name"]: e["path"] for e in client.get("/api/files", params={"path": "datasets"}).json()["entries"]}
    assert names["alias"] == "datasets/alias"
    renamed = client.post("/api/files/rename", json={"path": "datasets/alias", "name": "alias2"})
    assert renamed.json()["path"] == "datasets/alias2" and (workspace.datasets / "alias2").is_symlink()
    trashed = client.post("/api/files/delete", json={"paths": ["datasets/alias2"]})
    assert trashed.status_code == 200
    assert not (workspace.datasets / "alias2").exists() and (real / "keep.txt").read_text() == "keep"
