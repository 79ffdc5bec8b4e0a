"""A fresh workspace per test with the notebook session pointed at it (credentials kept in tmp too)."""

from __future__ import annotations

import shutil

import pytest

from lorakit.data.scan import sample_dataset_path
from lorakit.notebook import state


@pytest.fixture
def nb_session(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "home"))
    state.reset()
    session = state.session(tmp_path / "ws")
    yield session
    state.reset()


@pytest.fixture
def sample_session(nb_session):
    """A session whose dataset is a copy of the bundled sample images, on the built-in tiny model."""
    shutil.copytree(sample_dataset_path(), nb_session.workspace.datasets / "kitbot")
    nb_session.remember(dataset="datasets/kitbot", base_model="tiny:sd1", family="sd1", trigger_word="kitbot")
    return nb_session
