"""Engines, transactions and migrations of the case store, on SQLite and PostgreSQL.

Two rules make concurrent writers safe on both databases:

- Every write happens in one transaction that first takes the audit chain's head
  lock (``SELECT ... FOR UPDATE`` of the ``audit_head`` row on PostgreSQL;
  ``BEGIN IMMEDIATE`` on SQLite, which takes the database's write lock before the
  first read). Writers therefore queue, each sees the previous one's commit, and
  the hash chain can never fork.
- Migrations run programmatically (:func:`upgrade`), under the same kind of lock,
  so two processes bringing a new database to head at once do not collide. No
  ``alembic.ini`` is needed: the scripts ship inside the package.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from surveillance.errors import InputError

MIGRATIONS = Path(__file__).with_name("migrations")
#: Key of the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK = 0x6D6D7375  # "mmsu"
_BEGIN_OPTION = "mmsurv_begin"
SUPPORTED = ("sqlite", "postgresql")


def normalise_url(db_url: str) -> str:
    """The URL with PostgreSQL pinned to the psycopg 3 driver this project ships.

    Raises
    ------
    InputError
        If the URL is not a SQLAlchemy URL of SQLite or PostgreSQL.
    """
    try:
        url = make_url(db_url)
    except ArgumentError as exc:
        raise InputError(
            f"case store URL {db_url!r} is not a database URL; expected sqlite:///PATH "
            "or postgresql+psycopg://USER@HOST:PORT/DB"
        ) from exc
    if url.get_backend_name() not in SUPPORTED:
        raise InputError(
            f"case store URL {db_url!r}: database {url.get_backend_name()!r} is not supported; "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        )
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(db_url: str) -> Engine:
    """An engine with the transaction semantics the store relies on.

    SQLite: the driver's own transaction handling is switched off so that the
    store can say ``BEGIN IMMEDIATE`` for writes; WAL journal lets readers carry on
    while one process writes; foreign keys are enforced; a writer waits up to 30 s
    for the lock rather than failing.
    """
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            # The file holds password hashes and case decisions: owner only.
            path.touch(mode=0o600, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_events(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's writer lock.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``; on PostgreSQL the
    caller takes the audit head's row lock first (see ``audit.lock_head``).
    Commits on success, rolls back on any exception.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """An ORM session inside :func:`write_transaction`; flushed and committed on success."""
    with (
        write_transaction(engine) as conn,
        Session(bind=conn, expire_on_commit=False, autoflush=True) as session,
    ):
        yield session
        session.flush()


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """An ORM session for reading; closing it ends its transaction.

    Closing (not rolling back) keeps the loaded rows readable after the block.
    """
    with Session(bind=engine, expire_on_commit=False) as session:
        yield session


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration built in code: the packaged scripts, no ini file."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this version of the package (read once)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the case store ships at least one migration"
    return head


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the migrations shipped with this package."""
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """The revision a database is at; ``None`` when it is empty."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db_url: str | Engine, revision: str = "head") -> str | None:
    """Bring the database at ``db_url`` to ``revision`` (default: the newest).

    Safe to call from several processes at once: the migration runs under the
    writer lock (SQLite) or an advisory lock (PostgreSQL), and a process that
    finds the database already at the revision does nothing.

    Returns
    -------
    str or None
        The revision the database is at afterwards.
    """
    engine = db_url if isinstance(db_url, Engine) else make_engine(db_url)
    try:
        with write_transaction(engine) as conn:
            if not is_sqlite(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if not isinstance(db_url, Engine):
            engine.dispose()


def downgrade(db_url: str | Engine, revision: str = "base") -> str | None:
    """Take the database down to ``revision`` (``base``: empty). For tests and rollbacks."""
    engine = db_url if isinstance(db_url, Engine) else make_engine(db_url)
    try:
        with write_transaction(engine) as conn:
            if not is_sqlite(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            command.downgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if not isinstance(db_url, Engine):
            engine.dispose()
