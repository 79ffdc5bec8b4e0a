"""End to end: the tiny-model training job runs through the API, its events live over the WebSocket."""

from __future__ import annotations

import json
import shutil
import time

import pytest

pytest.importorskip("torch")


@pytest.mark.slow
def test_tiny_training_job_through_the_api(client, live, workspace, runner):
    from websockets.sync.client import connect

    from lorakit.data.scan import sample_dataset_path

    images = workspace.datasets / "tiny" / "1_kitbot"
    images.mkdir(parents=True)
    for source in sorted((sample_dataset_path() / "10_kitbot").iterdir())[:8]:  # 4 images with captions
        shutil.copy(source, images)
    overrides = {"schedule.max_train_epochs": 1, "output.output_dir": "outputs", "output.output_name": "e2e"}
    config = client.post("/api/configs/new", json={"preset": "tiny-demo", "overrides": overrides}).json()["config"]
    config["dataset"]["subsets"] = [{"image_dir": "datasets/tiny/1_kitbot", "num_repeats": 1}]
    job = client.post("/api/jobs", json={"kind": "train", "params": {"config": config}})
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]

    seen, states = [], []
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job_id, "since": 0}))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv(timeout=300))
            for message in frame if isinstance(frame, list) else [frame]:
                if message["type"] == "event":
                    seen.append(message["event"])
                    if message["event"]["type"] == "status":
                        states.append(message["event"]["data"]["state"])
            if states and states[-1] in ("completed", "failed"):
                break
    done = runner.wait(job_id, 60)
    assert done.state == "completed", (done.error, [e for e in seen if e["type"] in ("error", "warning")])
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    steps = [e["data"]["step"] for e in seen if e["type"] == "step"]
    assert steps and steps == sorted(steps) and steps[-1] == done.result["steps"]
    assert all(isinstance(e["data"]["loss"], float) for e in seen if e["type"] == "step")
    assert not done.result["lora"].startswith("/")  # results name files by their workspace path
    lora = workspace.root / done.result["lora"]
    assert lora.is_file() and lora.is_relative_to(workspace.outputs)
    assert done.run_dir and not done.run_dir.startswith("/")  # workspace-relative (issue #10 defect 11)
    assert (workspace.root / done.run_dir).is_relative_to(workspace.outputs)
    assert not [e for e in seen if str(workspace.root) in json.dumps(e)]  # no server path in any event
    assert client.get("/api/files", params={"path": "outputs/e2e"}).status_code == 200

    # The LoRA it made, through the LoRA tools and the model library.
    rel = done.result["lora"]
    inspected = client.get("/api/lora/inspect", params={"path": rel})
    assert inspected.status_code == 200, inspected.text
    detected = client.get("/api/models/detect", params={"path": rel}).json()
    assert detected["kind"] == "lora" and detected["family"] == "sd1"
    resize = client.post(
        "/api/lora/resize", json={"source": rel, "rank": 2, "output": "models/loras/e2e-r2.safetensors"}
    )
    assert resize.status_code == 201, resize.text
    resized = runner.wait(resize.json()["id"], 180)
    assert resized.state == "completed", resized.error
    assert resized.result["output"] == "models/loras/e2e-r2.safetensors"
    library = client.get("/api/models", params={"folder": "loras"}).json()
    assert [e["path"] for e in library] == ["models/loras/e2e-r2.safetensors"]
    assert library[0]["info"]["rank"] == 2
