"""Jobs: create, list, get, cancel, command, retry, resume, events, and a training run's sample images."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from lorakit.errors import PathError
from lorakit.fileio import open_inside
from lorakit.jobs.registry import all_kinds
from lorakit.jobs.store import STATES, Job
from lorakit.web.deps import RunnerDep, WorkspaceDep
from lorakit.web.errors import ApiError

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class NewJob(BaseModel):
    kind: str = Field(description="What to run: see GET /api/jobs/kinds.", max_length=64)
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The job's parameters: each kind's JSON schema is in GET /api/jobs/kinds. They are checked "
        "when the job is submitted (paths inside the workspace, inputs present, a training config that loads).",
    )
    title: str = Field("", max_length=200, description="A name to show in the jobs list.")


class JobCommand(BaseModel):
    command: str = Field(
        description="stop (save the state, then end as `stopped`, resumable), save (checkpoint now) or sample "
        "(render samples now)."
    )


class EventOut(BaseModel):
    seq: int
    type: str
    data: dict[str, Any]
    time: float


class KindOut(BaseModel):
    name: str
    help: str
    gpu: bool
    resumable: bool
    available: bool
    params: dict[str, Any] = Field(description="The JSON schema of the kind's parameters.")


@router.get("/kinds", response_model=list[KindOut], summary="The kinds of job this installation can run")
def list_kinds() -> list[dict]:
    return [kind.describe() for kind in all_kinds()]


@router.post(
    "",
    response_model=Job,
    status_code=201,
    summary="Queue a job",
    description="Parameters that cannot work (a missing file, a wrong type, an unknown kind) answer 422 naming the "
    "field, e.g. `params.config`.",
)
def create_job(body: NewJob, runner: RunnerDep) -> Job:
    return runner.submit(body.kind, body.params, title=body.title)


@router.get("", response_model=list[Job], summary="List jobs, newest first")
def list_jobs(
    runner: RunnerDep,
    state: list[str] | None = Query(None, description=f"Only these states: {', '.join(STATES)}."),
    kind: str | None = Query(None, max_length=64),
    limit: int = Query(200, ge=1, le=1000),
) -> list[Job]:
    return runner.list(states=tuple(state) if state else None, kind=kind, limit=limit)


@router.get("/{job_id}", response_model=Job, summary="One job")
def get_job(job_id: str, runner: RunnerDep) -> Job:
    return runner.get(job_id)


@router.post(
    "/{job_id}/cancel",
    response_model=Job,
    summary="Cancel a queued or running job",
    description="Ends the job now, without saving: it is resumable afterwards only if it had saved a state "
    "before. To end a training job so that it can go on later, send the `stop` command instead.",
)
def cancel_job(job_id: str, runner: RunnerDep) -> Job:
    return runner.cancel(job_id)


@router.post("/{job_id}/command", response_model=Job, summary="Send stop/save/sample to a running job")
def command_job(job_id: str, body: JobCommand, runner: RunnerDep) -> Job:
    return runner.send(job_id, body.command)


@router.post("/{job_id}/retry", response_model=Job, status_code=201, summary="Run a finished job again")
def retry_job(job_id: str, runner: RunnerDep) -> Job:
    return runner.retry(job_id)


@router.post(
    "/{job_id}/resume",
    response_model=Job,
    status_code=201,
    summary="Continue a stopped training job from its saved state",
    description="Allowed when the job's `resumable` is true: a training job that is stopped, cancelled, failed or "
    "interrupted and saved a state. Otherwise 409, saying why.",
)
def resume_job(job_id: str, runner: RunnerDep) -> Job:
    return runner.resume(job_id)


@router.get("/{job_id}/events", response_model=list[EventOut], summary="The job's events after a sequence number")
def job_events(
    job_id: str, runner: RunnerDep, since: int = Query(0, ge=0), limit: int = Query(10_000, ge=1, le=100_000)
) -> Response:
    events = [
        {"seq": e.seq, "type": e.type, "data": e.data, "time": e.time} for e in runner.events(job_id, since)[:limit]
    ]
    # Written directly (the shape is EventOut's): a run's 100,000 step events would spend seconds in per-item
    # validation. A NaN or infinite number (a diverged loss) becomes null, which every JSON reader accepts.
    try:
        body = json.dumps(events, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        body = json.dumps(_finite(events), ensure_ascii=False, allow_nan=False, default=str)
    return Response(body, media_type="application/json")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# A sample's file name as the trainer writes it (``<name>_<step>_<index>.png``): one name, no folder part.
SAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,199}\.(png|jpg|jpeg|webp)$", re.IGNORECASE)
SAMPLE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def _stream(fd: int):
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


@router.get(
    "/{job_id}/samples/{name}",
    summary="A sample image a training job made",
    description="The file `name` from the `samples/` folder of the job's run folder (the `sample` events name "
    "them: `path`'s last part). Only that folder of a run inside the workspace is served, shown in the page "
    "(not as a download).",
    response_class=StreamingResponse,
    responses={200: {"content": {"image/png": {}}}},
)
def job_sample(
    runner: RunnerDep,
    workspace: WorkspaceDep,
    job_id: str,
    name: str = Path(max_length=210, description="The image's file name, e.g. `tiny-demo_000010_00.png`."),
) -> StreamingResponse:
    job = runner.get(job_id)
    if not SAMPLE_NAME.match(name) or ".." in name:
        raise ApiError(
            "invalid",
            f"{name!r} is not a sample image's name.",
            "Use the file name from a sample event.",
            field="name",
        )
    if not job.run_dir:
        raise ApiError(
            "not_found", "This job has no run folder yet.", "Wait until it has made a sample.", field="job_id"
        )
    run_dir = job.run_dir
    if os.path.isabs(run_dir):  # older rows hold an absolute path
        if not workspace.contains(run_dir):
            raise ApiError("forbidden", "This job's run folder is outside the workspace.", None, field="job_id")
        run_dir = workspace.relative(run_dir)
    rel = (PurePosixPath(run_dir) / "samples" / name).as_posix()
    try:
        target = workspace.resolve_inside(rel, must_exist=True)
        fd = open_inside(target, workspace.root)
    except (PathError, FileNotFoundError):
        raise ApiError(
            "not_found", f"This run has no sample {name!r}.", "Use a name from the job's sample events.", field="name"
        ) from None
    size = os.fstat(fd).st_size
    media = SAMPLE_TYPES[name.rsplit(".", 1)[1].lower()]
    headers = {
        "Content-Length": str(size),
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(_stream(fd), media_type=media, headers=headers)
