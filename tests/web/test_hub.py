"""The event hub on its own: replay from a long log while events keep coming, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import json
import threading

from lorakit.events import EventLog
from lorakit.jobs.runner import JobRunner
from lorakit.web.hub import EventHub, Subscriber, _tail_position


def test_replay_and_live_events_join_without_gaps(tmp_path):
    with JobRunner(tmp_path / "ws", start=False, paused=True) as runner:
        job = runner.submit("sleep", {})  # queued, never started: we write its log ourselves
        log = EventLog(runner.events_path(job.id))
        for i in range(5_000):
            log.append("progress", {"done": i})
        offset, last = _tail_position(log.path)
        assert last == log.last_seq and offset == log.path.stat().st_size

        async def scenario() -> list[int]:
            hub = EventHub(runner, poll_s=0.002)
            early, late = Subscriber(limit=100_000), Subscriber(limit=100_000)
            writer = threading.Thread(target=lambda: [log.append("progress", {"more": i}) for i in range(2000)])
            writer.start()
            await hub.subscribe(early, job.id, since=0)
            await hub.subscribe(late, job.id, since=4_990)
            writer.join()
            await asyncio.sleep(0.3)
            await hub.close()
            return [
                [json.loads(s.queue.get_nowait())["event"]["seq"] for _ in range(s.queue.qsize())]
                for s in (early, late)
            ]

        early, late = asyncio.run(scenario())
        total = log.last_seq
        assert early == list(range(1, total + 1))
        assert late == list(range(4_991, total + 1))


def test_a_client_too_slow_is_told_to_resync(tmp_path):
    with JobRunner(tmp_path / "ws", start=False, paused=True) as runner:
        job = runner.submit("sleep", {})
        log = EventLog(runner.events_path(job.id))

        async def scenario():
            hub = EventHub(runner, poll_s=0.002)
            slow = Subscriber(limit=5)
            await hub.subscribe(slow, job.id, since=log.last_seq)
            for i in range(20):
                log.append("progress", {"done": i})
            await asyncio.sleep(0.2)
            attached = slow in hub.tailers[job.id].subscribers if job.id in hub.tailers else False
            await hub.close()
            return slow, attached

        slow, attached = asyncio.run(scenario())
        assert slow.overflowed == {job.id} and not attached
        first = [json.loads(slow.queue.get_nowait())["event"]["seq"] for _ in range(slow.queue.qsize())]
        assert first == [2, 3, 4, 5, 6]  # what fitted, in order; the rest comes from a new subscribe
