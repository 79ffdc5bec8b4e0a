"""Starting a run: what this machine cannot run is refused before a run folder exists, a failed start leaves
no folder behind, and ``--resume`` of a finished run says it is done instead of training again."""

from __future__ import annotations

import pytest
import torch

from lorakit.config.io import save_config
from lorakit.config.validate import validate
from lorakit.errors import TrainingError


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_8bit_optimizer_on_a_machine_without_cuda_is_a_validation_problem(tiny_config, no_gpu):
    report = validate(tiny_config(optimizer__optimizer_type="AdamW8bit"))
    assert [p.field for p in report.problems] == ["optimizer.optimizer_type"]
    assert "needs an NVIDIA GPU with bitsandbytes" in report.problems[0].problem
    assert 'optimizer_type = "AdamW"' in report.problems[0].fix
    assert validate(tiny_config(optimizer__optimizer_type="AdamW")).ok  # what the tiny demo uses runs anywhere


def test_missing_optimizer_package_is_a_validation_problem(tiny_config, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "prodigyopt" else real(name, *a))
    report = validate(tiny_config(optimizer__optimizer_type="Prodigy", learning__learning_rate=1.0))
    assert [p.field for p in report.problems] == ["optimizer.optimizer_type"]
    assert "needs prodigyopt, which is not installed" in report.problems[0].problem


def test_train_refuses_before_making_a_run_folder(tmp_path, tiny_config, no_gpu, lorakit):
    cfg = tiny_config(optimizer__optimizer_type="AdamW8bit")
    path = save_config(cfg, tmp_path / "gpu.toml")
    code, out = lorakit(["train", str(path)])
    assert code == 2
    assert out.count("needs an NVIDIA GPU with bitsandbytes") == 1  # said once
    assert not (tmp_path / "out").exists()


def test_a_failed_start_leaves_no_run_folder(tmp_path, tiny_config, monkeypatch, lorakit):
    from lorakit.train import run as train_run

    def broken_setup(self):
        raise TrainingError("The base model could not be loaded.", "Check the model folder.")

    monkeypatch.setattr(train_run.Run, "setup", broken_setup)
    path = save_config(tiny_config(), tmp_path / "tiny.toml")
    for _ in range(2):
        code, out = lorakit(["train", str(path)])
        assert code == 2 and out.count("The base model could not be loaded.") == 1
        assert not (tmp_path / "out" / "tiny").exists() and not (tmp_path / "out" / "tiny-2").exists()


@pytest.mark.slow
def test_resume_of_a_finished_run_says_it_is_done(tmp_path, tiny_config, lorakit):
    cfg = tiny_config(schedule__max_train_steps=1, schedule__max_train_epochs=None)
    path = save_config(cfg, tmp_path / "tiny.toml")
    run_dir = tmp_path / "run"
    code, out = lorakit(["train", str(path), "--output", str(run_dir)])
    assert code == 0, out
    lora = run_dir / "tiny.safetensors"
    before = (lora.read_bytes(), lora.stat().st_mtime_ns, (run_dir / "events.jsonl").read_text())
    code, out = lorakit(["train", "--resume", str(run_dir)])
    assert code == 0
    assert "This run already finished" in out and str(lora) in out and "network.network_weights" in out
    assert (lora.read_bytes(), lora.stat().st_mtime_ns, (run_dir / "events.jsonl").read_text()) == before
    # The core refuses it too (the notebook and any other caller of resume()), before anything is written.
    from lorakit.train.run import resume

    with pytest.raises(TrainingError, match="already finished"):
        resume(run_dir)
    assert (lora.read_bytes(), lora.stat().st_mtime_ns, (run_dir / "events.jsonl").read_text()) == before
