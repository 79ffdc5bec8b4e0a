"""Alembic environment for the Studio tables: run on the connection :mod:`lorakit.studio.migrate` passes in.

Only the ``studio_*`` tables are this script's business; its version table is ``studio_alembic_version``, so
other parts of lorakit can use Alembic in the same database without clashing.
"""

from alembic import context

from lorakit.studio.models import Base

VERSION_TABLE = "studio_alembic_version"


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return type_ != "table" or name.startswith("studio_")


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_object=_include,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
