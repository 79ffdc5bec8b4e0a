"""Kill -9 a training process after a checkpoint, resume it, and end with the same weights as a run that
was never interrupted (same seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from lorakit.config.io import save_config
from lorakit.lora.kohya import load_lora_file
from lorakit.train.run import resume, train

pytestmark = pytest.mark.slow


def _wait_for_state(run_dir, process, timeout=240.0) -> int:
    latest = run_dir / "state" / "latest.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if latest.exists():
            return json.loads(latest.read_text())["step"]
        if process.poll() is not None:
            raise AssertionError(f"training exited early:\n{process.stderr.read().decode()[-3000:]}")
        time.sleep(0.02)
    raise AssertionError("no state was saved in time")


def test_killed_run_resumes_to_the_same_weights(tmp_path, tiny_config):
    cfg = tiny_config(
        schedule__max_train_epochs=2,  # 8 steps; the kill comes after the first state (step 2)
        output__save_every_n_steps=2,
        network__dim=4,
        network__alpha=4.0,
        optimizer__optimizer_type="AdamW",
        learning__lr_scheduler="cosine",
        dataset__flip_aug=True,
        captions__shuffle_caption=True,
        captions__caption_tag_dropout_rate=0.2,
    )
    reference = train(cfg, tmp_path / "reference")

    config_path = save_config(cfg, tmp_path / "train.toml")
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "lorakit.cli.main", "train", str(config_path), "--output", str(killed_dir)]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        saved_step = _wait_for_state(killed_dir, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert saved_step < 8
    assert not (killed_dir / "tiny.safetensors").exists()

    resumed = resume(killed_dir)
    assert resumed["steps"] == reference["steps"] == 8

    want = load_lora_file(reference["lora"]).tensors
    got = load_lora_file(resumed["lora"]).tensors
    assert want.keys() == got.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6, msg=key)
    # The weights really moved: a resume that silently restarted from zero would not match anyway,
    # but make sure the comparison is not between two untrained files.
    assert any(float(v.abs().max()) > 0 for k, v in want.items() if "lora_up" in k)


def test_commands_save_and_stop_then_resume(tmp_path, tiny_config):
    from lorakit.events import Commands, Emitter, read_events

    commands = Commands()

    def controller(event):
        if event.type == "step" and event.data["step"] == 1:
            commands.request("save")
        if event.type == "step" and event.data["step"] == 3:
            commands.request("stop")

    def broken(event):
        raise RuntimeError("a renderer bug")  # must never stop training

    run_dir = tmp_path / "run"
    cfg = tiny_config(schedule__max_train_epochs=2)  # 8 steps
    stopped = train(cfg, run_dir, Emitter(callbacks=[controller, broken]), commands)
    assert stopped["stopped"] and stopped["steps"] == 3
    assert sorted(p.name for p in run_dir.glob("*.safetensors")) == [
        "tiny-step00000001.safetensors",  # "save" is handled before step 2
        "tiny-step00000003.safetensors",  # "stop" saves first
    ]
    assert read_events(run_dir / "events.jsonl")[-1].data["state"] == "stopped"

    finished = resume(run_dir)
    assert finished["steps"] == 8 and (run_dir / "tiny.safetensors").exists()
    steps = [e.data["step"] for e in read_events(run_dir / "events.jsonl") if e.type == "step"]
    assert steps == list(range(1, 9))  # the resumed run continues the same event log
