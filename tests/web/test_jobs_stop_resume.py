"""Stop, cancel and resume through the API with the tiny training job, by one rule:

- stop: the job saves its state, then ends `stopped`, resumable;
- cancel: the job ends now, `cancelled`, resumable only if it had saved a state before;
- resume of a job without a saved state (or a completed one) answers 409 and says why.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _train_params(client, workspace) -> dict:
    from lorakit.data.scan import sample_dataset_path

    images = workspace.datasets / "stop" / "1_kitbot"
    images.mkdir(parents=True, exist_ok=True)
    for source in sorted((sample_dataset_path() / "10_kitbot").iterdir())[:8]:  # 4 images with captions
        shutil.copy(source, images)
    # Many steps and no automatic checkpoint: whatever state exists was saved by `stop`.
    overrides = {"schedule.max_train_epochs": 500, "output.output_dir": "outputs", "output.output_name": "stop"}
    config = client.post("/api/configs/new", json={"preset": "tiny-demo", "overrides": overrides}).json()["config"]
    config["dataset"]["subsets"] = [{"image_dir": "datasets/stop/1_kitbot", "num_repeats": 1}]
    return {"config": config}


def _wait_for_step(runner, job_id: str, after: int = 0, timeout: float = 300.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = [e.data["step"] for e in runner.events(job_id) if e.type == "step"]
        if steps and steps[-1] > after:
            return steps[-1]
        job = runner.get(job_id)
        assert not job.finished, (job.state, job.error)
        time.sleep(0.05)
    raise AssertionError("no training step in time")


def _run_dir(workspace, job: dict) -> Path:
    path = Path(job["run_dir"])
    return path if path.is_absolute() else workspace.root / path


def test_stop_cancel_resume_follow_one_rule(client, workspace, runner):
    params = _train_params(client, workspace)

    # Cancel before anything was saved: cancelled, not resumable, and resume says why.
    created = client.post("/api/jobs", json={"kind": "train", "params": params})
    assert created.status_code == 201, created.text
    first = created.json()["id"]
    _wait_for_step(runner, first)
    assert client.post(f"/api/jobs/{first}/cancel").status_code == 200
    runner.wait(first, 120)
    job = client.get(f"/api/jobs/{first}").json()
    assert job["state"] == "cancelled" and job["resumable"] is False
    assert not (_run_dir(workspace, job) / "state" / "latest.json").exists()
    refused = client.post(f"/api/jobs/{first}/resume")
    assert refused.status_code == 409 and "saved no state" in refused.json()["error"]["message"]

    # Stop: saves its state, ends `stopped`, resumable.
    second = client.post(f"/api/jobs/{first}/retry").json()["id"]
    _wait_for_step(runner, second)
    assert client.post(f"/api/jobs/{second}/command", json={"command": "stop"}).status_code == 200
    runner.wait(second, 120)
    stopped = client.get(f"/api/jobs/{second}").json()
    assert stopped["state"] == "stopped" and stopped["resumable"] is True, stopped
    assert stopped["result"]["stopped"] is True and stopped["result"]["saved"] is True
    saved_at = stopped["result"]["steps"]
    assert (_run_dir(workspace, stopped) / "state" / "latest.json").is_file()
    assert [e["data"]["state"] for e in client.get(f"/api/jobs/{second}/events").json() if e["type"] == "status"][
        -1
    ] == "stopped"

    # Resume continues from the saved step; cancelling it then leaves it resumable (the earlier save exists).
    resumed = client.post(f"/api/jobs/{second}/resume")
    assert resumed.status_code == 201, resumed.text
    third = resumed.json()["id"]
    assert resumed.json()["resume_of"] == second
    assert _wait_for_step(runner, third, after=saved_at) > saved_at
    third_steps = [e.data["step"] for e in runner.events(third) if e.type == "step"]
    assert third_steps[0] == saved_at + 1  # it went on from the state, not from step 1
    assert client.post(f"/api/jobs/{third}/cancel").status_code == 200
    runner.wait(third, 120)
    cancelled = client.get(f"/api/jobs/{third}").json()
    assert cancelled["state"] == "cancelled" and cancelled["resumable"] is True
    assert _run_dir(workspace, cancelled) == _run_dir(workspace, stopped)

    # A job that is not a training job is never resumable, whatever its state.
    sleep = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 2, "seconds": 0.1}}).json()
    runner.wait(sleep["id"], 60)
    assert client.post(f"/api/jobs/{sleep['id']}/resume").status_code == 409
