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
