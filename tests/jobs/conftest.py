"""A job runner over a fresh workspace, shared by a module's tests (each job is a real process)."""

from __future__ import annotations

import pytest

from lorakit.jobs.runner import JobRunner
from lorakit.workspace import Workspace


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("jobs") / "ws")
    settings = ws.settings
    settings.cancel_grace_s = 1.0
    ws.save_settings(settings)
    with JobRunner(ws, poll_s=0.05) as runner:
        yield runner
