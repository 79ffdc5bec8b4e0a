"""The step plan's time estimate: from the newest training run of the same model and size, else none."""

from __future__ import annotations

from types import SimpleNamespace

from lorakit.config.presets import new_config
from lorakit.events import Event
from lorakit.web.routes.plans import time_estimate


class FakeRunner:
    def __init__(self, jobs, events):
        self.jobs, self._events = jobs, events

    def list(self, *, kind=None, limit=200, states=None):
        return [j for j in self.jobs if j.kind == kind][:limit]

    def events(self, job_id, since=0):
        return self._events.get(job_id, [])


def _job(job_id, model, resolution, batch):
    config = {"model": {"pretrained_model_name_or_path": model}, "dataset": {"resolution": resolution}}
    config["schedule"] = {"train_batch_size": batch}
    return SimpleNamespace(id=job_id, kind="train", title=f"run {job_id}", params={"config": config})


def test_estimate_uses_the_newest_matching_run_scaled_by_batch():
    cfg = new_config("tiny-demo")  # tiny:sd1 at 64 px, batch 2
    jobs = [_job("other", "tiny:sd1", 128, 2), _job("b", "tiny:sd1", 64, 1), _job("c", "tiny:sd1", 64, 4)]
    events = {
        "other": [Event("step", {"it_s": 100.0})],
        "b": [Event("step", {"it_s": 2.0}), Event("step", {"it_s": 4.0}), Event("status", {"state": "succeeded"})],
        "c": [Event("step", {"it_s": 1.0})],
    }
    got = time_estimate(FakeRunner(jobs, events), cfg, total_steps=36, batch_size=2)
    # Job b: 4 steps/s at batch 1 -> 0.25 s a step, twice that at batch 2 -> 0.5 s, 36 steps -> 18 s.
    assert abs(got["seconds_per_step"] - 0.5) < 1e-9 and abs(got["seconds"] - 18.0) < 1e-6
    assert "job b" in got["based_on"]


def test_no_matching_run_means_no_estimate_and_says_why():
    cfg = new_config("tiny-demo")
    runner = FakeRunner([_job("x", "models/other.safetensors", 64, 2)], {"x": [Event("step", {"it_s": 3.0})]})
    got = time_estimate(runner, cfg, total_steps=36, batch_size=2)
    assert got["seconds"] is None and "first run" in got["based_on"]


def test_the_plan_answer_carries_the_estimate(client, workspace):
    import shutil

    from lorakit.data.scan import sample_dataset_path

    target = workspace.datasets / "estimate" / "10_kitbot"
    if not target.exists():
        shutil.copytree(sample_dataset_path() / "10_kitbot", target)
    config = client.post("/api/configs/new", json={"preset": "tiny-demo"}).json()["config"]
    config["dataset"]["subsets"] = [{"image_dir": "datasets/estimate/10_kitbot", "num_repeats": 1}]
    answer = client.post("/api/plans", json={"config": config})
    assert answer.status_code == 200, answer.text
    assert answer.json()["time_estimate"]["based_on"]
