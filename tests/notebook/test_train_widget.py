"""The training and utilities widgets over real jobs on the built-in tiny model: a run completed with its
chart fed from the run's events, a second start refused, a kernel restart that reattaches, a resize written."""

from __future__ import annotations

import time

import pytest

from lorakit.events import read_events
from lorakit.lora.inspect import inspect_lora
from lorakit.notebook import state
from lorakit.notebook.config_widget import ConfigStep
from lorakit.notebook.train_widget import TrainStep
from lorakit.notebook.utilities_widget import UtilitiesStep

pytestmark = pytest.mark.slow


def _save_config(session, name: str, steps: int) -> None:
    step = ConfigStep(session)
    step.set("schedule.max_train_epochs", None)
    step.set("schedule.max_train_steps", steps)
    step.set("output.output_name", name)
    step.name.value = name
    step.save_button.click()
    assert session.get("config") == f"configs/{name}.toml", step.status.text


def test_without_a_saved_config_train_offers_to_save_one(sample_session):
    step = TrainStep(sample_session)
    assert step.status.kind == "warn" and "No saved training settings" in step.status.text
    offer = step.offer.children[0]
    offer.click()
    assert sample_session.get("config") == "configs/my-lora.toml"
    assert (sample_session.workspace.root / "configs" / "my-lora.toml").is_file()


def test_tiny_run_completes_with_its_chart_fed_from_events_then_resize(sample_session):
    _save_config(sample_session, "tiny", steps=3)
    step = TrainStep(sample_session)
    step.start_button.click()
    job_id = step.view.job_id
    assert job_id, step.status.text
    assert step.wait(timeout=600) == "completed", step.status.text
    events = read_events(sample_session.runner.events_path(job_id))
    logged = [e.data for e in events if e.type == "step"]
    assert [d["step"] for d in logged] == step.chart.steps == [1, 2, 3]
    assert step.chart.losses == pytest.approx([d["loss"] for d in logged])
    assert step.chart.lrs == pytest.approx([next(iter(d["lr"].values())) for d in logged])
    assert step.chart.value[:4] == b"\x89PNG" and step.chart.drawn == 3
    assert step.view.bar.value == step.view.bar.max == 3
    assert "tiny.safetensors" in step.saved.value

    tools = UtilitiesStep(sample_session)
    assert tools.lora.value == "outputs/tiny-demo/tiny.safetensors" or tools.lora.value.endswith("tiny.safetensors")
    tools.rank.value = 2
    tools.resize_button.click()
    assert tools.wait(timeout=600) == "completed", tools.status.text
    written = sample_session.workspace.root / "models" / "loras" / "tiny-r2.safetensors"
    assert written.is_file()
    assert set(inspect_lora(written, full_hash=False).ranks) == {2}


def test_second_start_and_kernel_restart_reattach(sample_session):
    _save_config(sample_session, "long", steps=2000)
    first = TrainStep(sample_session)
    first.start_button.click()
    job_id = first.view.job_id
    root = sample_session.workspace.root

    # A kernel restart: the session and its runner are gone; the job (its own process) is not.
    state.reset()
    session = state.session(root)
    again = TrainStep(session)
    assert again.view.job_id == job_id
    again.start_button.click()  # a second start
    assert again.status.kind == "warn" and "already going" in again.status.text
    assert again.attach_button.layout.display is None
    assert len(session.runner.list(kind="train")) == 1

    deadline = time.monotonic() + 600  # wait for the first step, so Stop has a run to stop
    while not again.chart.steps and time.monotonic() < deadline:
        again.view.poll()
        time.sleep(0.2)
    again.stop_button.click()
    assert again.wait(timeout=600) == "stopped", again.status.text
    assert again.chart.steps and again.chart.steps[0] == 1
    assert session.runner.get(job_id).resumable


def test_a_failed_run_shows_problem_and_fix_not_a_traceback(sample_session):
    import shutil

    _save_config(sample_session, "gone", steps=3)
    shutil.rmtree(sample_session.workspace.datasets / "kitbot")  # the dataset went away after saving
    step = TrainStep(sample_session)
    step.start_button.click()
    assert step.wait(timeout=600) == "failed"
    assert step.status.kind == "fail"
    assert "kitbot" in step.status.text
    assert "What to do:" in step.status.value
    assert "Traceback" not in step.status.value
