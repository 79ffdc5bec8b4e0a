"""The job runner: a queue persisted in the workspace database, each job in its own process.

Usable from Python without the web server (the notebooks do)::

    runner = JobRunner(Workspace("workspace"))
    job = runner.submit("train", {"config": "configs/my-lora.toml"})
    for event in runner.events(job.id): ...
    runner.wait(job.id)

A background thread starts queued jobs (one GPU job at a time; CPU jobs beside it), notices when a
job's process ends, and carries out cancels (a ``cancel`` command first, SIGTERM after the grace
period, SIGKILL after another). When a runner starts it looks at jobs left ``running``: those whose
process still lives (same pid, same start time) are adopted, the others become ``interrupted``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lorakit.events import CANCEL, ERROR, STATUS, Commands, Event, EventLog, read_events
from lorakit.jobs import process
from lorakit.jobs.registry import get_kind
from lorakit.jobs.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    STOPPED,
    Job,
    JobError,
    JobStore,
)
from lorakit.workspace import WORKSPACE_ENV, Workspace

log = logging.getLogger(__name__)

# Commands a front end may send to a running job (cancel goes through JobRunner.cancel).
JOB_COMMANDS = ("stop", "save", "sample")


class JobRunner:
    """Submit, watch, cancel, retry and resume jobs of one workspace."""

    def __init__(
        self,
        workspace: Workspace | str | os.PathLike | None = None,
        *,
        max_cpu_jobs: int = 2,
        poll_s: float = 0.1,
        start: bool = True,
        paused: bool = False,
    ):
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.store = JobStore(self.workspace.database_url)
        self.max_cpu_jobs = max_cpu_jobs
        self.poll_s = poll_s
        # Paused: jobs are queued and watched, but none is started (maintenance, API fuzzing).
        self.paused = paused
        self._children: dict[str, subprocess.Popen] = {}
        self._cancels: dict[str, tuple[float, float]] = {}  # job id -> (SIGTERM at, SIGKILL at)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.recover()
        if start:
            self.start()

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread that runs the queue (idempotent)."""
        if self._thread and self._thread.is_alive():
            return
        self._closing.clear()
        self._thread = threading.Thread(target=self._loop, name="lorakit-jobs", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop watching. Running jobs keep running; the next runner adopts them."""
        self._closing.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recover(self) -> list[Job]:
        """Adopt jobs whose process still runs; mark the rest interrupted. Returns the interrupted ones."""
        lost = []
        for job in self.store.list(states=(RUNNING,), limit=10_000):
            if job.id in self._children or process.is_alive(job.pid, job.pid_started):
                continue
            if self._end_unfinished(
                job,
                INTERRUPTED,
                "lorakit stopped while this job was running (the server or the computer restarted).",
            ):
                lost.append(job)
        return lost

    # --- the public API ----------------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any] | None = None, *, title: str = "", **links: Any) -> Job:
        """Queue a job of ``kind`` with ``params`` (JSON-able); it starts as soon as its turn comes."""
        spec = get_kind(kind)
        if not spec.available:
            raise JobError(
                f"Jobs of kind {kind!r} are not available in this installation.",
                "Install the extra it needs (pip install 'lorakit[all]') or update lorakit.",
                field="kind",
            )
        # Checked now, so a job that cannot work is refused at once (422 through the API), not failed later.
        # A resume continues from its run folder, so only the form of its old params is checked again.
        checked = spec.validate(params, None if links.get("resume_of") else self.workspace)
        params = checked.model_dump(mode="json", exclude_unset=True)
        job_id = self.store.new_id()
        # The first event is written before the job exists in the table, so no worker can be writing yet.
        EventLog(self.events_path(job_id)).append(STATUS, {"state": QUEUED, "message": "Waiting to start."})
        job = self.store.add(kind, dict(params or {}), gpu=spec.gpu, title=title or spec.help, job_id=job_id, **links)
        self._schedule()
        return self.get(job.id)

    def get(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        job.resumable = self._resumable(job)
        return job

    def list(self, *, states: tuple[str, ...] | None = None, kind: str | None = None, limit: int = 200) -> list[Job]:
        jobs = self.store.list(states=states, kind=kind, limit=limit)
        for job in jobs:
            job.resumable = self._resumable(job)
        return jobs

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job. Cancelling a finished job is a :class:`JobError`."""
        with self._lock:
            job = self.store.get(job_id)
            if job.finished:
                raise JobError(
                    f"Job {job_id} has already {job.state}; there is nothing to cancel.",
                    "Retry it if you want it to run again.",
                )
            queued_cancelled = job.state == QUEUED and self.store.update(
                job_id, only_if_state=QUEUED, state=CANCELLED, finished_at=time.time()
            )
            if queued_cancelled:  # still queued (no runner took it meanwhile): it never starts
                EventLog(self.events_path(job_id)).append(STATUS, {"state": CANCELLED, "message": "Cancelled."})
                return self.get(job_id)
            self.store.update(job_id, cancel_requested=True)
            Commands.send(self._inbox(job_id), CANCEL)
            grace = self.workspace.settings.cancel_grace_s
            now = time.monotonic()
            self._cancels[job_id] = (now + grace, now + 2 * grace)
        self._wake.set()
        return self.get(job_id)

    def send(self, job_id: str, command: str) -> Job:
        """Send ``stop`` (save and end), ``save`` (checkpoint now) or ``sample`` to a running job."""
        if command not in JOB_COMMANDS:
            raise JobError(f"{command!r} is not a job command.", f"Use one of: {', '.join(JOB_COMMANDS)}.")
        job = self.store.get(job_id)
        if job.state != RUNNING:
            raise JobError(f"Job {job_id} is {job.state}, not running.", "Commands go to running jobs only.")
        Commands.send(self._inbox(job_id), command)
        return self.get(job_id)

    def retry(self, job_id: str) -> Job:
        """Queue a new job with the same kind and params as a finished one."""
        job = self.store.get(job_id)
        if not job.finished:
            raise JobError(f"Job {job_id} is still {job.state}.", "Wait for it to finish, or cancel it first.")
        return self.submit(job.kind, job.params, title=job.title, retry_of=job.id)

    def resume(self, job_id: str) -> Job:
        """Continue a job that ended before its end from its last saved state, as a new job.

        The rule: a job is resumable when its kind can resume, it ended before the end (stopped, cancelled,
        failed or interrupted) and its run folder holds a saved state. ``stop`` saves first, so a stopped
        training job is always resumable; ``cancel`` ends at once, so a cancelled job is resumable only if
        it had saved a state before (a checkpoint).
        """
        job = self.get(job_id)
        if job.resumable:
            return self.submit(job.kind, job.params, title=job.title, resume_of=job.id)
        kind = self._kind(job)
        if kind is None or not kind.resumable:
            problem, fix = f"Jobs of kind {job.kind!r} cannot be resumed.", "Retry it to run it again."
        elif job.state == COMPLETED:
            problem, fix = f"Job {job_id} has completed; there is nothing left to resume.", "Retry it to run again."
        elif not job.finished:
            problem, fix = f"Job {job_id} is still {job.state}.", "Stop it first (it saves its state), then resume."
        else:
            problem = f"Job {job_id} ({job.state}) saved no state to continue from."
            fix = "Retry it to start again; use stop rather than cancel to end a job that you want to resume."
        raise JobError(problem, fix)

    def events(self, job_id: str, since: int = 0) -> list[Event]:
        """The job's events with a sequence number above ``since``."""
        self.store.get(job_id)  # unknown ids are an error, not an empty list
        return read_events(self.events_path(job_id), since)

    def follow(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[Event]:
        """Yield the job's events as they come (from ``since``) until it has finished: for notebooks and scripts."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            finished = job.finished
            if finished:
                self._await_last_status(job)  # the closing status event follows the table by a moment
            for event in self.events(job_id, since):
                since = event.seq
                yield event
            if finished:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still running after {timeout} s")
            if not (self._thread and self._thread.is_alive()):
                self.tick()
            time.sleep(self.poll_s)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished; returns it. ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not (self._thread and self._thread.is_alive()):
                self.tick()
            job = self.get(job_id)
            if job.finished:
                self._await_last_status(job)
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
            time.sleep(self.poll_s)

    def _await_last_status(self, job: Job, timeout: float = 5.0) -> None:
        # The database says "finished" just before the final status event is appended: let it land, so
        # whoever waited reads the complete log.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = [e for e in read_events(self.events_path(job.id)) if e.type == STATUS]
            if last and last[-1].data.get("state") == job.state:
                return
            time.sleep(0.02)

    def job_dir(self, job_id: str) -> Path:
        return self.workspace.jobs / job_id

    def events_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "events.jsonl"

    # --- the queue ---------------------------------------------------------------------------------
    def tick(self) -> None:
        """One round: notice ended processes, escalate cancels, start what may start."""
        with self._lock:
            self._reap()
            self._escalate()
            self._schedule()

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.tick()
            except Exception:  # the queue must outlive a bad round (a locked database, a full disk)
                log.exception("job runner round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _schedule(self) -> None:
        if self.paused:
            return
        with self._lock:
            running = self.store.list(states=(RUNNING,), limit=10_000)
            gpu_busy = any(j.gpu for j in running)
            cpu_running = sum(not j.gpu for j in running)
            for job in self.store.queued():
                if job.gpu and gpu_busy:
                    continue
                if not job.gpu and cpu_running >= self.max_cpu_jobs:
                    continue
                if not self.store.update(job.id, only_if_state=QUEUED, state=RUNNING, started_at=time.time()):
                    continue  # another runner took it
                if self._spawn(job):
                    gpu_busy = gpu_busy or job.gpu
                    cpu_running += 0 if job.gpu else 1

    def _spawn(self, job: Job) -> bool:
        job_dir = self.job_dir(job.id)
        job_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env[WORKSPACE_ENV] = str(self.workspace.root)
        # The worker runs in the workspace folder: make sure it imports this same lorakit, installed or not.
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
        command = [sys.executable, "-m", "lorakit.jobs.worker", job.id, str(self.workspace.root)]
        try:
            with open(job_dir / "worker.log", "ab") as worker_log:
                child = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.workspace.root,
                    start_new_session=True,  # survives the server; its own group for clean signals
                )
        except OSError as error:
            self._end_unfinished(job, FAILED, f"The job's process could not start ({error}).")
            return False
        self._children[job.id] = child
        self.store.update(job.id, pid=child.pid, pid_started=process.start_ticks(child.pid))
        return True

    def _reap(self) -> None:
        for job_id, child in list(self._children.items()):
            code = child.poll()
            if code is None:
                continue
            del self._children[job_id]
            self._cancels.pop(job_id, None)
            job = self.store.get(job_id)
            if job.state == RUNNING:
                if code < 0 and not job.cancel_requested:  # killed from outside (kill, out of memory): resumable
                    message = f"The job's process was killed by signal {-code} before it finished."
                    self._end_unfinished(job, INTERRUPTED, message)
                else:  # the process itself gave up without recording why: a failure
                    self._end_unfinished(job, FAILED, f"The job's process exited with code {code} before it finished.")
        # Jobs this runner adopted (or another runner started) are watched through their pid.
        for job in self.store.list(states=(RUNNING,), limit=10_000):
            if job.id in self._children or job.pid is None:
                continue
            if not process.is_alive(job.pid, job.pid_started):
                job = self.store.get(job.id)
                if job.state == RUNNING:
                    self._end_unfinished(job, FAILED, "The job's process ended before it finished.")
                self._cancels.pop(job.id, None)

    def _escalate(self) -> None:
        now = time.monotonic()
        for job_id, (term_at, kill_at) in list(self._cancels.items()):
            job = self.store.get(job_id)
            if job.finished:
                self._cancels.pop(job_id, None)
                continue
            if job.pid is None:
                continue
            if now >= kill_at:
                process.signal_group(job.pid, process.KILL)
                self._cancels.pop(job_id, None)
                if job.id not in self._children:  # not our child: nobody will reap it, so record it here
                    self._end_unfinished(job, CANCELLED, "Cancelled (the job did not stop by itself).")
            elif now >= term_at:
                process.signal_group(job.pid, process.TERMINATE)
                self._cancels[job_id] = (float("inf"), kill_at)

    def _end_unfinished(self, job: Job, state: str, message: str) -> bool:
        """Record that a job ended without its worker saying so (crash, kill, restart)."""
        if job.cancel_requested and state != INTERRUPTED:
            state, message = CANCELLED, "Cancelled."
        resumable = state in (FAILED, INTERRUPTED) and self._has_saved_state(job)
        fix = "Resume it to continue from its last save, or retry it." if resumable else "Retry it."
        if state == FAILED or message.startswith("The job's process was killed"):
            fix = "The computer may have run out of memory, or the process was stopped from outside. " + fix
        error = None if state == CANCELLED else {"code": state, "message": message, "fix": fix, "field": None}
        if not self.store.finish(job.id, state, error=error):
            return False
        events = EventLog(self.events_path(job.id))
        if error:
            events.append(ERROR, error)
        events.append(STATUS, {"state": state, "message": message})
        return True

    def _kind(self, job: Job):
        try:
            return get_kind(job.kind)
        except JobError:
            return None

    def _has_saved_state(self, job: Job) -> bool:
        kind = self._kind(job)
        if kind is None or not kind.resumable or not job.run_dir:
            return False
        run_dir = Path(job.run_dir)
        return kind.has_saved_state(run_dir if run_dir.is_absolute() else self.workspace.root / run_dir)

    def _resumable(self, job: Job) -> bool:
        """See :meth:`resume` for the rule."""
        return job.state in (STOPPED, FAILED, CANCELLED, INTERRUPTED) and self._has_saved_state(job)

    def _inbox(self, job_id: str) -> Path:
        path = self.job_dir(job_id) / "commands.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


__all__ = ["COMPLETED", "FINISHED", "JobRunner"]
