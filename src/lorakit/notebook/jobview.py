"""Watching a job from a widget: its events read from the job's log (so a kernel restart loses nothing),
a progress bar with ETA, and the job's error as problem + fix. A background thread polls while the job runs;
tests call :meth:`JobView.poll` and :meth:`JobView.wait` directly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import ipywidgets as W

from lorakit.events import ERROR, PROGRESS, STATUS, STEP, WARNING, Event
from lorakit.notebook import kit


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class JobView:
    """Follows one job of the session's runner and hands each event to ``on_event``."""

    def __init__(self, session, status: kit.Status, on_event: Callable[[Event], None] | None = None):
        self.session = session
        self.status = status
        self.on_event = on_event
        self.bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="34em"))
        self.label = W.HTML()
        self.box = W.HBox([self.bar, self.label])
        self.job_id: str | None = None
        self.seq = 0
        self.state: str | None = None
        self._thread: threading.Thread | None = None
        # poll() runs on the watcher thread and on the caller's (attach, wait): one at a time, each event once.
        self._lock = threading.Lock()

    def attach(self, job_id: str, *, watch: bool = True) -> None:
        with self._lock:
            self.job_id, self.seq, self.state = job_id, 0, None
        self.bar.value, self.bar.max = 0, 1
        self.poll()
        if watch and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._watch, name=f"lorakit-nb-{job_id}", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        job_id = self.job_id
        while self.job_id == job_id:
            try:
                if self.poll():
                    return
            except Exception:  # a widget update must never kill the watcher silently mid-run
                kit.log.exception("watching job %s failed", job_id)
            time.sleep(0.5)

    def poll(self) -> bool:
        """Read the job's new events and show them; True once the job has finished."""
        if self.job_id is None:
            return True
        runner = self.session.runner
        with self._lock:
            job = runner.get(self.job_id)
            for event in runner.events(self.job_id, self.seq):
                if event.seq <= self.seq:
                    continue
                self.seq = event.seq
                self._show(event)
            self.state = job.state
        if job.finished and job.error:
            self.status.error(_as_error(job.error))
        elif job.finished:
            self.status.set("ok" if job.state == "completed" else "warn", f"Job {job.id} {job.state}.")
        return job.finished

    def _show(self, event: Event) -> None:
        data = event.data
        if event.type in (STEP, PROGRESS):
            done = data.get("step", data.get("done")) or 0
            total = data.get("total_steps", data.get("total")) or 0
            if total:
                self.bar.max = max(1, int(total))
                self.bar.value = min(int(done), self.bar.max)
            eta = eta_text(data.get("eta_s"))
            rate = data.get("it_s")
            parts = [f"{done}/{total}" if total else str(done)]
            if rate:
                parts.append(f"{rate:.2f} it/s")
            if eta:
                parts.append(f"about {eta} left")
            self.label.value = " · ".join(parts)
        elif event.type == STATUS and data.get("message"):
            busy = data.get("state") in ("queued", "starting", "running")
            self.status.set("busy" if busy else "info", data["message"])
        elif event.type == WARNING:
            self.status.set("warn", data.get("message", ""), data.get("fix"))
        elif event.type == ERROR:
            self.status.error(_as_error(data))
        if self.on_event is not None:
            self.on_event(event)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the job has finished (its events all shown); returns its state."""
        if self.job_id is None:
            raise RuntimeError("no job attached")
        self.session.runner.wait(self.job_id, timeout=timeout)
        self.poll()
        return self.state or ""


def _as_error(data: dict):
    from lorakit.errors import LorakitError

    return LorakitError(str(data.get("message") or "The job failed."), data.get("fix"))
