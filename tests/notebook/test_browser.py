"""One browser test: JupyterLab on loopback with each notebook, opened in Chromium through playwright-core.
The Trainer: run the cells, change a setting in the training settings widget, save, start training and see
the chart appear and the run complete. Skipped where JupyterLab, node, Chromium or playwright-core is missing.
``LORAKIT_SCREENSHOTS=docs/images`` keeps the screenshots there (how docs/images/notebook-*.png are made)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lorakit.data.scan import sample_dataset_path
from lorakit.notebook.state import STATE_FILE

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("browser_check.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _playwright_core() -> bool:
    searched = [
        ROOT / "frontend" / "node_modules",
        *map(Path, filter(None, os.environ.get("NODE_PATH", "").split(":"))),
    ]
    return any((p / "playwright-core" / "package.json").is_file() for p in searched)


def _needs() -> str | None:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "jupyterlab is not installed"
    if shutil.which("node") is None or not Path(CHROMIUM).exists():
        return "node or Chromium is missing"
    if not _playwright_core():
        return "playwright-core is not installed (frontend/node_modules or NODE_PATH)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    why = _needs()
    if why:
        pytest.skip(why)
    folder = tmp_path / "lab"
    folder.mkdir()
    for name in ("Dataset_Maker.ipynb", "LoRA_Trainer.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, folder / name)
    workspace = tmp_path / "ws"
    shutil.copytree(sample_dataset_path(), workspace / "datasets" / "kitbot")
    (workspace / "configs").mkdir(parents=True)
    # Made earlier with the widgets: the tiny model, the sample dataset, a 3-step config.
    (workspace / "configs" / "tiny.toml").write_text(
        '[model]\npretrained_model_name_or_path = "tiny:sd1"\nfamily = "sd1"\n'
        '[dataset]\ntrain_data_dir = "datasets/kitbot"\nresolution = 64\nenable_bucket = false\n'
        '[schedule]\nmax_train_steps = 3\ntrain_batch_size = 2\n[optimizer]\noptimizer_type = "AdamW"\n'
        '[network]\ndim = 4\nalpha = 4\n[memory]\nmixed_precision = "no"\nmax_data_loader_n_workers = 0\n'
        '[output]\noutput_name = "tiny"\nsave_precision = "float"\n',
        encoding="utf-8",
    )
    remembered = {"dataset": "datasets/kitbot", "base_model": "tiny:sd1", "family": "sd1", "trigger_word": "kitbot"}
    (workspace / STATE_FILE).write_text(json.dumps(remembered | {"config": "configs/tiny.toml"}), encoding="utf-8")
    port, token = _free_port(), "lorakit-test-token"
    env = dict(os.environ, LORAKIT_WORKSPACE=str(workspace), LORAKIT_HOME=str(tmp_path / "home"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter-runtime")
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False", "--allow-root",
    ]  # fmt: skip
    with open(tmp_path / "lab.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/api/status?token={token}", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start: " + (tmp_path / "lab.log").read_text()[-2000:])
    yield base, token, workspace
    server.terminate()
    server.wait(timeout=30)


def _drive(base: str, token: str, notebook: str, mode: str, shot: Path) -> dict:
    url = f"{base}/lab/tree/{notebook}?token={token}&reset"
    run = subprocess.run(
        ["node", str(SCRIPT), url, mode, str(shot)], capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, run.stdout + run.stderr
    return json.loads(lines[-1])


def _shot(tmp_path: Path, name: str) -> Path:
    folder = os.environ.get("LORAKIT_SCREENSHOTS")
    return (Path(folder) if folder else tmp_path) / name


@pytest.mark.timeout(1500)  # a kernel, a training job and a browser on a shared CPU
def test_trainer_in_jupyterlab_trains_and_draws_the_chart(lab, tmp_path):
    base, token, workspace = lab
    shot = _shot(tmp_path, "notebook-lora-trainer.png")
    seen = _drive(base, token, "LoRA_Trainer.ipynb", "trainer", shot)
    assert seen == {"ok": True, "saved": True, "chart": True, "completed": True}, seen
    assert "dim = 8" in (workspace / "configs" / "tiny.toml").read_text(encoding="utf-8")
    assert list((workspace / "outputs").rglob("tiny.safetensors"))
    assert shot.stat().st_size > 10_000


def test_dataset_maker_in_jupyterlab_shows_its_panels(lab, tmp_path):
    base, token, _workspace = lab
    shot = _shot(tmp_path, "notebook-dataset-maker.png")
    seen = _drive(base, token, "Dataset_Maker.ipynb", "maker", shot)
    assert seen["ok"] and seen["tabs"] >= 5, seen
