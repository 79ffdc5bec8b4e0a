"""Small job functions that exercise the runner without models: sleep, echo, fail.

They are real jobs (own process, events, cancel, GPU lock) used by tests, benchmarks and
``lorakit doctor``-style checks, so nothing about the runner is tested through a mock.
"""

from __future__ import annotations

import os
import time
from typing import Any

from lorakit.errors import LorakitError
from lorakit.events import PROGRESS, STOP
from lorakit.jobs.registry import JobCancelled, JobContext


def sleep(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Count ``steps`` steps of ``seconds`` total, emitting progress; ``stop`` ends early, ``cancel`` aborts."""
    steps = max(1, min(int(params.get("steps", 10)), 1_000_000))
    seconds = max(0.0, min(float(params.get("seconds", 1.0)), 24 * 3600.0))
    payload = str(params.get("payload", ""))[:10_000]
    # A wait before the first event, so watchers can attach first (benchmarks measure only live events).
    delay = max(0.0, min(float(params.get("delay", 0.0)), 600.0))
    waited = 0.0
    while waited < delay:
        if "cancel" in ctx.commands.poll():
            raise JobCancelled()
        time.sleep(0.05)
        waited += 0.05
    for done in range(1, steps + 1):
        pending = ctx.commands.poll()
        if "cancel" in pending:
            raise JobCancelled()
        if STOP in pending:
            return {"steps": done - 1, "stopped": True}
        time.sleep(seconds / steps)
        ctx.emitter.emit(PROGRESS, done=done, total=steps, unit="step", payload=payload)
    return {"steps": steps, "stopped": False}


def echo(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Return the params (and write them to the run folder), so tests see the round trip."""
    run_dir = ctx.job_dir / "out"
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx.set_run_dir(run_dir)
    ctx.emitter.emit("log", level="info", message=f"echo {sorted(params)}")
    return {"params": params, "pid": os.getpid()}


def fail(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fail the way ``how`` says: ``error`` (a user-fixable problem), ``crash`` (a bug) or ``exit`` (process dies)."""
    how = params.get("how", "error")
    ctx.emitter.emit(PROGRESS, done=0, total=1, unit="step")
    if how == "exit":
        os._exit(int(params.get("code", 3)))
    if how == "crash":
        raise RuntimeError("a deliberate crash")
    raise LorakitError(str(params.get("message", "This job failed on purpose.")), "Nothing to fix: it is a test job.")
