"""Helpers for the engine tests: a small dataset of real images and a tiny-model config around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # The tiny model's layers are too small to gain from threads; on a shared CPU extra threads only wait.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_dataset(folder: Path, count: int = 4, size: tuple[int, int] = (64, 64)) -> Path:
    """``folder/2_kitbot`` with ``count`` coloured PNGs and their .txt captions; returns ``folder``."""
    subset = folder / "2_kitbot"
    subset.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    colours = ["red", "blue", "green", "yellow", "orange", "purple"]
    for i in range(count):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        pixels[:, : size[0] // 2] = (i * 40) % 255
        Image.fromarray(pixels).save(subset / f"img_{i:02d}.png")
        (subset / f"img_{i:02d}.txt").write_text(f"kitbot, robot cat, {colours[i % len(colours)]} background\n")
    return folder


@pytest.fixture
def tiny_config(tmp_path, tiny_sd1):
    """``tiny_config(**overrides)``: a tiny-demo config on a 4-image dataset, output under tmp_path."""

    def build(dataset: Path | None = None, **overrides):
        from lorakit.config.presets import new_config

        data = dataset or make_dataset(tmp_path / "data")
        values = {
            "model.pretrained_model_name_or_path": str(tiny_sd1),
            "dataset.train_data_dir": str(data),
            "output.output_dir": str(tmp_path / "out"),
            "output.output_name": "tiny",
            "schedule.max_train_epochs": 1,
            "memory.cache_latents": True,
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return new_config("tiny-demo", values)

    return build
