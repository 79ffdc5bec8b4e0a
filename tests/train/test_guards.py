"""Bad input during training: corrupt images are skipped and reported, a NaN loss stops the run with a
cause and keeps the last checkpoint, a full disk while saving leaves the previous file intact."""

from __future__ import annotations

import errno
import json

import pytest
import torch

from lorakit.errors import TrainingError
from lorakit.events import Emitter, read_events
from lorakit.lora.kohya import load_lora_file
from lorakit.train.run import train

from .conftest import make_dataset

pytestmark = pytest.mark.slow


def test_corrupt_images_are_skipped_and_reported(tmp_path, tiny_config, monkeypatch):
    import lorakit.train.setup as setup

    # The same run also checks the memory pre-flight: pretend the run needs more than the machine has.
    monkeypatch.setattr(setup, "estimate_memory", lambda *a, **k: setup.MemoryEstimate(90_000, 8_000))
    data = make_dataset(tmp_path / "data", count=4)
    subset = data / "2_kitbot"
    (subset / "garbage.png").write_bytes(b"this is not a png at all" * 10)
    good = (subset / "img_00.png").read_bytes()
    (subset / "truncated.png").write_bytes(good[: len(good) // 3])  # header fine, pixels missing
    seen = []
    result = train(tiny_config(data), tmp_path / "run", Emitter(callbacks=[seen.append]))

    assert result["lora"] and result["steps"] > 0
    warnings = " ".join(e.data["message"] for e in seen if e.type == "warning")
    assert "garbage.png" in warnings
    assert "truncated.png" in warnings
    assert "may need about 87.9 GB but only 7.8 GB is free" in warnings
    assert all(e.data["memory_mb"] > 0 for e in seen if e.type == "step")
    assert seen[-1].type == "status" and seen[-1].data["state"] == "completed"


def test_nan_loss_stops_with_a_cause_and_keeps_the_last_checkpoint(tmp_path, tiny_config, monkeypatch):
    import lorakit.train.trainer as trainer

    real_step = trainer.training_step
    calls = []

    def step_that_explodes(*args, **kwargs):
        calls.append(1)
        loss = real_step(*args, **kwargs)
        return torch.tensor(float("nan")) if len(calls) == 3 else loss

    monkeypatch.setattr(trainer, "training_step", step_that_explodes)
    cfg = tiny_config(output__save_every_n_steps=2, learning__learning_rate=1e-2)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError) as caught:
        train(cfg, run_dir)

    assert "nan" in caught.value.problem.lower() and "step 3" in caught.value.problem
    assert "learning rate" in caught.value.fix  # 1e-2 is the likely cause here
    assert "img_" in caught.value.fix  # names the images of the batch
    assert load_lora_file(run_dir / "tiny-step00000002.safetensors").tensors
    assert json.loads((run_dir / "state" / "latest.json").read_text())["step"] == 2
    assert not (run_dir / "tiny.safetensors").exists()
    events = read_events(run_dir / "events.jsonl")
    assert events[-1].data["state"] == "failed"
    assert any(e.type == "error" for e in events)


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tmp_path, tiny_config, monkeypatch):
    import lorakit.fileio as fileio

    full = {"now": False}
    real_fsync = fileio.os.fsync

    def fsync(fd):
        if full["now"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    def disk_fills_after_first_state(event):
        if event.type == "checkpoint" and event.data["kind"] == "state":
            full["now"] = True

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    cfg = tiny_config(output__save_every_n_steps=2, schedule__max_train_epochs=2)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError) as caught:
        train(cfg, run_dir, Emitter(callbacks=[disk_fills_after_first_state]))

    assert "Could not save" in caught.value.problem and "--resume" in caught.value.fix
    previous = load_lora_file(run_dir / "tiny-step00000002.safetensors")
    assert previous.metadata["ss_steps"] == "2"
    assert json.loads((run_dir / "state" / "latest.json").read_text())["step"] == 2
    assert not list(run_dir.rglob("*.tmp"))  # no half-written files left behind


def test_no_readable_image_at_all_is_an_error_not_a_hang(tmp_path, tiny_config):
    data = make_dataset(tmp_path / "data", count=2)
    for png in (data / "2_kitbot").glob("*.png"):
        png.write_bytes(png.read_bytes()[:200])  # headers survive (the plan places them), pixels do not
    with pytest.raises(TrainingError, match="None of the training images could be read"):
        train(tiny_config(data), tmp_path / "run")
