"""The event WebSocket ``/ws``: subscribe to jobs, get their events live and what you missed.

Client -> server (JSON text frames)::

    {"op": "subscribe", "job_id": "ab12...", "since": 41}   # events with seq > 41, then live ones
    {"op": "unsubscribe", "job_id": "ab12..."}
    {"op": "jobs"}                                           # every job's state changes
    {"op": "ping"}

Server -> client (a frame holds one message, or a JSON array of messages when several are waiting):
``{"type": "subscribed", "job_id", "job"}``, ``{"type": "event", "job_id",
"event": {"seq", "type", "data", "time"}}``, ``{"type": "job", "job"}`` on state changes,
``{"type": "resync", "job_id"}`` (too slow: subscribe again with your last seq), ``{"type": "error",
"error": {...}}``, ``{"type": "pong"}``.

A frame the server cannot act on (binary, not JSON, nested too deeply, ``NaN``/``Infinity``, wrong
types, an unknown op) is answered with an ``error`` message and the socket stays open. ``since``
applies to the live events too: a client that already has events up to 41 never gets them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lorakit.errors import LorakitError
from lorakit.web.hub import EventHub, Subscriber

router = APIRouter()
log = logging.getLogger("lorakit.web.ws")


def _hub(websocket: WebSocket) -> EventHub:
    app = websocket.app
    if getattr(app.state, "hub", None) is None:
        app.state.hub = EventHub(app.state.runner)
    return app.state.hub


def _error(code: str, message: str, fix: str | None = None) -> dict:
    # Text from the client may hold lone surrogates, which cannot be sent as UTF-8: escape them.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"type": "error", "error": {"code": code, "message": message, "fix": fix, "field": None}}


class BadMessage(Exception):
    """A frame the server cannot act on: answered with an error message, the socket stays open."""

    def __init__(self, code: str, message: str, fix: str):
        super().__init__(message)
        self.code, self.message, self.fix = code, message, fix


USAGE = 'Send JSON text such as {"op": "subscribe", "job_id": "ab12cd34ef56", "since": 0}.'
MAX_SINCE = 2**63 - 1


def _reject_constant(name: str) -> None:
    raise BadMessage("bad_json", f"{name} is not a JSON number.", "Send a whole number of 0 or more.")


def parse_frame(message: dict) -> dict:
    """The JSON object in one received ASGI message, or :class:`BadMessage`."""
    if message.get("text") is None:
        raise BadMessage("bad_frame", "Binary frames are not understood here.", USAGE)
    try:
        data = json.loads(message["text"], parse_constant=_reject_constant)
    except RecursionError:
        raise BadMessage("bad_json", "That message is nested too deeply.", USAGE) from None
    except ValueError:
        raise BadMessage("bad_json", "That message is not JSON.", USAGE) from None
    if not isinstance(data, dict):
        raise BadMessage("bad_message", "A message must be a JSON object.", USAGE)
    return data


def _job_id(data: dict) -> str:
    job_id = data.get("job_id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= 64 or not (job_id.isascii() and job_id.isprintable()):
        raise BadMessage("invalid", "'job_id' must be a job's id (text).", "Take the id from GET /api/jobs.")
    return job_id


def _since(data: dict) -> int:
    since = data.get("since")
    if since is None:
        return 0
    if isinstance(since, bool) or not isinstance(since, int | float) or since != since or since % 1:
        raise BadMessage("invalid", "'since' must be a whole number.", "Send the last sequence number you got, or 0.")
    return int(min(max(since, 0), MAX_SINCE))


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    hub = _hub(websocket)
    subscriber = Subscriber()

    async def pump() -> None:
        while True:
            first = await subscriber.queue.get()
            more = []
            # A client that fell behind gets what is waiting in one frame (a JSON array): one send instead
            # of hundreds lets it catch up, instead of falling further behind.
            while len(more) < 500 and not subscriber.queue.empty():
                more.append(subscriber.queue.get_nowait())
            await websocket.send_text(f"[{first},{','.join(more)}]" if more else first)
            for job_id in list(subscriber.overflowed):
                subscriber.overflowed.discard(job_id)
                await websocket.send_text(json.dumps({"type": "resync", "job_id": job_id}))

    async def handle(data: dict) -> None:
        op = data.get("op")
        if op == "subscribe":
            job_id, since = _job_id(data), _since(data)
            try:
                job = await asyncio.to_thread(hub.runner.get, job_id)
            except LorakitError as error:
                info = error.to_dict()
                raise BadMessage(info.get("code") or "invalid", info["message"], info.get("fix") or USAGE) from None
            subscriber.put({"type": "subscribed", "job_id": job_id, "job": json.loads(job.model_dump_json())})
            await hub.subscribe(subscriber, job_id, since)
        elif op == "unsubscribe":
            hub.unsubscribe(subscriber, _job_id(data))
        elif op == "jobs":
            hub.watch_jobs(subscriber)
        elif op == "ping":
            subscriber.put({"type": "pong"})
        else:
            shown = ascii(op)[:80] if isinstance(op, str) else "missing" if op is None else "not text"
            raise BadMessage("bad_op", f"Unknown op ({shown}).", "Use subscribe, unsubscribe, jobs or ping.")

    sender = asyncio.get_running_loop().create_task(pump())
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                await handle(parse_frame(message))
            except BadMessage as bad:
                subscriber.put(_error(bad.code, bad.message, bad.fix))
            except Exception:  # a bug must cost the client one answer, not its connection
                log.exception("WebSocket message failed")
                subscriber.put(_error("internal", "The server could not handle that message.", USAGE))
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
