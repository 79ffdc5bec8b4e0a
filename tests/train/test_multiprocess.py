"""`lorakit train --gpus 2` on a machine without GPUs: two CPU processes (torchrun, gloo) share each epoch,
average their gradients, and the main process alone writes the run folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lorakit.config.io import save_config
from lorakit.events import read_events
from lorakit.lora.kohya import load_lora_file

pytestmark = pytest.mark.slow


def test_two_processes_share_the_epochs(tmp_path, tiny_config):
    # 4 images × 2 repeats / batch 2 = 4 batches per epoch; two processes take 2 each → 2 steps per epoch.
    # Warmup 0.5 of the steps: as in sd-scripts (accelerate steps the schedule once per process), the schedule
    # runs over 4 steps × 2 processes = 8 scheduler steps with int(0.5 × 4 × 2) = 4 of warmup, 2 per step.
    cfg = tiny_config(
        schedule__max_train_epochs=2,
        output__save_every_n_steps=2,
        learning__lr_scheduler="linear",
        learning__lr_warmup_steps=0.5,
    )
    config_path = save_config(cfg, tmp_path / "train.toml")
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "lorakit.cli.main",
        "train",
        str(config_path),
        "--gpus",
        "2",
        "--output",
        str(run_dir),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    events = read_events(run_dir / "events.jsonl")
    steps = [e.data for e in events if e.type == "step"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]  # one writer: each step once
    assert steps[-1]["total_steps"] == 4
    # Linear with warmup, after 2, 4, 6, 8 scheduler steps: 2/4, 4/4, then (8 - 6)/(8 - 4), (8 - 8)/(8 - 4).
    for group in steps[0]["lr"]:
        peak = steps[1]["lr"][group]
        assert [s["lr"][group] / peak for s in steps] == pytest.approx([0.5, 1.0, 0.5, 0.0])
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.toml",
        "events.jsonl",
        "state",
        "tiny-step00000002.safetensors",
        "tiny.safetensors",
    ]
    lora = load_lora_file(run_dir / "tiny.safetensors")
    assert lora.metadata["ss_steps"] == "4"
    assert any(float(v.abs().max()) > 0 for k, v in lora.tensors.items() if "lora_up" in k)
