"""Roles: who may do what, sign-in, and user administration."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from surveillance.cases import (
    AuthenticationError,
    CaseStore,
    CaseSummary,
    NotFoundError,
    PermissionDenied,
)
from surveillance.errors import InputError

PASSWORD = "correct-horse-battery"
OpenCase = Callable[..., CaseSummary]

REVIEWER_WRITES = {
    "assign": lambda s, c: s.assign("rex", c.id, c.version, "ana"),
    "comment": lambda s, c: s.comment("rex", c.id, "looks fine to me"),
    "escalate": lambda s, c: s.escalate("rex", c.id, c.version, "needs a closer look"),
    "close": lambda s, c: s.close_case(
        "rex", c.id, c.version, "FALSE_POSITIVE", "nothing to see here"
    ),
    "approve": lambda s, c: s.approve("rex", c.id, c.version),
    "reject": lambda s, c: s.reject("rex", c.id, c.version, "not convinced at all"),
    "reopen": lambda s, c: s.reopen("rex", c.id, c.version, "wants another look"),
    "add_user": lambda s, c: s.add_user("rex", "eve", "analyst", PASSWORD),
    "disable_user": lambda s, c: s.disable_user("rex", "ana"),
}


@pytest.mark.parametrize("action", sorted(REVIEWER_WRITES))
def test_a_reviewers_write_is_refused(store: CaseStore, open_case: OpenCase, action: str) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    entries = len(store.audit_entries())
    with pytest.raises(PermissionDenied, match="rex is a reviewer and may not"):
        REVIEWER_WRITES[action](store, case)
    assert store.case_summary(case.id) == case
    assert len(store.audit_entries()) == entries


def test_a_reviewer_reads_everything(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(assign_to="ana")
    store.comment("ana", case.id, "checked the book at 10:00")
    assert store.get_case(case.id).comments[0].body == "checked the book at 10:00"


def test_a_reviewer_may_record_an_export(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    entry = store.record_export("rex", case_id=case.id, details={"file": "case.zip"})
    assert (entry.action, entry.actor, entry.case_id) == ("evidence.exported", "rex", case.id)


def test_an_analyst_may_not_export(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    with pytest.raises(PermissionDenied, match="may not export evidence"):
        store.record_export("ana", case_id=case.id, details={})


def test_an_export_of_a_scope_is_recorded(store: CaseStore) -> None:
    scope = {"entity_id": "ENT-AMM", "from": "2026-03-01", "to": "2026-03-31"}
    entry = store.record_export("rex", scope=scope, details={"cases": 0})
    assert entry.details == {"scope": scope, "details": {"cases": 0}}


def test_an_admin_decides_no_case(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    with pytest.raises(PermissionDenied, match="ada is an admin and may not assign cases"):
        store.assign("ada", case.id, case.version, "ana")


def test_a_disabled_user_can_no_longer_act(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    store.disable_user("ada", "ana")
    with pytest.raises(PermissionDenied, match="user 'ana' is disabled"):
        store.assign("ana", case.id, case.version, "ana")


def test_a_disabled_user_cannot_sign_in(store: CaseStore) -> None:
    store.disable_user("ada", "ana")
    with pytest.raises(AuthenticationError, match="sign-in as 'ana' failed"):
        store.authenticate("ana", PASSWORD)


def test_sign_in_with_the_right_password(store: CaseStore) -> None:
    assert store.authenticate("sue", PASSWORD).role == "supervisor"


def test_sign_in_with_a_wrong_password_fails(store: CaseStore) -> None:
    with pytest.raises(AuthenticationError, match="unknown user, wrong password or disabled"):
        store.authenticate("sue", "not-the-password")


def test_sign_in_as_an_unknown_user_fails_alike(store: CaseStore) -> None:
    with pytest.raises(AuthenticationError, match="unknown user, wrong password or disabled"):
        store.authenticate("mallory", PASSWORD)


def test_passwords_are_stored_as_argon2id_hashes(store: CaseStore) -> None:
    from sqlalchemy import select

    from surveillance.cases.db import read_session
    from surveillance.cases.models import User

    with read_session(store.engine) as session:
        stored = session.execute(select(User.password_hash).where(User.username == "ana")).scalar()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_an_admin_adds_a_user(store: CaseStore) -> None:
    store.add_user("ada", "eve", "reviewer", "a-long-enough-password", display_name="Eve R.")
    assert store.get_user("eve").role == "reviewer"


def test_a_short_password_is_refused(store: CaseStore) -> None:
    with pytest.raises(InputError, match="at least 12 are required"):
        store.add_user("ada", "eve", "reviewer", "short")


def test_an_unknown_role_is_refused(store: CaseStore) -> None:
    with pytest.raises(InputError, match="role 'boss' is not a role"):
        store.add_user("ada", "eve", "boss", PASSWORD)


def test_a_taken_name_is_refused(store: CaseStore) -> None:
    with pytest.raises(InputError, match="user 'ana' exists already"):
        store.add_user("ada", "ana", "analyst", PASSWORD)


def test_adding_users_without_signing_in_is_refused_once_users_exist(store: CaseStore) -> None:
    with pytest.raises(PermissionDenied, match="users exist already"):
        store.add_user(None, "eve", "admin", PASSWORD)


def test_the_first_user_must_be_an_admin(empty_db_url: str) -> None:
    with (
        CaseStore(empty_db_url) as fresh,
        pytest.raises(PermissionDenied, match="must be an admin"),
    ):
        fresh.add_user(None, "ana", "analyst", PASSWORD)


def test_an_admin_cannot_disable_themselves(store: CaseStore) -> None:
    with pytest.raises(PermissionDenied, match="may not disable their own account"):
        store.disable_user("ada", "ada")


def test_an_enabled_user_can_sign_in_again(store: CaseStore) -> None:
    store.disable_user("ada", "bob")
    store.enable_user("ada", "bob")
    assert store.authenticate("bob", PASSWORD).active


def test_users_change_their_own_password(store: CaseStore) -> None:
    store.set_password("ana", "ana", "a-brand-new-password")
    assert store.authenticate("ana", "a-brand-new-password").username == "ana"


def test_an_analyst_cannot_change_anothers_password(store: CaseStore) -> None:
    with pytest.raises(PermissionDenied, match="may not change other users' passwords"):
        store.set_password("ana", "bob", "a-brand-new-password")


def test_an_unknown_case_is_reported(store: CaseStore) -> None:
    with pytest.raises(NotFoundError, match="case 999 does not exist"):
        store.get_case(999)
