"""``allowed_actions`` (what a page offers) agrees with what the store accepts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from surveillance.cases import CaseStore, CaseSummary, PermissionDenied, WorkflowError
from surveillance.cases.workflow import Action
from surveillance.errors import InputError

OpenCase = Callable[..., CaseSummary]
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SITUATIONS = ("new", "mine", "bobs", "escalated", "closed", "proposed_by_ana", "proposed_by_sue")


def situation(store: CaseStore, open_case: OpenCase, name: str) -> CaseSummary:
    """A case in one of the situations that decide what a user may do."""
    if name == "new":
        return open_case(severity="HIGH")
    if name == "bobs":
        return open_case(severity="HIGH", assign_to="bob")
    case = open_case(severity="HIGH", assign_to="ana")
    if name == "escalated":
        return store.escalate("ana", case.id, case.version, "pattern over three days")
    if name == "closed":
        case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
        return store.approve("sue", case.id, case.version)
    if name == "proposed_by_ana":
        return store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    if name == "proposed_by_sue":
        return store.close_case("sue", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    return case


def attempt(store: CaseStore, user: str, action: Action, case: CaseSummary) -> bool:
    """Whether the store accepts ``action`` by ``user`` (with valid inputs)."""
    v = case.version
    calls = {
        Action.ASSIGN: lambda: store.assign(user, case.id, v, user if user == "ana" else "sam"),
        Action.COMMENT: lambda: store.comment(user, case.id, "a note on the case"),
        Action.ESCALATE: lambda: store.escalate(user, case.id, v, "pattern over three days"),
        Action.CLOSE: lambda: store.close_case(
            user, case.id, v, "NO_FURTHER_ACTION", "reviewed and within policy"
        ),
        Action.APPROVE: lambda: store.approve(user, case.id, v),
        Action.REJECT: lambda: store.reject(user, case.id, v, "look at the second fill"),
        Action.REOPEN: lambda: store.reopen(user, case.id, v, "venue corrected the trades"),
    }
    try:
        calls[action]()
    except (PermissionDenied, WorkflowError, InputError):
        return False
    return True


@pytest.mark.parametrize("user", ["ana", "sue", "rex"])
def test_allowed_actions_match_what_the_store_accepts(
    store: CaseStore, open_case: OpenCase, user: str
) -> None:
    me = store.get_user(user)
    mismatches = []
    for name in SITUATIONS:
        case = situation(store, open_case, name)
        for action in Action:
            offered = action in store.allowed_actions(me, case)
            accepted = attempt(store, user, action, case)
            if offered != accepted:
                mismatches.append((name, action.value, offered))
            if accepted:  # the case moved on; a refused action changed nothing
                case = situation(store, open_case, name)
    assert mismatches == []
