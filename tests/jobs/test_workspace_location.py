"""One rule for which workspace lorakit uses, the same from every folder, shown by `lorakit doctor`:
--workspace, else $LORAKIT_WORKSPACE, else the nearest workspace at or above the current folder, else
~/lorakit. And the three symptoms of the old cwd-bound default."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.workspace import Workspace, find_workspace, is_workspace, locate_workspace

runner = CliRunner()


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """No $LORAKIT_WORKSPACE, $HOME in tmp_path, and the current folder a plain folder under it."""
    monkeypatch.delenv("LORAKIT_WORKSPACE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cwd = tmp_path / "somewhere" / "else"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    return cwd


def test_default_is_the_users_workspace_from_any_folder(elsewhere, tmp_path):
    path, reason = locate_workspace()
    assert path == (tmp_path / "home" / "lorakit").resolve() and "default" in reason
    Workspace()  # creating it...
    assert not (elsewhere / "workspace").exists()  # ...never makes one in the current folder
    assert is_workspace(path)


def test_nearest_workspace_above_the_current_folder_wins_over_the_default(elsewhere, tmp_path, monkeypatch):
    project = tmp_path / "somewhere"
    Workspace(project / "workspace")
    assert locate_workspace()[0] == (project / "workspace").resolve()
    inside = project / "workspace" / "datasets" / "cats"
    inside.mkdir()
    monkeypatch.chdir(inside)  # inside the workspace itself
    assert locate_workspace()[0] == (project / "workspace").resolve()
    assert find_workspace(tmp_path) is None  # nothing at or above tmp_path


def test_a_folder_named_workspace_is_not_taken_for_one(elsewhere):
    (elsewhere / "workspace" / "src").mkdir(parents=True)  # someone's code folder
    assert "default" in locate_workspace()[1]


def test_environment_beats_nearest_and_option_beats_environment(elsewhere, tmp_path, monkeypatch):
    Workspace(elsewhere / "workspace")
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "env-ws"))
    assert locate_workspace() == ((tmp_path / "env-ws").resolve(), "from $LORAKIT_WORKSPACE")
    assert locate_workspace(tmp_path / "opt")[0] == (tmp_path / "opt").resolve()


def test_doctor_shows_which_workspace_and_why(elsewhere, tmp_path):
    result = runner.invoke(app, ["doctor", "--no-torch", "--json"])
    checks = json.loads(result.output)["checks"]
    [where] = [c for c in checks if c["name"] == "Workspace"]
    assert where["data"]["path"] == str((tmp_path / "home" / "lorakit").resolve())
    assert "default" in where["data"]["reason"] and where["data"]["exists"] is False
    disk = next(c for c in checks if c["name"].lower().startswith("disk"))
    assert disk["data"]["path"] == where["data"]["path"]  # disk space is measured where lorakit writes
    text = runner.invoke(app, ["doctor", "--no-torch", "-w", str(tmp_path / "given")]).output
    assert str(tmp_path / "given") in text and "given with --workspace" in text


def test_tiny_models_are_cached_in_the_one_workspace(elsewhere, tmp_path):
    from lorakit.train.setup import tiny_cache_root

    assert tiny_cache_root() == (tmp_path / "home" / "lorakit" / "models" / "checkpoints").resolve()
    assert not (elsewhere / "workspace").exists()


def test_models_list_uses_the_folder_given(elsewhere, tmp_path):
    ws = Workspace(tmp_path / "ws")
    (ws.models / "loras" / "mine.safetensors").write_bytes(b"not a model")
    for given in (ws.root, ws.models):  # a workspace or its models folder
        result = runner.invoke(app, ["models", "list", "-m", str(given), "--json"])
        assert result.exit_code == 0, result.output
        assert [e["path"].endswith("mine.safetensors") for e in json.loads(result.output)] == [True]
    flat = tmp_path / "flat"
    flat.mkdir()
    result = runner.invoke(app, ["models", "list", "-m", str(flat)])
    assert result.exit_code != 0 and "none of the library folders" in result.exception.problem


def test_a_job_from_the_tiny_demo_preset_writes_into_outputs(tmp_path):
    from lorakit.config.presets import new_config
    from lorakit.workspace import confine_config

    ws = Workspace(tmp_path / "ws")
    cfg = confine_config(ws, new_config("tiny-demo", {}))
    assert cfg.output.output_dir == ws.outputs  # not a second "output" folder next to it


def test_config_new_with_images_writes_a_path_relative_to_the_config(tmp_path, monkeypatch):
    import tomllib

    monkeypatch.chdir(tmp_path)
    (tmp_path / "project" / "images").mkdir(parents=True)
    result = runner.invoke(
        app, ["config", "new", "-p", "tiny-demo", "-i", "project/images", "-o", "project/configs/train.toml"]
    )
    assert result.exit_code == 0, result.output
    data = tomllib.loads((tmp_path / "project" / "configs" / "train.toml").read_text())
    [subset] = data["dataset"]["subsets"]
    assert subset["image_dir"] == "../images"
