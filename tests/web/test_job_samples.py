"""GET /api/jobs/{id}/samples/{name}: a training run's sample images, served from its run folder only."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lorakit.jobs.runner import JobRunner
from lorakit.web.app import create_app
from lorakit.web.routes import spa
from lorakit.workspace import Workspace


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("samples") / "ws")
    with JobRunner(ws, paused=True) as runner, pytest.MonkeyPatch.context() as patch:  # nothing starts
        patch.setattr(spa, "default_dist", lambda: None)
        with TestClient(create_app(ws, runner=runner), base_url="http://127.0.0.1") as client:
            yield ws, runner, client


def _run(ws: Workspace, runner: JobRunner, run_dir: str | None) -> str:
    job = runner.store.add("train", {"config": "configs/x.toml"}, gpu=True)
    runner.store.update(job.id, state="running", run_dir=run_dir)
    return job.id


def _png(path, colour=(200, 30, 30)) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path)
    return path.read_bytes()


def test_a_sample_is_served_inline_as_an_image(setup):
    ws, runner, client = setup
    job_id = _run(ws, runner, "outputs/run1")
    data = _png(ws.root / "outputs" / "run1" / "samples" / "run1_000010_00.png")
    r = client.get(f"/api/jobs/{job_id}/samples/run1_000010_00.png")
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/png"
    assert "attachment" not in r.headers.get("content-disposition", "")


def test_an_absolute_run_dir_inside_the_workspace_works(setup):
    ws, runner, client = setup
    job_id = _run(ws, runner, str(ws.root / "outputs" / "abs"))
    data = _png(ws.root / "outputs" / "abs" / "samples" / "a_000001_00.png")
    assert client.get(f"/api/jobs/{job_id}/samples/a_000001_00.png").content == data


@pytest.mark.parametrize(
    "name",
    ["..%2F..%2Fsecret.png", "notes.txt", ".hidden.png", "a%5Cb.png", "..png"],
)
def test_names_that_are_not_a_sample_are_refused(setup, name):
    ws, runner, client = setup
    job_id = _run(ws, runner, "outputs/run2")
    _png(ws.root / "outputs" / "secret.png")
    r = client.get(f"/api/jobs/{job_id}/samples/{name}")
    assert r.status_code in (400, 404, 422), r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["message"]


def test_only_the_run_folders_samples_are_served(setup):
    ws, runner, client = setup
    job_id = _run(ws, runner, "outputs/run3")
    _png(ws.root / "outputs" / "run3" / "other.png")  # in the run folder, but not a sample
    r = client.get(f"/api/jobs/{job_id}/samples/other.png")
    assert r.status_code == 404 and "fix" in r.json()["error"]


def test_a_link_leading_outside_the_workspace_is_refused(setup, tmp_path):
    ws, runner, client = setup
    job_id = _run(ws, runner, "outputs/run4")
    outside = tmp_path / "outside.png"
    _png(outside)
    folder = ws.root / "outputs" / "run4" / "samples"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "evil_000001_00.png")
    r = client.get(f"/api/jobs/{job_id}/samples/evil_000001_00.png")
    assert r.status_code == 404
    assert r.content != outside.read_bytes()


def test_a_run_dir_outside_the_workspace_is_refused(setup, tmp_path):
    ws, runner, client = setup
    _png(tmp_path / "out" / "samples" / "x_000001_00.png")
    job_id = _run(ws, runner, str(tmp_path / "out"))
    assert client.get(f"/api/jobs/{job_id}/samples/x_000001_00.png").status_code == 403


def test_a_job_without_run_folder_or_unknown_job(setup):
    ws, runner, client = setup
    job_id = _run(ws, runner, None)
    r = client.get(f"/api/jobs/{job_id}/samples/x_000001_00.png")
    assert r.status_code == 404 and "run folder" in r.json()["error"]["message"]
    assert client.get("/api/jobs/nosuchjob/samples/x_000001_00.png").status_code == 404


def test_events_route_answers_json_and_turns_nan_into_null(setup):
    from lorakit.events import EventLog

    ws, runner, client = setup
    job_id = _run(ws, runner, "outputs/run5")
    log = EventLog(runner.events_path(job_id))
    log.append("step", {"step": 1, "loss": 0.5, "lr": {"unet": 1e-4}})
    log.append("step", {"step": 2, "loss": float("nan"), "lr": {"unet": float("inf")}})
    r = client.get(f"/api/jobs/{job_id}/events", params={"since": 0})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    got = r.json()
    assert [e["seq"] for e in got] == [1, 2]
    assert got[0]["data"] == {"step": 1, "loss": 0.5, "lr": {"unet": 1e-4}}
    assert got[1]["data"] == {"step": 2, "loss": None, "lr": {"unet": None}}
    assert set(got[0]) == {"seq", "type", "data", "time"}
    assert client.get(f"/api/jobs/{job_id}/events", params={"since": 1}).json()[0]["seq"] == 2
