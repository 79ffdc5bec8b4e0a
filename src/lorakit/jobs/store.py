"""The jobs table (SQLAlchemy): what each job is, its state, its process and its outcome.

SQLite in the workspace by default (WAL mode, so the server, the notebook and each worker process can
read and write at once); any SQLAlchemy URL (PostgreSQL) works too. State changes that two processes
might race on (starting a queued job, finishing a running one) are conditional updates, so exactly one
of them wins.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, create_engine, event, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from lorakit.errors import LorakitError

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
# Ended early because the user asked it to stop: it saved what it had first (a training job saves its state).
STOPPED = "stopped"
STATES = (QUEUED, RUNNING, COMPLETED, STOPPED, FAILED, CANCELLED, INTERRUPTED)
FINISHED = (COMPLETED, STOPPED, FAILED, CANCELLED, INTERRUPTED)


class JobError(LorakitError):
    """A job cannot be found, started, cancelled or retried as asked."""

    code = "job"


class NotFound(JobError):
    code = "not_found"


class _Base(DeclarativeBase):
    pass


class JobRow(_Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True, default=QUEUED)
    gpu: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The process's start time, so a pid reused by another program after a reboot is not mistaken for ours.
    pid_started: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resume_of: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Job(BaseModel):
    """One job as front ends see it."""

    id: str
    kind: str
    title: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    state: str
    gpu: bool = False
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None
    pid_started: float | None = None
    run_dir: str | None = None
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    cancel_requested: bool = False
    retry_of: str | None = None
    resume_of: str | None = None
    resumable: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def _to_job(row: JobRow) -> Job:
    return Job.model_validate({c.name: getattr(row, c.name) for c in JobRow.__table__.columns})


class JobStore:
    """The jobs table behind a SQLAlchemy engine."""

    def __init__(self, url: str):
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def add(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        gpu: bool = False,
        title: str = "",
        job_id: str | None = None,
        **extra: Any,
    ) -> Job:
        row = JobRow(
            id=job_id or self.new_id(),
            kind=kind,
            title=title,
            params=params,
            state=QUEUED,
            gpu=gpu,
            created_at=time.time(),
            **extra,
        )
        with self._session() as s, s.begin():
            s.add(row)
        return _to_job(row)

    def get(self, job_id: str) -> Job:
        with self._session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"There is no job {job_id!r}.", "List the jobs to see their ids.", field="job_id")
            return _to_job(row)

    def list(self, *, states: tuple[str, ...] | None = None, kind: str | None = None, limit: int = 200) -> list[Job]:
        """Newest first."""
        query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if states:
            query = query.where(JobRow.state.in_(states))
        if kind:
            query = query.where(JobRow.kind == kind)
        with self._session() as s:
            return [_to_job(row) for row in s.scalars(query)]

    def queued(self) -> list[Job]:
        """Queued jobs, oldest first (the order they run in)."""
        query = select(JobRow).where(JobRow.state == QUEUED).order_by(JobRow.created_at)
        with self._session() as s:
            return [_to_job(row) for row in s.scalars(query)]

    def update(self, job_id: str, *, only_if_state: str | tuple[str, ...] | None = None, **fields: Any) -> bool:
        """Set ``fields``; with ``only_if_state`` only when the job is (still) in that state. True if changed."""
        query = update(JobRow).where(JobRow.id == job_id)
        if only_if_state is not None:
            wanted = (only_if_state,) if isinstance(only_if_state, str) else only_if_state
            query = query.where(JobRow.state.in_(wanted))
        with self._session() as s, s.begin():
            return s.execute(query.values(**fields)).rowcount > 0

    def finish(self, job_id: str, state: str, *, error: dict | None = None, result: dict | None = None) -> bool:
        """Move a queued/running job to a finished state (once: a second finisher loses)."""
        return self.update(
            job_id,
            only_if_state=(QUEUED, RUNNING),
            state=state,
            finished_at=time.time(),
            error=error,
            result=result,
        )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
