"""Fixtures of the case store tests: the same store on SQLite and PostgreSQL.

Each test gets a database of its own, copied from a template that is migrated
and holds these users once per test session and xdist worker (Argon2 hashing is
slow on purpose, so it is done once): ``ada`` (admin), ``ana`` and ``bob``
(analysts), ``sue`` and ``sam`` (supervisors), ``rex`` (reviewer), all with the
password ``PASSWORD``. PostgreSQL databases are named
``mmsurv_<worker>_<uuid>`` and dropped afterwards, so parallel workers and other
developers' tests never share one. In CI (``CI=true``) an unreachable PostgreSQL
fails the tests instead of skipping them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from sqlalchemy import make_url

from surveillance.cases import CaseStore, CaseSummary
from surveillance.contract import Alerts

#: Same server as ``tests/conftest.py``'s PG_URL (CI provides it).
PG_URL = os.environ.get("MMSURV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct-horse-battery"
USERS = (
    ("ada", "admin"),
    ("ana", "analyst"),
    ("bob", "analyst"),
    ("sue", "supervisor"),
    ("sam", "supervisor"),
    ("rex", "reviewer"),
)
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_conninfo(database: str | None = None) -> str:
    url = make_url(PG_URL).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def pg_url(database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the test server."""
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def pg_admin() -> psycopg.Connection:
    """An autocommit connection to the server's ``test`` database (CREATE/DROP DATABASE)."""
    return psycopg.connect(_pg_conninfo(), autocommit=True, connect_timeout=5)


def create_pg_database(template: str | None = None) -> str:
    """A new, uniquely named database (copied from ``template`` if given)."""
    name = f"mmsurv_{_WORKER}_{uuid.uuid4().hex[:12]}"
    with pg_admin() as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    return name


def drop_pg_database(name: str) -> None:
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """Argon2id with minimal cost for these tests only: the production parameters
    take most of a second per hash on a busy CI machine. Hashes carry their
    parameters, so verification is unaffected."""
    from argon2 import PasswordHasher

    from surveillance.cases import auth

    saved = auth._HASHER
    auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._HASHER = saved


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skips PostgreSQL tests when the server is unreachable, except in CI, where it fails."""
    try:
        with pg_admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is unreachable ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)


def _seed(db_url: str) -> None:
    store = CaseStore(db_url)
    try:
        store.add_user(None, "ada", "admin", PASSWORD)
        for name, role in USERS[1:]:
            store.add_user("ada", name, role, PASSWORD)
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the test users, copied for each test."""
    path = tmp_path_factory.mktemp("cases-template") / "template.db"
    _seed(f"sqlite:///{path}")
    return path


#: Tables of the store, children first (for TRUNCATE and for re-seeding in reverse).
_TABLES = ("comments", "alerts", "cases", "users", "audit_entries", "audit_head", "alembic_version")
_SERIALS = ("users", "cases", "comments")


class PgDatabase:
    """One migrated PostgreSQL database per test session and worker, reset per test.

    Creating a database per test costs about half a second on PostgreSQL, so
    tests share one and :meth:`reset` puts it back to the seeded state: it
    empties every table with triggers off (``session_replication_role``, as the
    superuser the tests connect as) and re-inserts the seeded rows. Commits skip
    the wait for the disk (``synchronous_commit = off``): the tests check
    behaviour, not durability.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = pg_url(name)
        self._seed: dict[str, tuple[list[str], list[tuple]]] = {}

    def snapshot(self) -> None:
        with psycopg.connect(_pg_conninfo(self.name)) as conn:
            for table in _TABLES:
                cur = conn.execute(f"SELECT * FROM {table}")
                cols = [d.name for d in cur.description or ()]
                self._seed[table] = (cols, cur.fetchall())

    def reset(self) -> None:
        with psycopg.connect(_pg_conninfo(self.name)) as conn:
            conn.execute("SET session_replication_role = replica")
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")
            for table in reversed(_TABLES):
                cols, rows = self._seed[table]
                if rows:
                    marks = ", ".join(["%s"] * len(cols))
                    with conn.cursor() as cur:
                        cur.executemany(
                            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows
                        )
            for table in _SERIALS:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            conn.execute("SET session_replication_role = origin")
            conn.execute("ALTER TABLE audit_entries ENABLE TRIGGER USER")


@pytest.fixture(scope="session")
def pg_database(postgres_available: None) -> Iterator[PgDatabase]:
    """This worker's migrated PostgreSQL database with the test users."""
    name = create_pg_database()
    try:
        with pg_admin() as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        database = PgDatabase(name)
        _seed(database.url)
        database.snapshot()
        yield database
    finally:
        drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated case store with the test users, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "cases.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    database: PgDatabase = request.getfixturevalue("pg_database")
    database.reset()
    yield database.url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_available")
    name = create_pg_database()
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture
def store(db_url: str) -> Iterator[CaseStore]:
    """The service layer over :func:`db_url`, packaged configuration."""
    with CaseStore(db_url) as opened:
        yield opened


class AlertFactory:
    """Builds alert rows and tables in the contract's export schema."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def row(self, start_min: float = 0.0, length_min: float = 1.0, **overrides: Any) -> dict:
        """One alert starting ``start_min`` minutes after 10:00 UTC on 2026-03-02."""
        n = next(self._ids)
        start = T0 + dt.timedelta(minutes=start_min)
        row = {
            "alert_id": f"AL-{n:04d}",
            "family": "FRONT_RUNNING",
            "typology": "FR_TRADING_AHEAD",
            "detector": "rule:trading_ahead",
            "symbol": "BTC-USDT",
            "account_id": "AMM-1",
            "entity_id": "ENT-AMM",
            "window_start": start,
            "window_end": start + dt.timedelta(minutes=length_min),
            "score": 60.0,
            "severity": "MEDIUM",
            "order_ids": [f"O-{n}"],
            "trade_ids": [f"T-{n}"],
            "explanation": "AMM bought 2 s before a large client buy at the same level",
            "detector_version": "1.0",
            "params_hash": "abc123",
            "features": '{"lead_ms": {"value": 2000, "baseline": 50000}}',
            "date": start.date().isoformat(),
        }
        row.update(overrides)
        if "typology" in overrides and "family" not in overrides:
            from surveillance.contract import Typology

            row["family"] = Typology(row["typology"]).family.value
        return row

    @staticmethod
    def table(rows: list[dict]) -> pa.Table:
        return Alerts.from_pylist(rows)


@pytest.fixture
def alerts() -> AlertFactory:
    """Factory of contract alert rows (``.row(...)``) and tables (``.table(rows)``)."""
    return AlertFactory()


@pytest.fixture
def open_case(store: CaseStore, alerts: AlertFactory) -> Callable[..., CaseSummary]:
    """Creates a case from one fresh alert (its own entity) and returns its summary.

    ``open_case(severity="LOW", assign_to="ana")`` assigns it (IN_REVIEW) as sue.
    """
    counter = itertools.count(1)

    def make(severity: str = "MEDIUM", assign_to: str | None = None, **kw: Any) -> CaseSummary:
        row = alerts.row(severity=severity, entity_id=f"ENT-{next(counter)}", **kw)
        summary = store.ingest_alerts(alerts.table([row]))
        case = store.case_summary(summary.case_ids[0])
        if assign_to:
            case = store.assign("sue", case.id, case.version, assign_to)
        return case

    return make
