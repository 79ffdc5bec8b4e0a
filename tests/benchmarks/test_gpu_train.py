"""benchmarks/gpu_train.py: its --help documents the run, --dry-run lists the cases, and the tiny CPU smoke
run goes through the whole script (model, data, a timed lorakit run, FLOP count, table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_train.py"


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_help_documents_the_run():
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    for words in ("MFU", "peak VRAM", "--sd-scripts", "--sd-python", "--preset", "--tiny", "--dry-run", "1024²"):
        assert words in done.stdout, words


def test_dry_run_lists_the_grid_and_builds_nothing(tmp_path):
    done = _run("--dry-run", "--work", str(tmp_path / "work"))
    assert done.returncode == 0, done.stderr
    cases = [line for line in done.stdout.splitlines() if line.startswith("- ")]
    assert len(cases) == 8  # 2 models × batch 1, 4 × checkpointing off, on
    assert not (tmp_path / "work").exists()


def test_bad_arguments_are_refused(tmp_path):
    done = _run("--tiny", "--sd-scripts", str(tmp_path))
    assert done.returncode != 0 and "full-size" in done.stderr
    done = _run("--sd-scripts", str(tmp_path), "--dry-run")
    assert done.returncode != 0 and "train_network.py" in done.stderr


@pytest.mark.slow
def test_tiny_cpu_smoke_run_completes(tmp_path):
    out = tmp_path / "result.json"
    done = _run(
        "--device", "cpu", "--tiny", "--models", "sd15", "--batch", "2", "--checkpointing", "on", "--steps", "1",
        "--warmup", "2", "--work", str(tmp_path / "work"), "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    (row,) = result["rows"]
    lorakit = row["lorakit"]
    assert len(lorakit["times"]) == 3  # 2 warm-up + 1 timed optimizer step, each seen once by the hook
    assert lorakit["s_per_step"] > 0 and lorakit["flops"] > 0 and lorakit["batch"] == 2
    assert "| sd15 | 64² | 2 | on |" in done.stdout
