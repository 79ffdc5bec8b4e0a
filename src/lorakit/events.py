"""Events out, commands in: the channel between long work (training, tagging, downloads) and its watchers.

Work emits :class:`Event` objects through an :class:`Emitter`, which hands each one to the attached
callbacks (a CLI progress bar, a notebook widget) and appends it to an ``events.jsonl`` file with a
sequence number (:class:`EventLog`). The web server and the notebooks read that file, so a browser that
reconnects, or a server that restarts, can replay exactly what it missed.

Commands travel the other way through :class:`Commands`: set from a thread (a notebook button) or from
another process by appending to a ``commands.jsonl`` inbox (the job runner); the work polls them at safe
points.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The event types every producer uses; payload keys are documented where each is emitted.
STATUS = "status"  # state: starting|running|paused|stopping|completed|failed|cancelled, message
PROGRESS = "progress"  # done, total, unit, rate, eta_s: generic progress for non-training jobs
STEP = "step"  # training: step, total_steps, epoch, loss, avg_loss, lr: {group: lr}, it_s, eta_s, memory_mb
EPOCH = "epoch"  # training: epoch, total_epochs, avg_loss
VALIDATION = "validation"  # training: step, epoch, loss (mean over the held-out images), images
SAMPLE = "sample"  # training: path, prompt, step
CHECKPOINT = "checkpoint"  # training: path, step, epoch, kind: lora|state
WARNING = "warning"  # message, fix
LOG = "log"  # level, message
ERROR = "error"  # code, message, fix
RESULT = "result"  # the job's final output (paths, figures)


@dataclass
class Event:
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    time: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, line: str) -> Event:
        raw = json.loads(line)
        return cls(type=raw["type"], data=raw.get("data", {}), seq=raw.get("seq", 0), time=raw.get("time", 0.0))


class EventLog:
    """An append-only ``events.jsonl``. Sequence numbers continue across restarts (resume appends)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        last = read_events(self.path)
        self._seq = last[-1].seq if last else 0

    @property
    def last_seq(self) -> int:
        return self._seq

    def append(self, type: str, data: dict[str, Any] | None = None) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(type=type, data=data or {}, seq=self._seq, time=time.time())
            # One write() of one line with O_APPEND: readers never see half an event from us, and a
            # crash loses at most the line being written (readers skip a partial last line).
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(event.to_json() + "\n")
                f.flush()
            return event


def read_events(path: str | os.PathLike, since: int = 0) -> list[Event]:
    """Events with ``seq > since``; a partial last line (a writer killed mid-line) is skipped."""
    return list(iter_events(path, since))


def iter_events(path: str | os.PathLike, since: int = 0) -> Iterator[Event]:
    p = Path(path)
    if not p.exists():
        return
    with open(p, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            try:
                event = Event.from_json(line)
            except (json.JSONDecodeError, KeyError):
                continue
            if event.seq > since:
                yield event


Callback = Callable[[Event], None]


class Emitter:
    """Hands events to callbacks and to an optional :class:`EventLog`.

    A callback that raises is logged and kept; it never stops the work that emits.
    """

    def __init__(self, log_path: str | os.PathLike | None = None, callbacks: list[Callback] | None = None):
        self.log = EventLog(log_path) if log_path else None
        self.callbacks: list[Callback] = list(callbacks or [])
        self._seq = self.log.last_seq if self.log else 0

    def add(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def emit(self, type: str, **data: Any) -> Event:
        if self.log:
            event = self.log.append(type, data)
        else:
            self._seq += 1
            event = Event(type=type, data=data, seq=self._seq, time=time.time())
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:  # a broken renderer must not stop training
                log.exception("event callback %r failed on %s", callback, event.type)
        return event


STOP = "stop"  # stop at the next safe point, saving first
SAVE = "save"  # save a checkpoint (LoRA + state) now
SAMPLE_NOW = "sample"  # render samples now
CANCEL = "cancel"  # stop at once without saving


class Commands:
    """Commands in. ``request()`` from any thread; ``send()`` from another process via the inbox file."""

    def __init__(self, inbox: str | os.PathLike | None = None):
        self.inbox = Path(inbox) if inbox else None
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._offset = 0

    def request(self, name: str) -> None:
        with self._lock:
            self._pending.add(name)

    @staticmethod
    def send(inbox: str | os.PathLike, name: str) -> None:
        line = json.dumps({"command": name, "time": time.time()}) + "\n"
        fd = os.open(inbox, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def poll(self) -> set[str]:
        """Return the commands asked for since the last poll and forget them."""
        with self._lock:
            if self.inbox and self.inbox.exists():
                with open(self.inbox, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                self._offset += len(complete)
                for line in complete.decode(errors="replace").splitlines():
                    try:
                        self._pending.add(json.loads(line)["command"])
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue
            pending, self._pending = self._pending, set()
            return pending
