"""Bring the Studio tables of a database up to the latest Alembic revision (done when a store opens)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

try:
    import fcntl
except ImportError:  # Windows: only the in-process lock
    fcntl = None  # type: ignore[assignment]

SCRIPTS = Path(__file__).parent / "migrations"
LOCK_FILE = ".lorakit-studio-migrate.lock"
# Alembic keeps its running migration in module globals: one migration at a time in a process.
_PROCESS_LOCK = threading.Lock()


def _config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": "studio_alembic_version"})
        return context.get_current_revision()


def upgrade(engine: Engine, lock_folder: str | os.PathLike) -> None:
    """Apply the missing revisions, one opener at a time: an flock on ``lock_folder/LOCK_FILE`` (the
    workspace) across processes, a lock within this one. Those who waited find the database done.

    SQLite (pysqlite) commits each CREATE TABLE at once, so without the lock a second opener could see
    half a migration: tables made, no version recorded yet.
    """
    from alembic import command

    if current(engine) == head():
        return
    with _PROCESS_LOCK, _file_lock(Path(lock_folder) / LOCK_FILE):
        if current(engine) == head():
            return
        with engine.begin() as connection:
            command.upgrade(_config(connection), "head")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
