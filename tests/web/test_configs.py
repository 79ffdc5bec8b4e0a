"""Configs, presets and plans over HTTP, with every path kept inside the workspace."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def kitbot(workspace):
    from lorakit.data.scan import sample_dataset_path

    target = workspace.datasets / "kitbot" / "10_kitbot"
    if not target.exists():
        shutil.copytree(sample_dataset_path() / "10_kitbot", target)
    return "datasets/kitbot/10_kitbot"


def _config(client, image_dir):
    overrides = {"network.dim": 8, "schedule.max_train_epochs": 2}
    config = client.post("/api/configs/new", json={"preset": "sd15-character", "overrides": overrides}).json()[
        "config"
    ]
    config["dataset"]["subsets"] = [{"image_dir": image_dir, "num_repeats": 10}]
    config["model"]["pretrained_model_name_or_path"] = "models/checkpoints/base.safetensors"
    return config


def test_presets_schema_explain(client):
    names = {p["name"] for p in client.get("/api/configs/presets").json()}
    assert "sd15-character" in names
    schema = client.get("/api/configs/schema", params={"level": "basic"}).json()
    levels = {f["level"] for s in schema["sections"] for f in s["fields"]}
    assert levels == {"basic"}
    help_ = client.get("/api/configs/explain/network.dim").json()
    assert help_["help"] and help_["path"] == "network.dim"
    unknown = client.get("/api/configs/explain/netwrk.dim")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "netwrk.dim"


def test_save_read_plan_export_import(client, workspace, kitbot):
    config = _config(client, kitbot)
    saved = client.put("/api/configs/kit", json={"config": config})
    assert saved.status_code == 200, saved.text
    assert saved.json()["path"] == "configs/kit.toml" and (workspace.configs / "kit.toml").exists()
    got = client.get("/api/configs/kit").json()
    assert got["config"]["network"]["dim"] == 8 and "dim = 8" in got["toml"]
    assert "kit" in {c["name"] for c in client.get("/api/configs").json()}
    plan = client.post("/api/plans", json={"config_name": "kit", "goal": "character"})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["total_steps"] > 0 and str(workspace.root) not in plan.text
    exported = client.post("/api/configs/kit/export-kohya").json()
    assert any(f.endswith("config.toml") for f in exported["files"])
    assert exported["script"] == "train_network.py" and isinstance(exported["notes"], list)
    imported = client.post(
        "/api/configs/import-kohya",
        json={"paths": [f for f in exported["files"] if f.endswith(".toml")], "name": "back"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["config"]["network"]["dim"] == 8


def test_invalid_configs_name_every_problem(client, kitbot):
    config = _config(client, kitbot)
    config["network"]["dim"] = -3
    config["learning"] = {"learning_rate": "fast"}
    r = client.put("/api/configs/bad", json={"config": config})
    assert r.status_code == 422
    fields = {i["field"] for i in r.json()["error"]["issues"]}
    assert any("dim" in f for f in fields) and any("learning_rate" in f for f in fields)
    report = client.post("/api/configs/validate", json={"config": _config(client, kitbot)}).json()
    assert set(report) >= {"ok", "problems", "warnings"}


def test_config_paths_stay_in_the_workspace(client, kitbot):
    for outside in ("/etc", "../../elsewhere"):
        config = _config(client, outside)
        r = client.post("/api/plans", json={"config": config})
        # A 422 naming the field (issue #10 defect 7): the form marks it.
        assert r.status_code == 422 and r.json()["error"]["code"] == "config"
        assert r.json()["error"]["field"].endswith("image_dir")
        assert client.put("/api/configs/escape", json={"config": config}).status_code == 422
    assert client.get("/api/configs/..%2f..%2fsettings").status_code in (400, 404)
