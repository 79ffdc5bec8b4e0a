"""Both notebooks executed top to bottom in a real kernel (nbclient) on the tiny model and the sample
dataset, with no error output; the Trainer is then driven to a finished tiny run in the same kernel."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from lorakit.data.scan import sample_dataset_path  # noqa: E402
from lorakit.notebook.state import STATE_FILE  # noqa: E402

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SRC = Path(__file__).resolve().parents[2] / "src"

# Appended to the Trainer in the test only: what a user does with the widgets (change a setting, save,
# start) and what they then see (a completed run, its chart drawn from the run's events).
DRIVE = """
cfg = nb.config()
cfg.set("schedule.max_train_epochs", None)
cfg.set("schedule.max_train_steps", 2)
cfg.save_button.click()
trainer = nb.train()
trainer.start_button.click()
state = trainer.wait(timeout=600)
print("RESULT", state, trainer.chart.steps, len(trainer.chart.value) > 0)
"""


def _run(path: Path, workspace: Path, home: Path, extra: str | None = None):
    notebook = nbformat.read(path, as_version=4)
    if extra:
        notebook.cells.append(nbformat.v4.new_code_cell(extra))
    env = dict(os.environ, LORAKIT_WORKSPACE=str(workspace), LORAKIT_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    # "python3" is ipykernel's own spec when no other is installed: this interpreter, which imports lorakit.
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workspace.parent)}},
    )
    client.execute(env=env)
    return notebook


def _problems(notebook) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"{output.get('ename')}: {output.get('evalue')}")
            elif output.get("name") == "stderr" and "Traceback" in output.get("text", ""):
                found.append(output["text"])
            elif output.get("output_type") == "display_data":
                text = json.dumps(output.get("data", {}))
                if "Problem:" in text:  # an error box in a widget's first render
                    found.append(text[:500])
    return found


def _widget_outputs(notebook) -> int:
    return sum(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def test_dataset_maker_runs_top_to_bottom(tmp_path):
    notebook = _run(NOTEBOOKS / "Dataset_Maker.ipynb", tmp_path / "ws", tmp_path / "home")
    assert _problems(notebook) == []
    assert _widget_outputs(notebook) == 6  # setup + five dataset panels


def test_lora_trainer_runs_top_to_bottom_and_trains(tmp_path):
    workspace = tmp_path / "ws"
    # The user made the dataset with the Dataset Maker and chose the built-in tiny model in Setup.
    shutil.copytree(sample_dataset_path(), workspace / "datasets" / "kitbot")
    remembered = {"dataset": "datasets/kitbot", "base_model": "tiny:sd1", "family": "sd1", "trigger_word": "kitbot"}
    (workspace / STATE_FILE).write_text(json.dumps(remembered), encoding="utf-8")
    notebook = _run(NOTEBOOKS / "LoRA_Trainer.ipynb", workspace, tmp_path / "home", DRIVE)
    assert _problems(notebook) == []
    assert _widget_outputs(notebook) >= 5
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.get("name") == "stdout")
    assert "RESULT completed [1, 2] True" in printed
