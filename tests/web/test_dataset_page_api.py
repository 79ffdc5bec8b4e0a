"""What the web app's Datasets page needs from the API: one-click health fixes (a health job with ``fixes``)
and an Undo that undoes exactly the edit it belongs to."""

from __future__ import annotations

import typing

from PIL import Image

from lorakit.data.health_fixes import FIX_IDS
from lorakit.jobs.params import HealthFixId


def _dataset(workspace, name: str, captions: dict[str, str | None]):
    root = workspace.datasets / name
    root.mkdir(parents=True)
    for i, (stem, text) in enumerate(captions.items()):
        Image.new("RGB", (96, 96), (i * 40, 90, 200 - i * 30)).save(root / f"{stem}.png")
        if text is not None:
            (root / f"{stem}.txt").write_text(text)
    return root


def test_fix_ids_match_the_core():
    assert set(typing.get_args(HealthFixId)) == set(FIX_IDS)


def test_health_job_applies_a_fix_and_checks_again(client, runner, workspace):
    root = _dataset(workspace, "fixme", {"a": "ohwx, cat", "b": "cat, sitting", "c": None})
    job = client.post("/api/datasets/fixme/health", json={"trigger_word": "ohwx", "fixes": ["add-trigger-word"]})
    assert job.status_code == 201, job.text
    done = runner.wait(job.json()["id"], 120)
    assert done.state == "completed", done.error
    (fix,) = done.result["fixes"]
    assert fix["fix_id"] == "add-trigger-word" and fix["journal_id"]
    assert (root / "b.txt").read_text() == "ohwx, cat, sitting"
    assert not (root / "c.txt").exists()  # the trigger fix never creates captions
    kinds = {f["kind"] for f in done.result["findings"]}
    assert "trigger_missing" not in kinds and "missing_captions" in kinds  # checked again after the fix
    # The fix is a journaled edit: Undo of exactly that entry puts the caption back.
    undone = client.post("/api/datasets/fixme/undo", json={"count": 1, "entry": fix["journal_id"]})
    assert undone.status_code == 200, undone.text
    assert (root / "b.txt").read_text() == "cat, sitting"


def test_health_job_trashes_into_the_workspace_trash(client, runner, workspace):
    root = _dataset(workspace, "broken", {"good": "x"})
    (root / "bad.png").write_bytes(b"not an image at all")
    job = client.post("/api/datasets/broken/health", json={"fixes": ["trash-unreadable"]}).json()
    done = runner.wait(job["id"], 120)
    assert done.state == "completed", done.error
    assert not (root / "bad.png").exists()
    trashed = client.get("/api/files/trash").json()
    assert any(item["original_path"] == "datasets/broken/bad.png" for item in trashed), trashed


def test_unknown_fix_is_refused_before_queueing(client):
    r = client.post("/api/datasets/fixme/health", json={"fixes": ["burn-it-all"]})
    assert r.status_code == 422 and "fixes" in r.text


def test_undo_refuses_an_edit_that_is_not_the_latest(client, workspace):
    root = _dataset(workspace, "undoable", {"a": "cat", "b": "dog"})
    first = client.post("/api/datasets/undoable/tags", json={"action": "add", "tags": ["one"]}).json()
    second = client.post("/api/datasets/undoable/tags", json={"action": "add", "tags": ["two"]}).json()
    stale = client.post("/api/datasets/undoable/undo", json={"count": 1, "entry": first["journal_id"]})
    assert stale.status_code == 409 and stale.json()["error"]["fix"]
    assert (root / "a.txt").read_text() == "cat, one, two"  # nothing was undone
    ok = client.post("/api/datasets/undoable/undo", json={"count": 1, "entry": second["journal_id"]})
    assert ok.status_code == 200 and (root / "a.txt").read_text() == "cat, one"
    again = client.post("/api/datasets/undoable/undo", json={"count": 1, "entry": second["journal_id"]})
    assert again.status_code == 409
