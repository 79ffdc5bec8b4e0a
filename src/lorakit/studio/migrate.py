"""Bring the Studio tables of a database up to the latest Alembic revision (done when a store opens)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

SCRIPTS = Path(__file__).parent / "migrations"


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


def upgrade(engine: Engine) -> None:
    """Apply the missing revisions. Two processes opening a new database at once: the loser finds it done."""
    from alembic import command

    if current(engine) == head():
        return
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "head")
    except OperationalError:
        if current(engine) != head():
            raise
