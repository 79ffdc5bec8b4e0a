"""Helpers for the Flux tests: one thread (the tiny model gains nothing from more) and a small image set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_dataset(folder: Path, count: int = 4, size: tuple[int, int] = (64, 64)) -> Path:
    """``folder/2_kitbot`` with ``count`` PNGs (left half one flat colour) and .txt captions; returns ``folder``."""
    subset = folder / "2_kitbot"
    subset.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    colours = ["red", "blue", "green", "yellow"]
    for i in range(count):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        pixels[:, : size[0] // 2] = (i * 40) % 255
        Image.fromarray(pixels).save(subset / f"img_{i:02d}.png")
        (subset / f"img_{i:02d}.txt").write_text(f"kitbot, robot cat, {colours[i % 4]} background\n")
    return folder
