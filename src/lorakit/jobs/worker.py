"""A job's own process: ``python -m lorakit.jobs.worker <job_id> <workspace>``.

It looks the job up, takes the GPU lock when the kind needs the GPU, runs the kind's function with an
Emitter writing ``jobs/<id>/events.jsonl`` and a Commands inbox ``jobs/<id>/commands.jsonl``, and
records the outcome: ``completed``, or ``stopped`` when the function returns ``{"stopped": True, ...}``
(it heard ``stop`` and ended early after saving), ``cancelled`` when a cancel was asked, ``failed``.
SIGTERM (the runner's second step of a cancel) ends the job as cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from lorakit.errors import LorakitError
from lorakit.events import ERROR, RESULT, STATUS, Commands, Emitter
from lorakit.jobs.registry import JobCancelled, JobContext, get_kind
from lorakit.jobs.store import CANCELLED, COMPLETED, FAILED, RUNNING, STOPPED, JobStore
from lorakit.workspace import Workspace, workspace_relative

log = logging.getLogger("lorakit.jobs.worker")

GPU_LOCK = ".gpu.lock"


try:
    import fcntl
except ImportError:  # Windows: the runner's own scheduling is the only GPU lock there
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def gpu_lock(workspace: Workspace, emitter: Emitter) -> Iterator[None]:
    """Hold the workspace's GPU lock (an flock, so it also holds across runners and dies with the process)."""
    if fcntl is None:
        yield
        return
    with open(workspace.root / GPU_LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            emitter.emit(STATUS, state="waiting", message="Waiting for another job to free the GPU.")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _on_sigterm(_signum, _frame) -> None:
    # Cancel escalation: stop the work where it stands. Further SIGTERMs are ignored while we record it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise JobCancelled()


class WorkspaceEmitter(Emitter):
    """A job's emitter: every event is written with workspace-relative paths (checkpoint paths, "Saved ..."
    messages), so the events file, the events route and the WebSocket never show the server's folders."""

    def __init__(self, log_path: Path, root: Path):
        super().__init__(log_path)
        self.root = root

    def emit(self, type: str, **data):
        return super().emit(type, **workspace_relative(data, self.root))


def crash_error(error: BaseException) -> dict:
    return {
        "code": "crash",
        "message": f"The job stopped on an unexpected error: {type(error).__name__}: {error}",
        "fix": "See worker.log in the job's folder. If it happens again, report it with that log.",
        "field": None,
    }


def run_job(job_id: str, root: str) -> int:
    """Run one claimed job to its end; the exit code is 0 unless the job failed."""
    workspace = Workspace(root, create=False)
    store = JobStore(workspace.database_url)
    job = store.get(job_id)
    job_dir = workspace.jobs / job_id
    emitter = WorkspaceEmitter(job_dir / "events.jsonl", workspace.root)
    commands = Commands(job_dir / "commands.jsonl")
    if job.state != RUNNING or job.cancel_requested:
        if store.finish(job_id, CANCELLED):
            emitter.emit(STATUS, state=CANCELLED, message="Cancelled before it started.")
        return 0

    def set_run_dir(path: Path) -> None:
        # Stored workspace-relative: the API shows it as it is (older rows may hold an absolute path).
        store.update(job_id, run_dir=workspace_relative(str(path), workspace.root))

    resume_from = None
    if job.resume_of:
        with contextlib.suppress(LorakitError):
            earlier = store.get(job.resume_of).run_dir
            resume_from = str(workspace.root / earlier) if earlier else None
    ctx = JobContext(job_id, workspace, job_dir, emitter, commands, set_run_dir, resume_from)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        kind = get_kind(job.kind)
        function = kind.load()
        with gpu_lock(workspace, emitter) if kind.gpu else contextlib.nullcontext():
            emitter.emit(STATUS, state=RUNNING, message=kind.help, pid=os.getpid())
            params = kind.validate(job.params)  # checked against the workspace at submit; typed here
            result = workspace_relative(function(params, ctx) or {}, workspace.root)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emitter.emit(RESULT, **result)
        if store.get(job_id).cancel_requested:
            # The work heard the cancel itself and returned early (a trainer stops at a safe point).
            store.finish(job_id, CANCELLED, result=result)
            emitter.emit(STATUS, state=CANCELLED, message="Cancelled.")
            return 0
        if result.get("stopped") is True:
            # The work heard `stop`, saved what it had and returned early: not done, and (for a training job
            # with a saved state) resumable.
            store.finish(job_id, STOPPED, result=result)
            emitter.emit(STATUS, state=STOPPED, message="Stopped before the end.")
            return 0
        store.finish(job_id, COMPLETED, result=result)
        emitter.emit(STATUS, state=COMPLETED, message="Finished.")
        return 0
    except JobCancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        store.finish(job_id, CANCELLED)
        emitter.emit(STATUS, state=CANCELLED, message="Cancelled.")
        return 0
    except LorakitError as error:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emitter.emit(ERROR, **error.to_dict())
        store.finish(job_id, FAILED, error=error.to_dict())
        emitter.emit(STATUS, state=FAILED, message=error.problem)
        return 1
    except BaseException as error:  # the job's bug must still end as a clear 'failed', with the traceback logged
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        traceback.print_exc(file=sys.stderr)
        info = crash_error(error)
        emitter.emit(ERROR, **info)
        store.finish(job_id, FAILED, error=info)
        emitter.emit(STATUS, state=FAILED, message=info["message"])
        return 1
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m lorakit.jobs.worker <job_id> <workspace>\n")
        return 2
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run_job(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
