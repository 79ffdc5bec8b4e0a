"""Issue #10, the filesystem half: each defect written as the attack, against the real app.

Every test plants something (a link, a crafted journal or trash manifest, a config field), calls the
routes an attacker would, and checks that nothing outside the workspace was read (its secret is in no
answer), changed (content and mtime of a sentinel file) or deleted, and that the server answered without
a 500.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from pathlib import Path

import pytest
from PIL import Image

SECRET = "outside-secret-7f3a"


class Outside:
    """A folder outside the workspace holding a sentinel file; remembers it to check nothing changed."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / "sentinel.txt"
        self.file.write_text(SECRET)
        old = time.time() - 3600  # an hour ago: any write would move it
        os.utime(self.file, (old, old))
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {
            str(p.relative_to(self.folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
            for p in sorted(self.folder.rglob("*"))
        }

    def untouched(self) -> bool:
        return self.snapshot() == self.before


@pytest.fixture
def outside(tmp_path) -> Outside:
    return Outside(tmp_path / "outside")


def _answer_ok(response) -> None:
    assert response.status_code < 500, response.text
    assert SECRET not in response.text


def _dataset(workspace, name: str) -> Path:
    root = workspace.datasets / name
    root.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "a.png")
    (root / "a.txt").write_text("cat")
    return root


# --- defect 1: caption links, a .lorakit folder that is a link ------------------------------------------
def test_caption_link_is_not_read_or_written(client, workspace, outside):
    root = _dataset(workspace, "d1")
    Image.new("RGB", (8, 8)).save(root / "b.png")
    (root / "b.txt").symlink_to(outside.file)
    _answer_ok(got := client.get("/api/datasets/d1/caption", params={"path": "b.png"}))
    assert got.status_code == 400
    page = client.get("/api/datasets/d1/images").json()
    assert [i["caption"] for i in page["items"]] == ["cat", None] and page["items"][1]["caption_error"]
    put = client.put("/api/datasets/d1/caption", params={"path": "b.png"}, json={"text": "x", "version": "missing"})
    _answer_ok(put)
    assert put.status_code == 400
    tags = client.post("/api/datasets/d1/tags", json={"action": "add", "tags": ["pwned"]})
    _answer_ok(tags)
    assert tags.status_code == 200 and "b.txt" in tags.json()["skipped"]
    assert (root / "a.txt").read_text() == "cat, pwned"  # the rest of the edit went through
    assert outside.untouched()


def test_lorakit_folder_that_is_a_link_is_refused(client, workspace, outside):
    root = _dataset(workspace, "d1b")
    (root / ".lorakit").symlink_to(outside.folder, target_is_directory=True)
    r = client.put("/api/datasets/d1b/caption", params={"path": "a.png"}, json={"text": "new", "version": None})
    assert r.status_code == 400  # no version: refused before anything
    version = client.get("/api/datasets/d1b/caption", params={"path": "a.png"}).json()["version"]
    r = client.put("/api/datasets/d1b/caption", params={"path": "a.png"}, json={"text": "new", "version": version})
    _answer_ok(r)
    assert r.status_code == 400 and "link" in r.json()["error"]["message"]
    _answer_ok(client.post("/api/datasets/d1b/tags", json={"action": "add", "tags": ["x"]}))
    _answer_ok(client.get("/api/datasets/d1b/history"))
    _answer_ok(client.post("/api/datasets/d1b/undo", json={"count": 5, "force": True}))
    assert outside.untouched() and (root / "a.txt").read_text() == "cat"


# --- defect 2: a crafted journal entry ----------------------------------------------------------------
def test_crafted_journal_cannot_reach_outside(client, workspace, outside):
    root = _dataset(workspace, "d2")
    entry = {
        "id": "20990101-000000-000000000-abcd",
        "time": 4102444800.0,
        "description": "evil",
        "files": [
            {"path": str(outside.file), "old": None, "new_version": "x"},
            {
                "path": f"../../../../../../..{outside.file}",
                "old": base64.b64encode(b"owned").decode(),
                "new_version": "x",
            },
        ],
    }
    body = json.dumps(entry).encode()
    # The Files API does not write into a .lorakit folder at all.
    for path in ("datasets/d2/.lorakit/journal/20990101-000000-000000000-abcd.json", "datasets/d2/.lorakit/x.json"):
        r = client.post("/api/files/upload", params={"path": path, "total": len(body)}, content=body)
        assert r.status_code == 403, r.text
    assert client.post("/api/files/mkdir", json={"path": "datasets/d2/.lorakit"}).status_code == 403
    # Planted by other means: ignored by history, refused by undo, nothing outside touched.
    journal = root / ".lorakit" / "journal"
    journal.mkdir(parents=True)
    (journal / f"{entry['id']}.json").write_bytes(body)
    assert client.get("/api/datasets/d2/history").json() == []
    _answer_ok(client.post("/api/datasets/d2/undo", json={"count": 5, "force": True}))
    (journal / f"{entry['id']}.done").write_text(
        json.dumps({"id": entry["id"], "time": 1.0, "description": "e", "files": 2})
    )
    r = client.post("/api/datasets/d2/undo", json={"count": 5, "force": True})
    _answer_ok(r)
    assert r.status_code == 400 and "journal" in r.json()["error"]["message"]
    assert outside.untouched() and (root / "a.txt").read_text() == "cat"


def test_journal_entry_that_is_a_link_is_not_read(client, workspace, outside):
    root = _dataset(workspace, "d2b")
    journal = root / ".lorakit" / "journal"
    journal.mkdir(parents=True)
    (outside.folder / "e.json").write_text(json.dumps({"id": "x", "time": 1, "description": SECRET, "files": []}))
    outside.before = outside.snapshot()
    (journal / "20990101-000000-000000000-abcd.json").symlink_to(outside.folder / "e.json")
    _answer_ok(client.get("/api/datasets/d2b/history"))
    _answer_ok(client.post("/api/datasets/d2b/undo", json={"count": 1}))
    assert outside.untouched()


# --- defect 3: a crafted trash manifest; trash/ and jobs/ as destinations -----------------------------
def test_trash_and_jobs_are_not_destinations(client, workspace):
    (workspace.datasets / "d3").mkdir()
    (workspace.datasets / "d3" / "f.txt").write_text("x")
    body = b"{}"
    for path in ("trash/manifest.json", "trash/items/x/f", "jobs/x/events.jsonl"):
        assert client.post("/api/files/upload", params={"path": path, "total": 2}, content=body).status_code == 403
    for path in ("trash/x", "jobs/x", "datasets/d3/.lorakit"):
        assert client.post("/api/files/mkdir", json={"path": path}).status_code == 403
    for to in ("trash", "jobs", "trash/items"):
        r = client.post("/api/files/move", json={"paths": ["datasets/d3/f.txt"], "to": to})
        assert r.status_code in (403, 404), r.text
    assert client.post("/api/files/rename", json={"path": "datasets/d3/f.txt", "name": ".lorakit"}).status_code == 403
    assert (workspace.datasets / "d3" / "f.txt").read_text() == "x"


def test_crafted_trash_manifest_is_ignored(client, workspace, outside):
    victim = outside.folder / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    outside.before = outside.snapshot()
    manifest = workspace.trash / "manifest.json"
    saved = manifest.read_bytes() if manifest.exists() else None
    evil_id = "../" * 12 + str(victim).lstrip("/")
    items = {
        evil_id: {"id": evil_id, "original_path": str(workspace.datasets / "stolen"), "trashed_at": 1.0, "name": ""},
        "plain": {"id": "plain", "original_path": str(outside.folder / "back"), "trashed_at": 1.0, "name": "x"},
    }
    try:
        manifest.write_text(json.dumps({"version": 1, "items": items}))
        listed = client.get("/api/files/trash")
        _answer_ok(listed)
        assert listed.json() == []
        for item_id in (evil_id, "plain", "..%2f..%2f"):
            _answer_ok(client.post(f"/api/files/trash/{item_id}/restore"))
        assert outside.untouched() and not (workspace.datasets / "stolen").exists()
    finally:
        manifest.unlink()
        if saved is not None:
            manifest.write_bytes(saved)


# --- defect 4: upload part files that are links ---------------------------------------------------------
def test_upload_part_link_is_refused(client, workspace, outside):
    folder = workspace.datasets / "d4"
    folder.mkdir()
    (folder / "f.bin.upload").symlink_to(outside.file)
    r = client.get("/api/files/upload", params={"path": "datasets/d4/f.bin"})
    _answer_ok(r)
    assert r.status_code == 403 and str(len(SECRET)) not in json.dumps(r.json())
    for offset in (0, len(SECRET)):
        r = client.post(
            "/api/files/upload", params={"path": "datasets/d4/f.bin", "offset": offset, "total": 40}, content=b"y" * 4
        )
        assert r.status_code == 403, r.text
    assert outside.untouched()


# --- defect 5: one link in configs/ or datasets/ turns listings into 500s ----------------------------------
def test_outside_links_do_not_break_listings(client, workspace, outside, caplog):
    (outside.folder / "c.toml").write_text(f'[preset]\ntitle = "{SECRET}"\n[network]\ndim = 4\n')
    outside.before = outside.snapshot()
    (workspace.configs / "presets").symlink_to(outside.folder, target_is_directory=True)
    (workspace.configs / "evil.toml").symlink_to(outside.folder / "c.toml")
    (workspace.datasets / "evil").symlink_to(outside.folder, target_is_directory=True)
    (workspace.configs / "loop.toml").symlink_to(workspace.configs / "loop.toml")
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                listed = client.get("/api/configs")
                _answer_ok(listed)
                assert "evil" not in [c["name"] for c in listed.json()]
                datasets = client.get("/api/datasets")
                _answer_ok(datasets)
                assert "evil" not in [d["name"] for d in datasets.json()]
        logged = [r for r in caplog.records if "configs/evil.toml" in r.getMessage()]
        assert len(logged) <= 1  # once per process, not per request (an earlier test may have logged it)
        for name in ("evil", "loop"):
            _answer_ok(r := client.get(f"/api/configs/{name}"))
            assert r.status_code in (400, 404)
            _answer_ok(client.put(f"/api/configs/{name}", json={"config": {}}))
            _answer_ok(client.post(f"/api/configs/{name}/export-kohya"))
        _answer_ok(client.get("/api/configs/presets"))
        _answer_ok(client.post("/api/configs/new", json={"preset": "c"}))
        (workspace.configs / "presets").unlink()
        (workspace.configs / "presets").mkdir()
        (workspace.configs / "presets" / "c.toml").symlink_to(outside.folder / "c.toml")
        _answer_ok(client.get("/api/configs/presets"))
        _answer_ok(client.post("/api/configs/new", json={"preset": "c"}))
        _answer_ok(client.get("/api/datasets/evil/images"))
        _answer_ok(client.post("/api/datasets/evil/tags", json={"action": "add", "tags": ["x"]}))
        assert outside.untouched()
    finally:
        for p in (workspace.configs / "evil.toml", workspace.datasets / "evil", workspace.configs / "loop.toml"):
            p.unlink(missing_ok=True)
        presets = workspace.configs / "presets"
        if presets.is_symlink():
            presets.unlink()
        elif presets.is_dir():
            (presets / "c.toml").unlink(missing_ok=True)
            presets.rmdir()


# --- defect 6: the model library reads files outside through links -------------------------------------
def test_model_library_does_not_follow_links_out(client, workspace, outside):
    import numpy as np
    from safetensors.numpy import save_file

    model = outside.folder / "secret.safetensors"
    save_file(
        {"lora_unet_x.lora_down.weight": np.zeros((2, 4), np.float32)}, str(model), metadata={"ss_output_name": SECRET}
    )
    outside.before = outside.snapshot()
    link = workspace.model_folder("loras") / "stolen.safetensors"
    link.symlink_to(model)
    fifo = workspace.model_folder("loras") / "fifo.safetensors"
    os.mkfifo(fifo)
    atime = model.stat().st_atime_ns
    try:
        listed = client.get("/api/models")
        _answer_ok(listed)
        assert not [e for e in listed.json() if "stolen" in e["path"] or "fifo" in e["path"]]
        for path in ("models/loras/stolen.safetensors", "models/loras/fifo.safetensors"):
            _answer_ok(client.get("/api/models/detect", params={"path": path}))
        assert outside.untouched() and model.stat().st_atime_ns == atime
    finally:
        link.unlink()
        fifo.unlink()


# --- defect 8: the database and other internal files through the file, model and dataset routes ---------
def test_internal_files_are_not_readable_or_writable(client, workspace, runner):
    (workspace.model_folder("checkpoints") / "db.safetensors").symlink_to(workspace.root / "lorakit.db")
    try:
        for path in ("lorakit.db", "lorakit.db-wal", "settings.toml", "models/checkpoints/db.safetensors"):
            r = client.get("/api/models/detect", params={"path": path})
            assert r.status_code in (403, 404), (path, r.text)
            r = client.get("/api/files/download", params={"path": path})
            assert r.status_code in (403, 404), (path, r.text)
            r = client.get("/api/lora/inspect", params={"path": path})
            assert r.status_code in (403, 404), (path, r.text)
        for path in ("lorakit.db", "settings.toml"):
            r = client.post("/api/files/upload", params={"path": path, "total": 1, "overwrite": True}, content=b"x")
            assert r.status_code == 403
            assert client.post("/api/files/delete", json={"paths": [path]}).status_code in (403, 404)
    finally:
        (workspace.model_folder("checkpoints") / "db.safetensors").unlink()
    job = client.post("/api/jobs", json={"kind": "echo", "params": {"x": 1}}).json()
    assert runner.wait(job["id"], 60).state == "completed"  # the database still works


def test_special_files_are_refused_without_hanging(client, workspace):
    root = _dataset(workspace, "d8")
    Image.new("RGB", (8, 8)).save(root / "c.png")
    os.mkfifo(root / "c.txt")
    os.mkfifo(root / "pipe.bin")
    _answer_ok(r := client.get("/api/datasets/d8/caption", params={"path": "c.png"}))
    assert r.status_code == 400
    _answer_ok(client.get("/api/datasets/d8/images"))
    assert client.get("/api/files/download", params={"path": "datasets/d8/pipe.bin"}).status_code == 400
    for route in ("/api/lora/inspect", "/api/models/detect"):
        assert client.get(route, params={"path": "datasets/d8/pipe.bin"}).status_code in (400, 404)
    r = client.post(
        "/api/files/upload", params={"path": "datasets/d8/pipe.bin", "total": 1, "overwrite": True}, content=b"x"
    )
    assert r.status_code == 403


# --- defect 7: config path fields confined when the server uses them -----------------------------------
@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("output", "output_name", "../../outside/run"),
        ("output", "output_name", "/tmp/lorakit-outside-run"),
        ("output", "output_dir", "../../outside"),
        ("output", "output_dir", "/tmp"),
        ("output", "output_dir", "jobs"),
        ("logging", "logging_dir", "../../x"),
    ],
)
def test_config_paths_outside_are_a_422_naming_the_field(client, section, field, value):
    config = {section: {field: value}}
    for r in (
        client.post("/api/configs/validate", json={"config": config}),
        client.put("/api/configs/escape-test", json={"config": config}),
    ):
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == f"{section}.{field}"
    assert client.get("/api/configs/escape-test").status_code == 404


