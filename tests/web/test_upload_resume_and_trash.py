"""Resuming an upload checks the bytes already received; a 2 GiB upload resumed (sparse); emptying the trash."""

from __future__ import annotations

import os

import pytest

from lorakit.trash import Trash
from lorakit.web.routes.files import CHECK_LIMIT, CHUNK_LIMIT, PART_SUFFIX

MIB = 2**20


def _check(client, path, offset, data):
    return client.post("/api/files/upload/check", params={"path": path, "offset": offset}, content=data)


def test_resume_check_finds_a_foreign_or_damaged_part(client, workspace):
    ours = bytes(range(256)) * 16  # 4096 bytes
    path = "datasets/resume/a.png"
    r = client.post("/api/files/upload", params={"path": path, "offset": 0, "total": 8192}, content=ours)
    assert r.json()["received"] == 4096
    head, tail = _check(client, path, 0, ours[:1024]).json(), _check(client, path, 3072, ours[3072:]).json()
    assert head == {"path": path, "received": 4096, "matches": True} and tail["matches"] is True
    assert _check(client, path, 0, b"another file with the same name").json()["matches"] is False
    assert _check(client, path, 3500, ours[:1000]).json()["matches"] is False  # beyond what arrived
    assert _check(client, path, 0, b"").json()["matches"] is True

    # The part damaged on disk (a crash can leave zeros at its end): the tail no longer matches.
    part = workspace.root / (path + PART_SUFFIX)
    with open(part, "r+b") as f:
        f.seek(4000)
        f.write(b"\0" * 96)
    assert _check(client, path, 3072, ours[3072:]).json()["matches"] is False
    # Starting again from offset 0 replaces the part with the right bytes.
    r = client.post("/api/files/upload", params={"path": path, "offset": 0, "total": 8192}, content=ours * 2)
    assert r.json()["complete"] is True and (workspace.root / path).read_bytes() == ours * 2

    r = _check(client, "datasets/resume/none.png", 0, b"x")
    assert r.status_code == 404 and "offset 0" in r.json()["error"]["fix"]
    client.post("/api/files/upload", params={"path": path + "2", "offset": 0, "total": 10}, content=b"12345")
    r = _check(client, path + "2", 0, b"x" * (CHECK_LIMIT + 1))
    assert r.status_code == 413 and r.json()["error"]["fix"]
    for bad in ("../x", "settings.toml"):
        assert _check(client, bad, 0, b"x").status_code in (400, 403, 404)


def test_a_2_gib_upload_resumes_from_a_sparse_part(client, workspace):
    """A 2 GiB file whose upload stopped 3 MiB short, without writing 2 GiB: the part file is sparse (a hole
    between the first and the last MiB it holds). What is tested: the server's size limit for 2 GiB, the
    offset it reports, the check of the first and last MiB, and the rest arriving in chunks to a 2 GiB file.
    Not tested here: 2 GiB actually travelling over HTTP (that is the same code, chunk after chunk)."""
    total, received = 2 * 1024 * MIB, 2 * 1024 * MIB - 3 * MIB
    path = "datasets/huge/model.safetensors"
    target = workspace.root / path
    target.parent.mkdir(parents=True)
    part = target.with_name(target.name + PART_SUFFIX)
    head, tail = os.urandom(MIB), os.urandom(MIB)
    with open(part, "wb") as f:
        f.write(head)
        f.seek(received - MIB)
        f.write(tail)
    if part.stat().st_blocks * 512 > 64 * MIB:
        part.unlink()
        pytest.skip("this filesystem has no sparse files: the test would write 2 GiB")
    try:
        settings = workspace.settings
        settings.max_upload_mb = 1024  # below the file's size: refused before anything is written
        workspace.save_settings(settings)
        r = client.post("/api/files/upload", params={"path": path, "offset": received, "total": total}, content=b"x")
        assert r.status_code == 413 and "2048 MiB" in r.json()["error"]["message"]
        assert part.stat().st_size == received
        settings.max_upload_mb = 4096
        workspace.save_settings(settings)

        assert client.get("/api/files/upload", params={"path": path}).json() == {
            "path": path,
            "received": received,
            "total": None,
            "complete": False,
        }
        assert _check(client, path, 0, head).json()["matches"] is True
        assert _check(client, path, received - MIB, tail).json()["matches"] is True
        assert _check(client, path, received - MIB, os.urandom(MIB)).json()["matches"] is False
        # A chunk announced larger than a request may carry is refused before it is read.
        r = client.post(
            "/api/files/upload",
            params={"path": path, "offset": received, "total": total},
            content=b"",
            headers={"content-length": str(CHUNK_LIMIT + 1)},
        )
        assert r.status_code == 413
        rest = os.urandom(3 * MIB)
        for start in range(0, len(rest), MIB):  # the rest, in three chunks
            r = client.post(
                "/api/files/upload",
                params={"path": path, "offset": received + start, "total": total},
                content=rest[start : start + MIB],
            )
            assert r.status_code == 200, r.text
        assert r.json() == {"path": path, "received": total, "total": total, "complete": True}
        assert not part.exists() and target.stat().st_size == total
        with open(target, "rb") as f:
            assert f.read(MIB) == head
            f.seek(received - MIB)
            assert f.read() == tail + rest
    finally:
        for leftover in (part, target):
            leftover.unlink(missing_ok=True)


