"""The training settings widget: made from the schema (every field reachable), saved on disk, checked as
values change, exported and imported."""

from __future__ import annotations

import ipywidgets as W

from lorakit.config.io import load_config
from lorakit.config.schema_export import form_schema
from lorakit.notebook.config_widget import ConfigStep


def _descendants(widget: W.Widget) -> set[int]:
    seen = {id(widget)}
    for child in getattr(widget, "children", ()):
        seen |= _descendants(child)
    return seen


def test_every_schema_field_is_reachable(sample_session):
    step = ConfigStep(sample_session)
    paths = {f["path"] for s in form_schema()["sections"] for f in s["fields"]}
    assert set(step.controls) == paths
    shown = _descendants(step)
    unreachable = [p for p, c in step.controls.items() if id(c.widget) not in shown]
    assert unreachable == []
    # Advanced sections start collapsed; the help of every field is next to it.
    assert step.more.selected_index is None
    assert all(step.controls[p].info["help"] in step.controls[p].box.children[1].value for p in ["network.dim"])


def test_a_changed_setting_is_saved(sample_session):
    step = ConfigStep(sample_session)
    assert step.preset.value == "tiny-demo"  # the tiny model chose its preset
    step.set("network.dim", 8)
    step.controls["learning.learning_rate"].widget.value = 2e-4
    step.name.value = "robot"
    step.save_button.click()
    path = sample_session.workspace.configs / "robot.toml"
    assert path.is_file(), step.status.text
    cfg = load_config(path, relative_to_file=False)
    assert cfg.network.dim == 8
    assert abs(cfg.learning.learning_rate - 2e-4) < 1e-12
    assert cfg.model.pretrained_model_name_or_path == "tiny:sd1"
    assert sample_session.get("config") == "configs/robot.toml"
    # Running the cell again shows the saved config, not the preset.
    again = ConfigStep(sample_session)
    assert again.controls["network.dim"].widget.value == 8


def test_bad_values_are_shown_as_problem_and_fix(sample_session):
    step = ConfigStep(sample_session)
    step.controls["network.dim"].widget.value = 0
    assert step.status.kind == "fail"
    assert "network.dim" in step.check.value
    step.controls["optimizer.betas"].widget.value = "[0.9,"  # not JSON
    assert "optimizer.betas" in step.check.value
    step.name.value = "broken"
    step.save_button.click()
    assert not (sample_session.workspace.configs / "broken.toml").exists()
    assert step.status.kind == "fail"


def test_step_plan_follows_the_values(sample_session):
    step = ConfigStep(sample_session)
    step.set("schedule.max_train_epochs", None)
    step.set("schedule.max_train_steps", 7)
    assert "<b>7 steps</b>" in step.plan.value
    step.set("schedule.max_train_epochs", 1)
    # 12 images x 10 repeats / batch 2 = 60 steps per epoch; epochs win over max_train_steps.
    assert "<b>60 steps</b>" in step.plan.value


def test_toml_export_and_import_ours_and_sd_scripts(sample_session):
    step = ConfigStep(sample_session)
    step.set("network.dim", 6)
    step.name.value = "exp"
    written = step.export_kohya()
    names = {p.name for p in written}
    assert "config.toml" in names
    other = ConfigStep(sample_session)
    other.set("network.dim", 16)
    other.import_path.value = "outputs/sd-scripts/exp/config.toml"
    other.import_button.click()
    assert other.controls["network.dim"].widget.value == 6, other.status.text
    assert "Imported sd-scripts settings" in other.status.text
    step.export_ours.click()
    assert "dim = 6" in step.toml.value
