"""Property-based fuzzing of every documented operation (schemathesis): no input makes the server fail (500)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from lorakit.jobs.runner import JobRunner
from lorakit.web.app import create_app
from lorakit.workspace import Workspace

_root = Path(tempfile.mkdtemp(prefix="lorakit-fuzz-")) / "ws"
_workspace = Workspace(_root)
(_workspace.datasets / "set" / "1_a").mkdir(parents=True)
(_workspace.datasets / "set" / "1_a" / "a.txt").write_text("a, b")
# Paused: fuzzed job requests are queued, never run (a random 'sleep' could take hours).
_app = create_app(_workspace, runner=JobRunner(_workspace, start=False, paused=True))
schema = schemathesis.openapi.from_dict(_app.openapi())
schema.app = _app


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error], headers={"Host": "127.0.0.1"})
