"""The audit trail: every change recorded, hash-chained, tampering detected."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from surveillance.cases import CaseStore, CaseSummary
from surveillance.cases.audit import entry_hash

OpenCase = Callable[..., CaseSummary]


def _busy(store: CaseStore, open_case: OpenCase) -> int:
    """Some workflow activity; returns the number of audit entries."""
    case = open_case(severity="LOW", assign_to="ana")
    case = store.escalate("ana", case.id, case.version, "same pattern as last week")
    store.comment("bob", case.id, "agree with escalation")
    store.close_case("sue", case.id, case.version, "CONDUCT_REMEDIATED", "desk retrained")
    return len(store.audit_entries())


def _tamper(store: CaseStore, *statements: str) -> None:
    """Run ``statements`` on the audit table with its append-only triggers out of the way."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_entries DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_a_change_records_actor_action_before_and_after(
    store: CaseStore, open_case: OpenCase
) -> None:
    case = open_case()
    store.assign("sue", case.id, case.version, "ana")
    entry = store.audit_entries(case.id)[-1]
    assert (entry.actor, entry.action, entry.case_id) == ("sue", "case.assigned", case.id)
    assert entry.before == {"assignee": None, "status": "NEW", "version": case.version}
    assert entry.after == {"assignee": "ana", "status": "IN_REVIEW", "version": case.version + 1}


def test_entries_carry_utc_times(store: CaseStore, open_case: OpenCase) -> None:
    open_case()
    assert all(e.at.endswith("Z") and len(e.at) == 27 for e in store.audit_entries())


def test_each_entry_links_to_the_one_before(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    entries = store.audit_entries()
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_the_hash_is_recomputable_with_standard_json(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    for entry in store.audit_entries():
        canonical = json.dumps(
            entry.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == entry.hash


def test_an_intact_chain_verifies(store: CaseStore, open_case: OpenCase) -> None:
    n = _busy(store, open_case)
    verdict = store.verify_chain()
    assert (verdict.ok, verdict.entries, verdict.head_seq) == (True, n, n)


def test_an_edited_entry_is_named(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    _tamper(store, """UPDATE audit_entries SET actor = 'mallory' WHERE seq = 8""")
    verdict = store.verify_chain()
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 8, "edited")


def test_an_edited_and_rehashed_entry_is_named(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    entry = store.audit_entries()[7]
    forged = {**entry.content(), "actor": "mallory"}
    _tamper(
        store,
        f"UPDATE audit_entries SET actor = 'mallory', hash = '{entry_hash(forged)}' "
        f"WHERE seq = {entry.seq}",
    )
    verdict = store.verify_chain()
    assert (verdict.first_bad_seq, verdict.problem) == (entry.seq, "edited")


def test_a_deleted_entry_is_named(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    _tamper(store, "DELETE FROM audit_entries WHERE seq = 8")
    verdict = store.verify_chain()
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 8, "deleted")


def test_a_deleted_last_entry_is_named(store: CaseStore, open_case: OpenCase) -> None:
    n = _busy(store, open_case)
    _tamper(store, f"DELETE FROM audit_entries WHERE seq = {n}")
    verdict = store.verify_chain()
    assert (verdict.first_bad_seq, verdict.problem) == (n, "deleted")


def test_an_inserted_entry_is_named(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    before = store.audit_entries()[6]  # seq 7
    forged = {
        **before.content(),
        "prev_hash": before.hash,
        "actor": "mallory",
        "action": "case.commented",
        "before": None,
        "after": {"body": "all fine"},
        "details": None,
    }
    _tamper(
        store,
        "UPDATE audit_entries SET seq = -seq WHERE seq >= 8",
        "UPDATE audit_entries SET seq = 1 - seq WHERE seq < 0",
        "INSERT INTO audit_entries (seq, at, actor, action, case_id, before, after, details, "
        f"prev_hash, hash) VALUES (8, '{forged['at']}', 'mallory', 'case.commented', "
        f"{before.case_id if before.case_id is not None else 'NULL'}, NULL, "
        f"'{json.dumps(forged['after'], sort_keys=True, separators=(',', ':'))}', NULL, "
        f"'{before.hash}', '{entry_hash(forged)}')",
    )
    verdict = store.verify_chain()
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 8, "inserted")


def test_an_entry_appended_past_the_head_is_named(store: CaseStore, open_case: OpenCase) -> None:
    n = _busy(store, open_case)
    last = store.audit_entries()[-1]
    forged = {**last.content(), "prev_hash": last.hash, "actor": "mallory"}
    _tamper(
        store,
        "INSERT INTO audit_entries (seq, at, actor, action, case_id, before, after, details, "
        f"prev_hash, hash) SELECT {n + 1}, at, 'mallory', action, case_id, before, after, "
        f"details, '{last.hash}', '{entry_hash(forged)}' FROM audit_entries WHERE seq = {n}",
    )
    verdict = store.verify_chain()
    assert (verdict.first_bad_seq, verdict.problem) == (n + 1, "inserted")


def test_reordered_entries_are_named(store: CaseStore, open_case: OpenCase) -> None:
    _busy(store, open_case)
    _tamper(
        store,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 8",
        "UPDATE audit_entries SET seq = 8 WHERE seq = 9",
        "UPDATE audit_entries SET seq = 9 WHERE seq = -1",
    )
    verdict = store.verify_chain()
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 8, "reordered")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entries SET actor = 'mallory'", "DELETE FROM audit_entries"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_the_audit_table(
    store: CaseStore, open_case: OpenCase, statement: str
) -> None:
    open_case()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert store.verify_chain().ok


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_to_truncate_the_audit_table(store: CaseStore) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_entries")


def test_the_case_history_is_its_audit_entries(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(assign_to="ana")
    actions = [e.action for e in store.get_case(case.id).history]
    assert actions == ["case.created", "case.assigned"]
