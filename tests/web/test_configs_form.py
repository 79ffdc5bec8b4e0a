"""The Training page's config routes: TOML text both ways, sd-scripts text both ways, and saving a preset."""

from __future__ import annotations

import tomllib


def _tiny(client, **sections):
    config = client.post("/api/configs/new", json={"preset": "tiny-demo"}).json()["config"]
    config["dataset"]["subsets"] = [{"image_dir": "datasets/pets/10_cat", "num_repeats": 3}]
    for name, values in sections.items():
        config[name].update(values)
    # Normalised by the server (defaults of the subset filled in), as the form holds it after any answer.
    return client.post("/api/configs/from-toml", json={"toml": _toml(client, config)}).json()["config"]


def _toml(client, config):
    answer = client.post("/api/configs/toml", json={"config": config})
    assert answer.status_code == 200, answer.text
    return answer.json()["toml"]


def test_toml_round_trips_the_form_config(client):
    config = _tiny(client, network={"dim": 12, "alpha": 6.0})
    text = _toml(client, config)
    assert tomllib.loads(text)["network"]["dim"] == 12
    back = client.post("/api/configs/from-toml", json={"toml": text})
    assert back.status_code == 200, back.text
    assert back.json()["config"] == config


def test_toml_text_with_a_bad_value_names_the_field(client):
    answer = client.post("/api/configs/from-toml", json={"toml": "[network]\ndim = 0\n"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    fields = {error["field"], *(issue["field"] for issue in error.get("issues", []))}
    assert "network.dim" in fields and error["fix"]
    broken = client.post("/api/configs/from-toml", json={"toml": "[network\ndim = 3"})
    assert broken.status_code == 422 and "not valid TOML" in broken.json()["error"]["message"]


def test_sd_scripts_text_round_trips(client):
    config = _tiny(client, network={"dim": 12, "alpha": 6.0}, learning={"learning_rate": 0.0005})
    answer = client.post("/api/configs/kohya", json={"config": config})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body["files"]) >= {"config.toml", "dataset.toml"} and body["script"] == "train_network.py"
    assert tomllib.loads(body["files"]["config.toml"])["network_dim"] == 12
    assert any("tiny:sd1" in note for note in body["notes"])  # sd-scripts cannot load the built-in model
    files = body["files"]
    back = client.post(
        "/api/configs/kohya/parse", json={"config_toml": files["config.toml"], "dataset_toml": files["dataset.toml"]}
    )
    assert back.status_code == 200, back.text
    imported = back.json()["config"]
    assert imported["network"]["dim"] == 12 and imported["network"]["alpha"] == 6.0
    assert abs(imported["learning"]["learning_rate"] - 0.0005) < 1e-12
    assert imported["dataset"]["subsets"][0]["num_repeats"] == 3
    assert imported["dataset"]["subsets"][0]["image_dir"].endswith("datasets/pets/10_cat")


def test_sd_scripts_text_that_is_not_toml_is_refused(client):
    answer = client.post("/api/configs/kohya/parse", json={"config_toml": "network_dim = = 3"})
    assert answer.status_code == 422 and "config.toml" in answer.json()["error"]["message"]


def test_save_current_settings_as_a_preset(client, workspace):
    config = _tiny(client, network={"dim": 24})
    saved = client.post("/api/configs/presets", json={"name": "my-tiny-24", "title": "Mine", "config": config})
    assert saved.status_code == 200, saved.text
    assert saved.json()["name"] == "my-tiny-24" and saved.json()["builtin"] is False and "path" not in saved.json()
    assert (workspace.configs / "presets" / "my-tiny-24.toml").is_file()
    listed = {p["name"]: p for p in client.get("/api/configs/presets").json()}
    assert listed["my-tiny-24"]["title"] == "Mine"
    again = client.post("/api/configs/new", json={"preset": "my-tiny-24"}).json()["config"]
    assert again["network"]["dim"] == 24 and "subsets" not in again["dataset"]  # folders belong to one project


def test_a_preset_cannot_take_a_built_in_name_or_a_bad_one(client):
    config = _tiny(client)
    taken = client.post("/api/configs/presets", json={"name": "tiny-demo", "config": config})
    assert taken.status_code == 422 and taken.json()["error"]["field"] == "preset"
    bad = client.post("/api/configs/presets", json={"name": "../x", "config": config})
    assert bad.status_code == 422 and bad.json()["error"]["fix"]


def test_validation_names_folders_as_the_user_wrote_them(client, workspace):
    config = _tiny(client)
    config["dataset"]["subsets"][0]["image_dir"] = "datasets/not-there"
    answer = client.post("/api/configs/validate", json={"config": config}).json()
    problem = next(p for p in answer["problems"] if p["field"] == "dataset.subsets[0].image_dir")
    assert "datasets/not-there" in problem["message"] and str(workspace.root) not in problem["message"]
