"""Event latency from a job's emit to WebSocket clients, with 1 and with 50 subscribers to one job.

A real job process (the ``sleep`` kind) emits progress events at a steady rate; ``lorakit serve`` runs
in its own process on loopback; asyncio WebSocket clients (this process) subscribe to the job before
its first event. Latency is the client's receive time
minus the event's own ``time`` (stamped by the worker when it emitted; same machine, same clock).
Every subscriber must receive every event exactly once, in order. The figures are absolute latencies
(p50, p95, max, in ms) against the target: p95 < 100 ms, and 50 subscribers without a lost or reordered
event.

Reference, in the same run: what a client without the WebSocket would otherwise do, poll
``GET /api/jobs/<id>/events?since=<last seq>`` (the REST API's way to follow a job). Its latency is set
mostly by the polling interval (about half of it on average), so it is reported as absolute figures for
the interval used (``--poll-s``, 0.25 s by default), next to the round trip of one poll request (the floor
any polling interval adds to), never as a ratio against the WebSocket.

    .venv/bin/python benchmarks/bench_ws_events.py [--events 400] [--rate 100] [--subscribers 50] [--poll-s 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 100.0


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


async def _subscriber(url: str, job_id: str, out: list, ready: asyncio.Event, count: list) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"op": "subscribe", "job_id": job_id, "since": 0}))
        async for raw in ws:
            frame = json.loads(raw)
            for message in frame if isinstance(frame, list) else [frame]:
                if _handle(message, out, ready, count):
                    return


def _handle(message: dict, out: list, ready: asyncio.Event, count: list) -> bool:
    """Record one message; True once the job's final status arrived."""
    if message["type"] == "subscribed":
        count[0] += 1
        if count[0] == count[1]:
            ready.set()
    if message["type"] != "event":
        return False
    event = message["event"]
    out.append((event["seq"], (time.time() - event["time"]) * 1000, event["time"]))
    return event["type"] == "status" and event["data"].get("state") in ("completed", "failed", "cancelled")


async def _poller(client, job_id: str, out: list, poll_s: float, round_trips: list) -> None:
    since = 0
    while True:
        sent = time.perf_counter()
        events = (await client.get(f"/api/jobs/{job_id}/events", params={"since": since})).json()
        round_trips.append((time.perf_counter() - sent) * 1000)
        now = time.time()
        for event in events:
            out.append((event["seq"], (now - event["time"]) * 1000, event["time"]))
            since = event["seq"]
            if event["type"] == "status" and event["data"].get("state") in ("completed", "failed"):
                return
        await asyncio.sleep(poll_s)


async def _run(base: str, ws_url: str, subscribers: int, events: int, rate: float, poll_s: float | None):
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        # The job waits a few seconds before its first event, so that every client is attached first.
        params = {"steps": events, "seconds": events / rate, "delay": 3.0 + subscribers * 0.05}
        job = (await client.post("/api/jobs", json={"kind": "sleep", "params": params})).json()
        results = [[] for _ in range(subscribers)]
        polled: list = []
        round_trips: list[float] = []
        ready, count = asyncio.Event(), [0, subscribers]
        tasks = [asyncio.create_task(_subscriber(ws_url, job["id"], out, ready, count)) for out in results]
        if poll_s is not None:
            tasks.append(asyncio.create_task(_poller(client, job["id"], polled, poll_s, round_trips)))
        await asyncio.wait_for(ready.wait(), timeout=60)
        attached = time.time()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=events / rate + 120)
        expected = [e["seq"] for e in (await client.get(f"/api/jobs/{job['id']}/events")).json()]
    return results, (polled, round_trips), expected, attached


def _summary(results: list[list], expected: list[int], attached: float) -> dict:
    intact = all([seq for seq, _, _ in out] == expected for out in results)
    # Live latency only: events emitted before every client had subscribed arrive as replays.
    latencies = [ms for out in results for _, ms, emitted in out if emitted > attached]
    return {
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(_p95(latencies), 2),
        "max_ms": round(max(latencies), 1),
        "events_each": len(expected),
        "all_intact": intact,
    }


def _wait_up(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second the job emits")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--poll-s", type=float, default=0.25, help="the polling reference's interval")
    args = parser.parse_args()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(tempfile.mkdtemp(prefix="lorakit-bench-ws-")) / "ws"
    # The server runs in its own process, as `lorakit serve` does: the clients here do not share its GIL.
    command = [sys.executable, "-m", "lorakit.cli.main", "serve", "--port", str(port), "--workspace", str(root)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    try:
        _wait_up(base)
        first = _run(base, ws_url, 1, args.events, args.rate, args.poll_s)
        one, (polled, trips), expected_one, t1 = asyncio.run(first)
        many, _, expected_many, t2 = asyncio.run(_run(base, ws_url, args.subscribers, args.events, args.rate, None))
    finally:
        server.terminate()
        server.wait(timeout=30)

    single, crowd = _summary(one, expected_one, t1), _summary(many, expected_many, t2)
    reference = _summary([polled], expected_one, t1)
    figures = {
        "events": args.events,
        "rate_per_s": args.rate,
        "ws_1_p50_ms": single["p50_ms"],
        "ws_1_p95_ms": single["p95_ms"],
        "ws_1_max_ms": single["max_ms"],
        f"ws_{args.subscribers}_p50_ms": crowd["p50_ms"],
        f"ws_{args.subscribers}_p95_ms": crowd["p95_ms"],
        f"ws_{args.subscribers}_max_ms": crowd["max_ms"],
        f"ws_{args.subscribers}_all_intact": crowd["all_intact"] and single["all_intact"],
        "poll_interval_s": args.poll_s,
        "poll_p50_ms": reference["p50_ms"],
        "poll_p95_ms": reference["p95_ms"],
        "poll_round_trip_p50_ms": round(statistics.median(trips), 2),
        "target_p95_ms": TARGET_MS,
        "meets_target": crowd["p95_ms"] < TARGET_MS and crowd["all_intact"],
    }
    print(f"{'measure':<34}{'value':>12}")
    for key, value in figures.items():
        print(f"{key:<34}{value!s:>12}")
    print(json.dumps({"bench": "ws_events", **figures}))


if __name__ == "__main__":
    main()
