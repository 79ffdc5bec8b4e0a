"""Dataset work as jobs through the API: ZIP import, duplicate search, health check."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def _png(color, size=(96, 96)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_zip_import_then_dedup_and_health(client, runner, workspace):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("10_fox/a.png", _png((200, 40, 40)))
        zf.writestr("10_fox/a.txt", "fox, red")
        zf.writestr("10_fox/b.png", _png((200, 40, 40)))  # the same picture twice
        zf.writestr("10_fox/c.png", _png((10, 90, 220), (128, 96)))
    data = archive.getvalue()
    up = client.post(
        "/api/files/upload", params={"path": "datasets/incoming/fox.zip", "total": len(data)}, content=data
    )
    assert up.json()["complete"]
    job = client.post("/api/files/import", json={"sources": ["datasets/incoming/fox.zip"], "to": "datasets/fox"})
    assert job.status_code == 201, job.text
    imported = runner.wait(job.json()["id"], 120)
    assert imported.state == "completed", imported.error
    assert len(imported.result["imported"]) == 3
    assert client.get("/api/datasets/fox/images").json()["total"] == 3

    dedup = client.post("/api/datasets/fox/dedup", json={}).json()
    health = client.post("/api/datasets/fox/health", json={"resolution": 512}).json()
    dedup, health = runner.wait(dedup["id"], 120), runner.wait(health["id"], 120)
    assert dedup.state == "completed", dedup.error
    groups = dedup.result["groups"]
    assert len(groups) == 1
    assert groups[0]["keeper"].endswith("a.png") and [p[-5:] for p in groups[0]["duplicates"]] == ["b.png"]
    assert health.state == "completed", health.error
    assert str(workspace.root) not in str(health.result), health.result
    assert any(e["type"] == "progress" for e in client.get(f"/api/jobs/{health.id}/events").json())
