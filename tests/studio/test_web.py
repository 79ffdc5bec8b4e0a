"""The /api/studio routes, over a paused job runner (a training is queued, not run)."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from lorakit.jobs.runner import JobRunner
from lorakit.web.app import create_app


@pytest.fixture
def client(workspace):
    runner = JobRunner(workspace, paused=True)
    with runner, TestClient(create_app(workspace, runner=runner), base_url="http://127.0.0.1") as client:
        yield client


def _upload(workspace, png, i: int) -> str:
    (workspace.root / "uploads").mkdir(exist_ok=True)
    shutil.copy(png(i), workspace.root / "uploads" / f"{i}.png")
    return f"uploads/{i}.png"


def _setup(client) -> int:
    created = client.post("/api/studio/projects", json={"name": "Demo", "checkpoint": "tiny:sd1"})
    assert created.status_code == 201, created.text
    character = client.post(
        "/api/studio/characters", json={"project": "Demo", "name": "Mira", "design_prompt": "1girl, red hair"}
    )
    assert character.status_code == 201, character.text
    return character.json()["id"]


def test_projects_characters_and_the_feedback_loop(client, workspace, png):
    cid = _setup(client)
    assert [p["name"] for p in client.get("/api/studio/projects").json()] == ["Demo"]
    assert client.post("/api/studio/projects", json={"name": "Demo"}).status_code == 409
    assert [c["name"] for c in client.get("/api/studio/projects/Demo/characters").json()] == ["Mira"]
    assert client.get("/api/studio/projects/Nope/characters").status_code == 404

    ids = []
    for i in range(4):
        added = client.post(f"/api/studio/characters/{cid}/images", json={"path": _upload(workspace, png, i)})
        assert added.status_code == 201, added.text
        ids.append(added.json()["id"])
    assert client.post(f"/api/studio/images/{ids[0]}/approve", json={}).json()["status"] == "approved"
    for image_id in ids[1:]:
        body = {"categories": ["not_solo"], "notes": "two people"}
        assert client.post(f"/api/studio/images/{image_id}/reject", json=body).status_code == 200
    again = client.post(f"/api/studio/images/{ids[1]}/reject", json={"categories": ["wrong_pose"]})
    assert again.status_code == 409 and "already rejected" in again.json()["error"]["message"]
    bad = client.post(f"/api/studio/images/{ids[0]}/reject", json={"categories": ["ugly"]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "categories"

    detail = client.get(f"/api/studio/characters/{cid}").json()
    assert detail["counts"] == {"pending": 0, "approved": 1, "rejected": 3}
    assert "crowd" in detail["learned_negatives"] and "crowd" in detail["negative_prompt"]
    assert len(client.get(f"/api/studio/characters/{cid}/images", params={"status": "rejected"}).json()) == 3

    proposal = client.get(f"/api/studio/characters/{cid}/proposal").json()
    assert proposal["source"] == "rules" and "solo" in proposal["prompt"]
    accepted = client.post(f"/api/studio/characters/{cid}/proposal/accept", json={"prompt": proposal["prompt"]})
    assert accepted.json()["design_prompt"] == proposal["prompt"]
    history = client.get(f"/api/studio/characters/{cid}").json()["prompt_history"]
    assert [h["reason"] for h in history] == ["created", "accepted proposal"]
    assert "not_solo" in client.get("/api/studio/negatives").json()


def test_the_train_gate_through_the_api(client, workspace, png):
    cid = _setup(client)
    for i in range(10):
        image = client.post(f"/api/studio/characters/{cid}/images", json={"path": _upload(workspace, png, i)}).json()
        if i < 9:
            client.post(f"/api/studio/images/{image['id']}/approve", json={})
    refused = client.post(f"/api/studio/characters/{cid}/train", json={})
    assert refused.status_code == 400
    assert "has 9 approved image(s)" in refused.json()["error"]["message"]
    client.post(f"/api/studio/images/{image['id']}/approve", json={})
    started = client.post(f"/api/studio/characters/{cid}/train", json={"overrides": {"network.dim": 2}})
    assert started.status_code == 201, started.text
    job = client.get(f"/api/jobs/{started.json()['job_id']}").json()
    assert job["kind"] == "train" and job["state"] == "queued"
    assert job["params"]["config"]["network"]["dim"] == 2
    (listed,) = client.get("/api/studio/trainings", params={"character_id": cid}).json()
    assert listed["state"] == "queued" and listed["dataset"].startswith("datasets/studio/")
