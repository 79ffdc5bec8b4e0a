"""What the Files page needs from the API beyond the basics (test_files.py): every trash in one list (the
workspace's and each dataset's own, where health fixes put files), restore from either, clear refusals for
renaming onto a taken name, and a ZIP with path escapes refused whole before any import job starts."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from lorakit.data.health_fixes import apply_fix


@pytest.fixture(scope="module")
def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _upload(client, path: str, data: bytes) -> None:
    r = client.post("/api/files/upload", params={"path": path, "total": len(data)}, content=data)
    assert r.status_code == 200 and r.json()["complete"], r.text


def test_dataset_trash_is_listed_and_restored(client, workspace, tiny_png):
    folder = workspace.datasets / "healthy"
    folder.mkdir()
    (folder / "good.png").write_bytes(tiny_png)
    (folder / "broken.png").write_bytes(b"not an image at all")
    result = apply_fix(folder, "trash-unreadable")
    assert len(result.trashed) == 1 and not (folder / "broken.png").exists()
    files_trashed = client.post("/api/files/delete", json={"paths": ["datasets/healthy/good.png"]}).json()

    listing = client.get("/api/files/trash").json()
    by_id = {entry["id"]: entry for entry in listing}
    fixed = by_id[result.trashed[0]]
    assert fixed["trash"] == "datasets/healthy" and fixed["original_path"] == "datasets/healthy/broken.png"
    assert by_id[files_trashed[0]["id"]]["trash"] == ""
    assert [e["trashed_at"] for e in listing] == sorted((e["trashed_at"] for e in listing), reverse=True)

    # The workspace's trash does not hold it: restoring without naming the dataset's trash is a 404.
    assert client.post(f"/api/files/trash/{fixed['id']}/restore").status_code == 404
    r = client.post(f"/api/files/trash/{fixed['id']}/restore", params={"trash": "datasets/healthy"})
    assert r.status_code == 200 and r.json()["path"] == "datasets/healthy/broken.png"
    assert (folder / "broken.png").read_bytes() == b"not an image at all"
    assert fixed["id"] not in {e["id"] for e in client.get("/api/files/trash").json()}
    r = client.post(f"/api/files/trash/{files_trashed[0]['id']}/restore", params={"trash": ""})
    assert r.status_code == 200 and (folder / "good.png").read_bytes() == tiny_png


def test_restore_refuses_unknown_trashes_and_taken_places(client, workspace):
    for where in ("datasets/nope", "datasets/../trash", "outputs", "datasets/a/b", "datasets/"):
        r = client.post("/api/files/trash/x/restore", params={"trash": where})
        assert r.status_code in (400, 404), (where, r.text)
        assert r.json()["error"]["code"] in ("not_found", "path"), r.text
    folder = workspace.datasets / "clash"
    folder.mkdir()
    (folder / "a.txt").write_text("first")
    trashed = client.post("/api/files/delete", json={"paths": ["datasets/clash/a.txt"]}).json()[0]
    (folder / "a.txt").write_text("second")
    r = client.post(f"/api/files/trash/{trashed['id']}/restore")
    assert r.status_code == 400 and "already exists" in r.json()["error"]["message"]
    assert (folder / "a.txt").read_text() == "second"


def test_a_dataset_trash_behind_a_link_is_not_listed(client, workspace, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "trash" / "items").mkdir(parents=True)
    (outside / "trash" / "manifest.json").write_text('{"version": 1, "items": {}}')
    folder = workspace.datasets / "linked"
    folder.mkdir()
    (folder / ".lorakit").symlink_to(outside)
    assert all(e["trash"] != "datasets/linked" for e in client.get("/api/files/trash").json())
    r = client.post("/api/files/trash/x/restore", params={"trash": "datasets/linked"})
    assert r.status_code == 404


def test_rename_onto_a_taken_name_is_a_clear_conflict(client, workspace):
    folder = workspace.datasets / "names"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"a")
    (folder / "b.png").write_bytes(b"b")
    r = client.post("/api/files/rename", json={"path": "datasets/names/a.png", "name": "b.png"})
    body = r.json()["error"]
    assert r.status_code == 409 and body["field"] == "name" and "'b.png' already exists" in body["message"]
    assert body["fix"] and (folder / "a.png").read_bytes() == b"a" and (folder / "b.png").read_bytes() == b"b"


def test_zip_with_path_escapes_is_refused_before_any_job(client, runner, tiny_png):
    _upload(client, "datasets/zips/evil.zip", _zip({"ok.png": tiny_png, "../../escape.png": tiny_png}))
    before = len(runner.list(kind="import", limit=1000))
    r = client.post("/api/files/import", json={"sources": ["datasets/zips/evil.zip"], "to": "datasets/evil"})
    error = r.json()["error"]
    assert r.status_code == 400 and error["code"] == "unsafe_archive" and error["field"] == "sources"
    assert "evil.zip was not imported" in error["message"] and "'../../escape.png'" in error["message"]
    assert "ok.png" not in error["message"] and error["fix"]
    assert len(runner.list(kind="import", limit=1000)) == before


def test_a_safe_zip_becomes_an_import_job(client, runner, workspace, tiny_png):
    _upload(client, "datasets/zips/fine.zip", _zip({"10_cat/a.png": tiny_png, "10_cat/a.txt": b"a cat"}))
    r = client.post("/api/files/import", json={"sources": ["datasets/zips/fine.zip"], "to": "datasets/fine"})
    assert r.status_code == 201, r.text
    job = runner.wait(r.json()["id"], timeout=120)
    assert job.state == "completed", job.error
    assert (workspace.datasets / "fine" / "10_cat" / "a.txt").read_text() == "a cat"
