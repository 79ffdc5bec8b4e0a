"""The event WebSocket against uvicorn on loopback: live events, replay on reconnect, state pushes."""

from __future__ import annotations

import json
import time

from websockets.sync.client import connect

_pending: dict[int, list] = {}


def _recv(ws, timeout=30.0):
    """The next message; a frame may hold several (a JSON array) when they were waiting together."""
    queue = _pending.setdefault(id(ws), [])
    if not queue:
        frame = json.loads(ws.recv(timeout=timeout))
        queue.extend(frame if isinstance(frame, list) else [frame])
    return queue.pop(0)


def _events_until_finished(ws, job_id, timeout=60.0):
    seqs, jobs = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = _recv(ws)
        if message["type"] == "event" and message["job_id"] == job_id:
            seqs.append(message["event"]["seq"])
            event = message["event"]
            if event["type"] == "status" and event["data"]["state"] in ("completed", "failed", "cancelled"):
                return seqs, jobs
        elif message["type"] == "job":
            jobs.append(message["job"]["state"])
    raise AssertionError("job did not finish")


def test_live_events_in_order_with_state_changes(client, live, runner):
    job = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 20, "seconds": 1.0}}).json()
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job["id"], "since": 0}))
        hello = _recv(ws)
        assert hello["type"] == "subscribed" and hello["job"]["id"] == job["id"]
        seqs, states = _events_until_finished(ws, job["id"])
        while "completed" not in states:  # the job record follows its final status event
            message = _recv(ws)
            if message["type"] == "job":
                states.append(message["job"]["state"])
    assert seqs == list(range(1, len(seqs) + 1))
    assert seqs[-1] == runner.events(job["id"])[-1].seq
    assert "completed" in states  # the job's new state is pushed, not polled


def test_reconnect_gets_exactly_what_was_missed(client, live, runner):
    job = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 30, "seconds": 1.5}}).json()
    seen = []
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job["id"], "since": 0}))
        while len(seen) < 4:
            message = _recv(ws)
            if message["type"] == "event":
                seen.append(message["event"]["seq"])
    time.sleep(0.3)  # events keep coming while the client is away
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job["id"], "since": seen[-1]}))
        rest, _ = _events_until_finished(ws, job["id"])
    assert seen + rest == list(range(1, runner.events(job["id"])[-1].seq + 1))


def test_finished_job_replays_whole_log(client, live, runner):
    job = runner.wait(client.post("/api/jobs", json={"kind": "echo", "params": {}}).json()["id"], 60)
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job.id, "since": 2}))
        assert _recv(ws)["job"]["state"] == "completed"
        seqs, _ = _events_until_finished(ws, job.id)
    assert seqs == [e.seq for e in runner.events(job.id, since=2)]


def test_bad_messages_get_errors_not_a_closed_socket(live):
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send("{nope")
        assert _recv(ws)["error"]["code"] == "bad_json"
        ws.send(json.dumps({"op": "subscribe", "job_id": "missing"}))
        assert _recv(ws)["error"]["code"] == "not_found"
        ws.send(json.dumps({"op": "dance"}))
        assert _recv(ws)["error"]["code"] == "bad_op"
        ws.send(json.dumps({"op": "ping"}))
        assert _recv(ws) == {"type": "pong"}


def test_jobs_feed_pushes_new_jobs(client, live, runner):
    """A job made after the feed's first look at the table is pushed up to its final state.

    The feed's first look is silent and its timing is the server's, so instead of sleeping past it the
    test adds a job, listens until the feed is quiet for 2 s, and adds another until one is pushed.
    """
    made: list[str] = []
    pushed: dict[str, set[str]] = {}

    def done() -> bool:
        return any("completed" in pushed.get(job_id, ()) for job_id in made)

    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "jobs"}))
        deadline = time.monotonic() + 60
        while not done() and time.monotonic() < deadline:
            made.append(client.post("/api/jobs", json={"kind": "echo", "params": {"feed": len(made)}}).json()["id"])
            try:
                while not done():
                    message = _recv(ws, timeout=2.0)
                    if message["type"] == "job":
                        pushed.setdefault(message["job"]["id"], set()).add(message["job"]["state"])
            except TimeoutError:
                pass  # quiet: the job finished before the feed looked; add another
    assert done(), (made, pushed)
