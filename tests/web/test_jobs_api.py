"""Jobs over HTTP: create, list, get, events, cancel (also of a finished job), retry, kinds."""

from __future__ import annotations

import time


def test_kinds_listed(client):
    kinds = {k["name"]: k for k in client.get("/api/jobs/kinds").json()}
    assert kinds["sleep"]["available"] and kinds["gpu_sleep"]["gpu"]


def test_create_run_events_retry(client, runner):
    r = client.post("/api/jobs", json={"kind": "echo", "params": {"a": 1}, "title": "hello"})
    assert r.status_code == 201
    job_id = r.json()["id"]
    done = runner.wait(job_id, 60)
    got = client.get(f"/api/jobs/{job_id}").json()
    assert got["state"] == "completed" and got["title"] == "hello" and got["result"]["params"] == {"a": 1}
    events = client.get(f"/api/jobs/{job_id}/events", params={"since": 1}).json()
    assert events[0]["seq"] == 2 and events[-1]["data"]["state"] == "completed"
    assert job_id in [j["id"] for j in client.get("/api/jobs", params={"state": "completed"}).json()]
    again = client.post(f"/api/jobs/{done.id}/retry")
    assert again.status_code == 201 and again.json()["retry_of"] == job_id
    runner.wait(again.json()["id"], 60)


def test_cancel_and_cancel_again(client, runner):
    job_id = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 200, "seconds": 20}}).json()["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job_id}").json()["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    assert runner.wait(job_id, 30).state == "cancelled"
    again = client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "nothing to cancel" in again.json()["error"]["message"]


def test_bad_job_requests(client):
    assert client.get("/api/jobs/doesnotexist").status_code == 404
    assert client.post("/api/jobs/doesnotexist/cancel").status_code == 404
    assert client.get("/api/jobs/doesnotexist/events").status_code == 404
    unknown = client.post("/api/jobs", json={"kind": "nonsense"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "kind"
    assert client.post("/api/jobs", json={"params": {}}).status_code == 422
    bad = client.post("/api/jobs", content=b'{"kind": ', headers={"content-type": "application/json"})
    assert bad.status_code == 400
