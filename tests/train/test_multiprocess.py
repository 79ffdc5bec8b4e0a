"""`lorakit train --gpus 2` on a machine without GPUs: two CPU processes (torchrun, gloo) share each epoch,
average their gradients, and the main process alone writes the run folder. Two processes with batch B train
the same LoRA as one process with batch 2B (each image draws its own noise), and a resumed two-process run
gives each process back its own random state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lorakit.config.io import save_config
from lorakit.events import read_events
from lorakit.lora.kohya import load_lora_file

pytestmark = pytest.mark.slow


def _train_cli(args: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lorakit.cli.main", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def _two_processes(cfg, folder: Path) -> Path:
    run_dir = folder / "run"
    _train_cli(["train", str(save_config(cfg, folder / "train.toml")), "--gpus", "2", "--output", str(run_dir)])
    return run_dir


def _assert_same_lora(a: Path, b: Path) -> None:
    ta, tb = load_file(str(a)), load_file(str(b))
    assert ta.keys() == tb.keys()
    moved = 0
    for key in ta:
        torch.testing.assert_close(ta[key], tb[key], rtol=1e-4, atol=1e-6, msg=key)
        moved += "lora_up" in key and float(ta[key].abs().max()) > 0
    assert moved  # trained: the up weights start at zero


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
    run_dir = tmp_path / "run"
    _train_cli(["train", str(save_config(cfg, tmp_path / "train.toml")), "--gpus", "2", "--output", str(run_dir)])

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


# 4 images × 2 repeats = 8 per epoch: one process with batch 8, or two with batch 4 each, make one step per
# epoch with the same 8 images (each image twice), so only the split differs.
_GLOBAL_BATCH = {
    "schedule__max_train_epochs": 3,
    "schedule__seed": 7,
    "learning__lr_scheduler": "constant",
    "output__save_precision": "float",
}


def test_two_processes_train_the_same_lora_as_one_with_the_same_global_batch(tmp_path, tiny_config):
    from lorakit.train.run import train

    one = tmp_path / "one"
    train(tiny_config(**_GLOBAL_BATCH, schedule__train_batch_size=8), one)
    (tmp_path / "two").mkdir()
    two = _two_processes(tiny_config(**_GLOBAL_BATCH, schedule__train_batch_size=4), tmp_path / "two")
    _assert_same_lora(one / "tiny.safetensors", two / "tiny.safetensors")
    steps = [e.data["step"] for e in read_events(two / "events.jsonl") if e.type == "step"]
    assert steps == [1, 2, 3]


def test_a_resumed_two_process_run_gives_each_process_its_own_random_state(tmp_path, tiny_config):
    # Rank dropout draws from each process's own torch generator (the processes' streams differ), so the
    # resumed run only ends where the uninterrupted one did if each process gets its own state back.
    cfg = tiny_config(
        **_GLOBAL_BATCH,
        schedule__train_batch_size=4,
        network__rank_dropout=0.5,
        output__save_every_n_steps=2,
    )
    whole = _two_processes(cfg, tmp_path)
    state = whole / "state" / "step-00000002"
    main_rng, own_rng = load_file(str(state / "rng.safetensors")), load_file(str(state / "rng-rank1.safetensors"))
    assert not torch.equal(main_rng["rng/torch"], own_rng["rng-rank1/torch"])  # restoring the main's would differ

    # The same run stopped after its step-2 save: its folder as it was then (no final LoRA), resumed.
    resumed = tmp_path / "resumed"
    shutil.copytree(whole, resumed)
    (resumed / "tiny.safetensors").unlink()
    _train_cli(["train", "--resume", str(resumed), "--gpus", "2"])
    _assert_same_lora(whole / "tiny.safetensors", resumed / "tiny.safetensors")


def test_image_slots_do_not_depend_on_the_split():
    from collections import Counter

    from lorakit.train.distributed import Team

    # One step of 6 images (example 1 twice): one batch of 6, or two processes' batches of 3 (accumulated: 2
    # micro-steps of 3 in one process) give the same slots, each (example, occurrence) once.
    one = Team(0, 1).image_slots([[1, 0, 1, 2, 3, 4]], 0, Counter())
    seen: Counter[int] = Counter()
    split = [slot for rank in (0, 1) for slot in Team(rank, 2).image_slots([[1, 0, 1], [2, 3, 4]], 0, Counter())]
    accumulated = Team(0, 1).image_slots([[1, 0, 1], [2, 3, 4]], 0, seen)
    accumulated += Team(0, 1).image_slots([[1, 0, 1], [2, 3, 4]], 1, seen)
    assert sorted(one) == sorted(split) == sorted(accumulated) == [(0, 0), (1, 0), (1, 1), (2, 0), (3, 0), (4, 0)]
    # A process's slots count the images of the processes before it in the same step.
    assert Team(1, 2).image_slots([[1, 0], [1, 2]], 0, Counter()) == [(1, 1), (2, 0)]
