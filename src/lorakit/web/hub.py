"""Live job events for WebSocket clients: one tailer per job, shared by all of its subscribers.

A tailer polls its job's ``events.jsonl`` (a stat every few milliseconds, then a read of only the new
bytes) and hands each new event to every subscriber's queue. A subscriber first gets what it missed
(events after the sequence number it sent) read from the file, then the live ones: both happen on the
event loop without an ``await`` in between, so nothing is lost or sent twice. Job state changes (all
jobs) come from a light poll of the jobs table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from lorakit.events import STATUS, Event, read_events
from lorakit.jobs.runner import JobRunner

log = logging.getLogger("lorakit.web.hub")

Message = dict[str, Any]


def encode(message: Message) -> str:
    return json.dumps(message, default=str, ensure_ascii=False)


class Subscriber:
    """One WebSocket connection's outbox (bounded: a client too slow to keep up is asked to resync)."""

    def __init__(self, limit: int = 20_000):
        # Messages are queued already encoded: one event is encoded once for all of its subscribers.
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=limit)
        self.overflowed: set[str] = set()
        # Jobs whose missed events are being read: live events wait here, so they come after the replay.
        self.holding: dict[str, list[str]] = {}
        # Per job, the last sequence number the client already has: older events are never sent again.
        self.since: dict[str, int] = {}

    def put(self, message: Message | str) -> bool:
        try:
            self.queue.put_nowait(message if isinstance(message, str) else encode(message))
            return True
        except asyncio.QueueFull:
            return False


def _tail_position(path: Path) -> tuple[int, int]:
    """Where a log's complete lines end, and the last one's sequence number: read from the file's end only,
    so opening a long training log (hundreds of thousands of events) costs no more than a short one."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return 0, 0
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    end = tail.rfind(b"\n")
    if end < 0:
        return 0, 0
    offset = size - len(tail) + end + 1
    start = tail.rfind(b"\n", 0, end) + 1
    try:
        return offset, Event.from_json(tail[start:end].decode("utf-8")).seq
    except (ValueError, KeyError, UnicodeDecodeError):  # a damaged last line: count the whole log
        events = read_events(path)
        return offset, events[-1].seq if events else 0


class Tailer:
    def __init__(self, hub: EventHub, job_id: str, path: Path):
        self.hub = hub
        self.job_id = job_id
        self.path = path
        self.subscribers: set[Subscriber] = set()
        self.offset, self.last_seq = _tail_position(path)
        self.task: asyncio.Task | None = None

    def read_new(self) -> list[Event]:
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return []
        if size <= self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        events = []
        for line in chunk[:end].splitlines():
            try:
                event = Event.from_json(line.decode("utf-8"))
            except (ValueError, KeyError, UnicodeDecodeError):
                continue
            if event.seq > self.last_seq:
                self.last_seq = event.seq
                events.append(event)
        return events

    async def run(self) -> None:
        while self.subscribers:
            events = self.read_new()
            for event in events:
                self.hub.dispatch(self, event)
                if event.type == STATUS:
                    await self.hub.push_job(self.job_id, self.subscribers)
            await asyncio.sleep(self.hub.poll_s)
        self.hub.tailers.pop(self.job_id, None)


def event_message(job_id: str, event: Event) -> str:
    body = {"seq": event.seq, "type": event.type, "data": event.data, "time": event.time}
    return encode({"type": "event", "job_id": job_id, "event": body})


class EventHub:
    """All tailers of one server, plus the jobs-table watcher."""

    def __init__(self, runner: JobRunner, poll_s: float = 0.01, jobs_poll_s: float = 0.5):
        self.runner = runner
        self.poll_s = poll_s
        self.jobs_poll_s = jobs_poll_s
        self.tailers: dict[str, Tailer] = {}
        self.feed: set[Subscriber] = set()
        self._feed_task: asyncio.Task | None = None

    async def subscribe(self, subscriber: Subscriber, job_id: str, since: int = 0) -> int:
        """Queue what the subscriber missed, then the live events; returns the number replayed.

        The subscriber joins the live tail at once, its live events held back while the missed ones are
        read (in a thread, so a long log never stalls other clients): nothing is lost, sent twice or
        reordered.
        """
        tailer = self.tailers.get(job_id)
        if tailer is None:
            tailer = Tailer(self, job_id, self.runner.events_path(job_id))
            self.tailers[job_id] = tailer
        upto = tailer.last_seq
        subscriber.since[job_id] = since
        held: list[str] = []
        subscriber.holding[job_id] = held
        tailer.subscribers.add(subscriber)
        if tailer.task is None or tailer.task.done():
            tailer.task = asyncio.get_running_loop().create_task(tailer.run())
        try:
            missed = await asyncio.to_thread(read_events, tailer.path, since) if since < upto else []
        finally:
            subscriber.holding.pop(job_id, None)
        replay = [event_message(job_id, e) for e in missed if e.seq <= upto]
        for message in (*replay, *held):
            subscriber.put(message)
        return len(replay)

    def unsubscribe(self, subscriber: Subscriber, job_id: str | None = None) -> None:
        tailers = [self.tailers[job_id]] if job_id in self.tailers else ([] if job_id else list(self.tailers.values()))
        for tailer in tailers:
            tailer.subscribers.discard(subscriber)
            subscriber.since.pop(tailer.job_id, None)
        if job_id is None:
            self.feed.discard(subscriber)

    def dispatch(self, tailer: Tailer, event: Event) -> None:
        message = event_message(tailer.job_id, event)
        for subscriber in list(tailer.subscribers):
            if event.seq <= subscriber.since.get(tailer.job_id, 0):
                continue  # the client said it already has this one
            held = subscriber.holding.get(tailer.job_id)
            if held is not None:
                held.append(message)
            elif not subscriber.put(message):
                # Too slow: drop it from this job and tell it to subscribe again from its last sequence.
                tailer.subscribers.discard(subscriber)
                subscriber.overflowed.add(tailer.job_id)

    async def push_job(self, job_id: str, subscribers: set[Subscriber]) -> None:
        job = await asyncio.to_thread(self.runner.get, job_id)
        message = encode({"type": "job", "job": json.loads(job.model_dump_json())})
        for subscriber in list(subscribers):
            subscriber.put(message)

    def watch_jobs(self, subscriber: Subscriber) -> None:
        """Send this subscriber every job's state changes (the jobs list page)."""
        self.feed.add(subscriber)
        if self._feed_task is None or self._feed_task.done():
            self._feed_task = asyncio.get_running_loop().create_task(self._watch_jobs())

    async def _watch_jobs(self) -> None:
        seen: dict[str, str] = {}
        first = True
        while self.feed:
            try:
                jobs = await asyncio.to_thread(self.runner.list, limit=500)
            except Exception:  # a busy database: try again next round
                log.exception("jobs feed poll failed")
                jobs = []
            for job in jobs:
                if seen.get(job.id) != job.state:
                    seen[job.id] = job.state
                    if not first:
                        message = encode({"type": "job", "job": json.loads(job.model_dump_json())})
                        for subscriber in list(self.feed):
                            subscriber.put(message)
            first = False
            await asyncio.sleep(self.jobs_poll_s)

    async def close(self) -> None:
        tasks = [t.task for t in self.tailers.values() if t.task] + ([self._feed_task] if self._feed_task else [])
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tailers.clear()
        self.feed.clear()
