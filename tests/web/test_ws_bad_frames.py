"""Frames that used to kill the WebSocket (Infinity, deep nesting, binary, wrong types) get an error message and
the socket lives on; `since` also filters live events. Against uvicorn on loopback."""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import connect

DEEP = 100_000


def _messages(ws, timeout=30.0):
    frame = json.loads(ws.recv(timeout=timeout))
    return frame if isinstance(frame, list) else [frame]


def _next(ws):
    return _messages(ws)[0]


@pytest.fixture(scope="module")
def finished_job(client, runner):
    return runner.wait(client.post("/api/jobs", json={"kind": "echo", "params": {}}).json()["id"], 60).id


def _bad_frames(job_id: str) -> list[tuple[str | bytes, str]]:
    def sub(since: str) -> str:
        return '{"op": "subscribe", "job_id": "' + job_id + '", "since": ' + since + "}"

    return [
        (sub("Infinity"), "bad_json"),
        (sub("-Infinity"), "bad_json"),
        (sub("NaN"), "bad_json"),
        (sub("1e400"), "invalid"),  # JSON's way to spell a float infinity
        (sub("1.5"), "invalid"),
        (sub('"12"'), "invalid"),
        (sub("true"), "invalid"),
        (sub("[1]"), "invalid"),
        (sub("{}"), "invalid"),
        ("[" * DEEP + "]" * DEEP, "bad_json"),
        ('{"op": ' * DEEP + "1" + "}" * DEEP, "bad_json"),
        (b"\x00\x01binary", "bad_frame"),
        (json.dumps({"op": "ping"}).encode(), "bad_frame"),  # JSON, but in a binary frame
        ("{nope", "bad_json"),
        ("", "bad_json"),
        ("[]", "bad_message"),
        ("42", "bad_message"),
        ('"subscribe"', "bad_message"),
        ("null", "bad_message"),
        ("{}", "bad_op"),
        ('{"op": 5}', "bad_op"),
        ('{"op": ["subscribe"]}', "bad_op"),
        ('{"op": "x' + "y" * 100_000 + '"}', "bad_op"),
        ('{"op": "\\ud800"}', "bad_op"),
        ('{"op": "subscribe"}', "invalid"),
        ('{"op": "subscribe", "job_id": 5}', "invalid"),
        ('{"op": "subscribe", "job_id": ["a"]}', "invalid"),
        ('{"op": "subscribe", "job_id": "\\ud800"}', "invalid"),
        ('{"op": "subscribe", "job_id": "' + "a" * 10_000 + '"}', "invalid"),
        ('{"op": "subscribe", "job_id": "nope"}', "not_found"),
        ('{"op": "unsubscribe", "job_id": {"a": 1}}', "invalid"),
    ]


def test_each_bad_frame_gets_an_error_and_the_socket_lives(live, finished_job):
    with connect(live.ws_url, open_timeout=10, max_size=None) as ws:
        for frame, code in _bad_frames(finished_job):
            ws.send(frame)
            reply = _next(ws)
            assert reply["type"] == "error" and reply["error"]["code"] == code, (str(frame)[:60], reply)
            assert len(reply["error"]["message"]) < 300
            ws.send(json.dumps({"op": "ping"}))
            assert _next(ws) == {"type": "pong"}, str(frame)[:60]
        # Still a working socket: a good subscribe replays the job.
        ws.send(json.dumps({"op": "subscribe", "job_id": finished_job, "since": 0}))
        assert _next(ws)["type"] == "subscribed"


def test_since_is_clamped_and_accepts_whole_floats(live, finished_job, runner):
    last = runner.events(finished_job)[-1].seq
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": finished_job, "since": -3}))
        assert _next(ws)["type"] == "subscribed"
        seqs = []
        while len(seqs) < last:
            seqs += [m["event"]["seq"] for m in _messages(ws) if m["type"] == "event"]
        assert seqs == list(range(1, last + 1))
        ws.send(json.dumps({"op": "subscribe", "job_id": finished_job, "since": float(last - 1)}))
        assert _next(ws)["type"] == "subscribed"
        assert [m["event"]["seq"] for m in _messages(ws)] == [last]


def test_since_filters_live_events_too(client, live, runner):
    # The job waits before its first event, so every event past `since` arrives live, not from the replay.
    job = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 12, "seconds": 1.2, "delay": 1.0}})
    job_id = job.json()["id"]
    since = 8
    seqs: list[int] = []
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "subscribe", "job_id": job_id, "since": since}))
        replayed_upto = runner.events(job_id)[-1].seq
        deadline = time.monotonic() + 60
        done = False
        while not done and time.monotonic() < deadline:
            for message in _messages(ws):
                if message["type"] == "event":
                    seqs.append(message["event"]["seq"])
                    event = message["event"]
                    done = done or (event["type"] == "status" and event["data"]["state"] == "completed")
    assert done
    assert replayed_upto < since  # the subscribe came before event `since` existed
    assert seqs == list(range(since + 1, runner.events(job_id)[-1].seq + 1))