def test_empty_trash_deletes_only_what_the_trash_holds(client, workspace, tmp_path):
    keep = workspace.datasets / "keep"
    (keep / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "c.txt"):
        (keep / name).write_text(name)
    trashed = client.post("/api/files/delete", json={"paths": ["datasets/keep/a.txt", "datasets/keep/sub"]}).json()
    own = Trash(keep / ".lorakit" / "trash", keep)  # where `lorakit dataset check --fix` puts files
    own.move(keep / "b.txt")
    assert len(client.get("/api/files/trash").json()) == 3

    r = client.post("/api/files/trash/empty", params={"trash": "datasets/keep"})
    assert [e["name"] for e in r.json()] == ["b.txt"] and r.json()[0]["trash"] == "datasets/keep"
    assert {e["id"] for e in client.get("/api/files/trash").json()} == {t["id"] for t in trashed}

    # A trashed item's folder swapped for a link to a folder outside: emptying does not follow it.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    item = workspace.trash / "items" / trashed[0]["id"]
    for child in item.iterdir():
        child.unlink()
    item.rmdir()
    item.symlink_to(outside, target_is_directory=True)

    r = client.post("/api/files/trash/empty")
    assert sorted(e["name"] for e in r.json()) == ["a.txt", "sub"]
    assert client.get("/api/files/trash").json() == []
    assert (outside / "precious.txt").read_text() == "keep me"
    assert (keep / "c.txt").read_text() == "c.txt" and not (keep / "a.txt").exists()
    assert not (workspace.trash / "items" / trashed[1]["id"]).exists()
    item.unlink()

    r = client.post("/api/files/trash/empty", params={"trash": "datasets/nothing"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "trash"
    assert client.post("/api/files/trash/empty").json() == []


def test_a_linked_items_folder_is_left_alone(client, workspace, tmp_path):
    client.post("/api/files/mkdir", json={"path": "datasets/link"})
    (workspace.datasets / "link" / "x.txt").write_text("x")
    client.post("/api/files/delete", json={"paths": ["datasets/link/x.txt"]})
    items = workspace.trash / "items"
    moved = tmp_path / "items-elsewhere"
    items.rename(moved)
    items.symlink_to(moved, target_is_directory=True)
    try:
        assert client.post("/api/files/trash/empty").json() == []
        assert any(moved.rglob("x.txt"))
    finally:
        items.unlink()
        moved.rename(items)
    assert [e["name"] for e in client.post("/api/files/trash/empty").json()] == ["x.txt"]
