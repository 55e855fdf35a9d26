"""Alembic environment of the case store, run only through ``surveillance.cases.db``.

``db.upgrade`` opens a connection, takes the migration lock and hands the
connection in through ``config.attributes``; migrations then run inside that
transaction (DDL is transactional on both SQLite and PostgreSQL), so a failed
migration leaves the database as it was.
"""

from __future__ import annotations

from alembic import context

from surveillance.cases.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the case store's migrations run through surveillance.cases.db.upgrade(db_url), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    transactional_ddl=True,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