def test_a_run_folder_that_is_a_link_out_is_a_422(client, workspace, outside):
    (workspace.outputs / "linked-run").symlink_to(outside.folder, target_is_directory=True)
    try:
        config = {"output": {"output_dir": "outputs", "output_name": "linked-run"}}
        r = client.post("/api/configs/validate", json={"config": config})
        assert r.status_code == 422 and r.json()["error"]["field"] == "output.output_name"
        assert outside.untouched()
    finally:
        (workspace.outputs / "linked-run").unlink()


@pytest.mark.slow  # a job process that imports torch
def test_a_job_cannot_write_a_run_folder_outside(client, runner, workspace, tmp_path):
    pytest.importorskip("torch")
    target = tmp_path / "run-outside"
    name = os.path.relpath(target, workspace.outputs / "x")
    config = {
        "output": {"output_dir": "outputs", "output_name": name},
        "model": {"pretrained_model_name_or_path": "tiny:sd1"},
    }
    r = client.post("/api/jobs", json={"kind": "train", "params": {"config": config}})
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        done = runner.wait(r.json()["id"], 120)
        assert done.state == "failed" and done.error["field"] == "output.output_name"
    assert not target.exists() and not (tmp_path / "run-outside-2").exists()


# --- defect 11: workspace-relative paths in answers and events -------------------------------------------
def test_job_answers_and_events_name_workspace_paths(client, runner, workspace, tmp_path):
    from lorakit.jobs.worker import WorkspaceEmitter

    job = client.post("/api/jobs", json={"kind": "echo", "params": {"x": 1}}).json()
    runner.wait(job["id"], 60)
    got = client.get(f"/api/jobs/{job['id']}").json()
    assert got["run_dir"] == f"jobs/{job['id']}/out"
    events = client.get(f"/api/jobs/{job['id']}/events").text
    assert str(workspace.root) not in events and str(workspace.root) not in json.dumps(got)
    # What a trainer emits (checkpoint paths, "Saved ..." messages) is written relative at the source.
    emitter = WorkspaceEmitter(tmp_path / "events.jsonl", workspace.root)
    saved = workspace.outputs / "run" / "lora-000001.safetensors"
    event = emitter.emit("checkpoint", path=saved, message=f"Saved {saved}", paths=[str(saved)])
    assert event.data == {
        "path": "outputs/run/lora-000001.safetensors",
        "message": "Saved outputs/run/lora-000001.safetensors",
        "paths": ["outputs/run/lora-000001.safetensors"],
    }
    assert str(workspace.root) not in (tmp_path / "events.jsonl").read_text()


def test_thumbnail_cache_that_is_a_link_is_not_written(client, workspace, outside):
    _dataset(workspace, "d9")
    cache = workspace.root / ".cache"
    moved = cache.with_name(".cache-saved")
    if cache.exists():
        cache.rename(moved)
    cache.symlink_to(outside.folder, target_is_directory=True)
    try:
        _answer_ok(r := client.get("/api/datasets/d9/thumbnail", params={"path": "a.png"}))
        assert r.status_code == 403
        assert outside.untouched()
    finally:
        cache.unlink()
        if moved.exists():
            moved.rename(cache)
