"""A fresh workspace with a Studio store, and small test images."""

from __future__ import annotations

import pytest
from PIL import Image

from lorakit.studio.store import StudioStore
from lorakit.workspace import Workspace


@pytest.fixture
def workspace(tmp_path):
    return Workspace(tmp_path / "ws")


@pytest.fixture
def store(workspace):
    with StudioStore(workspace) as store:
        yield store


@pytest.fixture
def png(tmp_path):
    """``png(i)``: a distinct 64 px PNG file."""

    def make(i: int = 0):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (64, 64), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(path)
        return path

    return make


@pytest.fixture
def character(store):
    store.create_project("Demo", checkpoint="tiny:sd1", base_negatives=["lowres"])
    return store.create_character("Demo", "Mira", design_prompt="1girl, red hair, green eyes")
