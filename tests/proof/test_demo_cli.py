"""`lorakit demo` (what `make run` runs): it prints the LoRA, the grid and the judge's scores; a missing shapes
model or an unknown network is said with a fix, before any training."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lorakit.proof import base_model_path

NO_MODEL = not (base_model_path() / "model_index.json").is_file()


@pytest.mark.slow
@pytest.mark.skipif(NO_MODEL, reason="the shapes base model is not built")
def test_the_demo_prints_the_grid_and_the_scores(lorakit, tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "ws"))
    code, out = lorakit(["demo", "--steps", "10", "--samples", "2"])
    assert code == 0, out
    grid = Path(re.search(r"Before/after grid: (\S+\.png)", out).group(1))
    lora = Path(re.search(r"Your demo LoRA: (\S+\.safetensors)", out).group(1))
    assert grid.is_file() and lora.is_file() and grid.parent == lora.parent
    assert grid.is_relative_to(tmp_path / "ws")
    assert re.search(r"concept in \d+% of 2 samples with the trigger word", out)
    assert re.search(r"in \d+% without it", out) and "Concept " in out


def test_a_missing_shapes_model_is_said_before_training(lorakit, tmp_path, monkeypatch):
    import lorakit.proof as proof

    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setattr(proof, "base_model_path", lambda: tmp_path / "nowhere")
    code, out = lorakit(["demo", "--steps", "1"])
    assert code != 0 and "shapes model" in out and "build_shapes_world.py base" in out
    assert not list((tmp_path / "ws").rglob("*.safetensors"))


def test_an_unknown_network_is_refused(lorakit, tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "ws"))
    code, out = lorakit(["demo", "--network", "loha"])
    assert code != 0 and "--network lora or locon" in out
