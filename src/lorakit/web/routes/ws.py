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
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lorakit.errors import LorakitError
from lorakit.web.hub import EventHub, Subscriber

router = APIRouter()


def _hub(websocket: WebSocket) -> EventHub:
    app = websocket.app
    if getattr(app.state, "hub", None) is None:
        app.state.hub = EventHub(app.state.runner)
    return app.state.hub


def _error(code: str, message: str, fix: str | None = None) -> dict:
    return {"type": "error", "error": {"code": code, "message": message, "fix": fix, "field": None}}


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

    sender = asyncio.get_running_loop().create_task(pump())
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = json.loads(raw)
                op = message.get("op") if isinstance(message, dict) else None
            except json.JSONDecodeError:
                subscriber.put(_error("bad_json", "That message is not JSON.", 'Send {"op": "subscribe", ...}.'))
                continue
            if op == "subscribe":
                job_id = str(message.get("job_id", ""))
                try:
                    since = max(0, int(message.get("since") or 0))
                    job = await asyncio.to_thread(hub.runner.get, job_id)
                    subscriber.put({"type": "subscribed", "job_id": job_id, "job": json.loads(job.model_dump_json())})
                    await hub.subscribe(subscriber, job_id, since)
                except (LorakitError, ValueError, TypeError) as error:
                    info = error.to_dict() if isinstance(error, LorakitError) else {"message": str(error)}
                    subscriber.put(_error(info.get("code", "invalid"), info["message"], info.get("fix")))
            elif op == "unsubscribe":
                hub.unsubscribe(subscriber, str(message.get("job_id", "")))
            elif op == "jobs":
                hub.watch_jobs(subscriber)
            elif op == "ping":
                subscriber.put({"type": "pong"})
            else:
                subscriber.put(_error("bad_op", f"Unknown op {op!r}.", "Use subscribe, unsubscribe, jobs or ping."))
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
