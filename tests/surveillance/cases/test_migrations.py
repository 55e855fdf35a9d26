"""Migrations: an empty database to head and back, on both databases."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from surveillance.cases import CaseStore, upgrade
from surveillance.cases.db import current_revision, downgrade, head_revision, make_engine
from surveillance.cases.models import Base
from surveillance.errors import InputError

TABLES = {"alembic_version", "alerts", "audit_entries", "audit_head", "cases", "comments", "users"}


def test_upgrade_takes_an_empty_database_to_head(empty_db_url: str) -> None:
    assert upgrade(empty_db_url) == head_revision()


def test_upgrade_creates_the_models_schema(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert (tables, diff) == (TABLES, [])


def test_upgrade_of_a_database_at_head_changes_nothing(db_url: str) -> None:
    with CaseStore(db_url) as store:
        entries = store.audit_entries()
    assert upgrade(db_url) == head_revision()
    with CaseStore(db_url) as store:
        assert store.audit_entries() == entries


def test_downgrade_to_base_empties_the_database(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    engine = make_engine(empty_db_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_the_store_migrates_on_first_use(empty_db_url: str) -> None:
    with CaseStore(empty_db_url) as store:
        assert store.verify_chain().ok and store.list_cases().total == 0


def test_two_processes_migrating_at_once_both_succeed(empty_db_url: str) -> None:
    code = (
        "import sys; from surveillance.cases import upgrade; print('ready', flush=True); "
        "sys.stdin.readline(); print(upgrade(sys.argv[1]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, empty_db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"
    child.stdin.write("go\n")
    child.stdin.flush()
    mine = upgrade(empty_db_url)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert [mine, out.strip()] == [head_revision()] * 2


def test_a_new_sqlite_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    CaseStore(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_database_from_a_newer_release_is_refused(db_url: str) -> None:
    with CaseStore(db_url) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(InputError, match="9999_future, which this version of mmsurv does not"):
        CaseStore(db_url)
