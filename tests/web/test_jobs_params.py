"""`POST /api/jobs` checks a job's parameters when it is submitted: 422 naming the field, nothing queued."""

from __future__ import annotations

import pytest


def _refused(client, runner, kind, params, field, *words):
    before = len(runner.list(limit=1000))
    r = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field, error
    assert error["fix"]
    for word in words:
        assert word in error["message"], error
    assert len(runner.list(limit=1000)) == before  # nothing was queued
    return error


def test_train_needs_a_config_that_exists_and_loads(client, runner, workspace):
    _refused(client, runner, "train", {}, "params.config", "Field required")
    _refused(client, runner, "train", {"config": ""}, "params.config")
    _refused(client, runner, "train", {"config": "configs/missing.toml"}, "params.config", "missing.toml")
    _refused(client, runner, "train", {"config": "../outside.toml"}, "params.config")
    _refused(client, runner, "train", {"config": 5}, "params.config")
    (workspace.configs / "broken.toml").write_text("this is = = not toml")
    _refused(client, runner, "train", {"config": "configs/broken.toml"}, "params.config")
    _refused(client, runner, "train", {"config": {"schedule": {"max_train_epochs": "many"}}}, "params.config")
    _refused(client, runner, "train", {"config": {}, "epochs": 3}, "params.epochs", "Extra")


def test_wrong_types_and_unknown_kinds(client, runner):
    _refused(client, runner, "sleep", {"steps": "lots"}, "params.steps", "integer")
    _refused(client, runner, "sleep", {"seconds": -1}, "params.seconds")
    _refused(client, runner, "fail", {"how": "explode"}, "params.how")
    _refused(client, runner, "resize", {}, "params.source")
    _refused(client, runner, "resize", {"source": "models/loras/none.safetensors"}, "params.source")
    _refused(client, runner, "merge", {"sources": [["a.safetensors", "heavy"]]}, "params.sources.0.0")
    _refused(client, runner, "import", {"sources": [], "to": "datasets/x"}, "params.sources")
    _refused(client, runner, "nonsense", {}, "kind", "nonsense")


def test_every_problem_is_named_at_once(client, runner):
    error = _refused(client, runner, "resize", {"rank": 0, "method": "magic"}, "params.source")
    for field in ("params.source", "params.rank", "params.method"):
        assert field in error["message"]


def test_good_params_are_queued_normalized(client, runner):
    r = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 2, "seconds": "0.1"}})
    assert r.status_code == 201, r.text
    job = runner.wait(r.json()["id"], 60)
    assert job.state == "completed" and job.params == {"steps": 2, "seconds": 0.1}


def test_kinds_list_their_parameters(client):
    kinds = {k["name"]: k for k in client.get("/api/jobs/kinds").json()}
    assert "config" in kinds["train"]["params"]["properties"]
    assert kinds["train"]["params"]["required"] == ["config"]
    assert kinds["sleep"]["params"]["properties"]["steps"]["maximum"] == 1_000_000


@pytest.mark.parametrize("kind", ["sleep", "fail", "train", "resize", "merge", "tag", "import", "upload"])
def test_runner_refuses_the_same_without_the_web(runner, kind):
    from lorakit.jobs.params import JobParamsError

    with pytest.raises(JobParamsError) as refused:
        runner.submit(kind, {"no_such_param": 1})
    assert "params.no_such_param" in refused.value.problem
