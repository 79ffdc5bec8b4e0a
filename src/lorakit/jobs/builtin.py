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
from lorakit.jobs.params import EchoParams, FailParams, SleepParams
from lorakit.jobs.registry import JobCancelled, JobContext


def sleep(params: SleepParams, ctx: JobContext) -> dict[str, Any]:
    """Count ``steps`` steps of ``seconds`` total, emitting progress; ``stop`` ends early, ``cancel`` aborts."""
    steps, seconds, payload = params.steps, params.seconds, params.payload
    # A wait before the first event, so watchers can attach first (benchmarks measure only live events).
    delay = params.delay
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


def echo(params: EchoParams, ctx: JobContext) -> dict[str, Any]:
    """Return the params (and write them to the run folder), so tests see the round trip."""
    given = params.model_dump(mode="json")
    run_dir = ctx.job_dir / "out"
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx.set_run_dir(run_dir)
    ctx.emitter.emit("log", level="info", message=f"echo {sorted(given)}")
    return {"params": given, "pid": os.getpid()}


def fail(params: FailParams, ctx: JobContext) -> dict[str, Any]:
    """Fail the way ``how`` says: ``error`` (a user-fixable problem), ``crash`` (a bug) or ``exit`` (process dies)."""
    ctx.emitter.emit(PROGRESS, done=0, total=1, unit="step")
    if params.how == "exit":
        os._exit(params.code)
    if params.how == "crash":
        raise RuntimeError("a deliberate crash")
    raise LorakitError(params.message, "Nothing to fix: it is a test job.")
