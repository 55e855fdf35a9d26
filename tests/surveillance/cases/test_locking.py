"""Optimistic locking: a stale edit gets a clear conflict and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from surveillance.cases import CaseStore, CaseSummary, ConflictError

OpenCase = Callable[..., CaseSummary]


def test_the_second_of_two_edits_gets_a_conflict(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")  # both read this version
    store.escalate("ana", seen.id, seen.version, "same pattern as last week")
    with pytest.raises(ConflictError, match=r"you saw version \d+, it is now version \d+"):
        store.close_case("sue", seen.id, seen.version, "FALSE_POSITIVE", "nothing to see here")


def test_the_conflict_names_the_change(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")
    store.escalate("ana", seen.id, seen.version, "same pattern as last week")
    with pytest.raises(ConflictError, match=r"last change case\.escalated by ana"):
        store.assign("sue", seen.id, seen.version, "bob")


def test_a_conflict_loses_nothing(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")
    first = store.escalate("ana", seen.id, seen.version, "same pattern as last week")
    with pytest.raises(ConflictError):
        store.close_case("sue", seen.id, seen.version, "FALSE_POSITIVE", "nothing to see here")
    assert store.case_summary(seen.id) == first


def test_a_retry_with_the_current_version_succeeds(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")
    store.escalate("ana", seen.id, seen.version, "same pattern as last week")
    current = store.case_summary(seen.id)
    assert store.assign("sue", seen.id, current.version, "bob").assignee == "bob"


def test_the_conflict_carries_both_versions(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")
    store.escalate("ana", seen.id, seen.version, "same pattern as last week")
    with pytest.raises(ConflictError) as caught:
        store.assign("sue", seen.id, seen.version, "bob")
    assert (caught.value.expected, caught.value.found) == (seen.version, seen.version + 1)


def test_comments_never_conflict(store: CaseStore, open_case: OpenCase) -> None:
    seen = open_case(severity="LOW", assign_to="ana")
    store.comment("bob", seen.id, "first")
    store.comment("ana", seen.id, "second")
    assert [c.body for c in store.get_case(seen.id).comments] == ["first", "second"]


def test_every_change_bumps_the_version(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    escalated = store.escalate("ana", case.id, case.version, "same pattern as last week")
    assert escalated.version == case.version + 1
