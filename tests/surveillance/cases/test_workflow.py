"""The workflow: every allowed and refused transition, rationales, four eyes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from surveillance.cases import (
    CasesConfig,
    CaseStore,
    CaseSummary,
    PermissionDenied,
    WorkflowError,
)

OpenCase = Callable[..., CaseSummary]


def in_state(store: CaseStore, open_case: OpenCase, status: str) -> CaseSummary:
    """A LOW-severity case brought to ``status`` by ordinary workflow steps."""
    if status == "NEW":
        return open_case(severity="LOW")
    case = open_case(severity="LOW", assign_to="ana")
    if status == "ESCALATED":
        case = store.escalate("ana", case.id, case.version, "pattern repeats across days")
    elif status == "CLOSED":
        case = store.close_case(
            "ana", case.id, case.version, "FALSE_POSITIVE", "client order was not visible"
        )
    assert case.status == status
    return case


def perform(store: CaseStore, action: str, case: CaseSummary) -> CaseSummary:
    """Do ``action`` on ``case`` as a supervisor (approve and reject as a second one)."""
    if action == "assign":
        return store.assign("sue", case.id, case.version, "bob")
    if action == "escalate":
        return store.escalate("sue", case.id, case.version, "needs the desk head's view")
    if action == "close":
        return store.close_case(
            "sue", case.id, case.version, "NO_FURTHER_ACTION", "reviewed, within policy"
        )
    if action == "approve":
        return store.approve("sam", case.id, case.version)
    if action == "reject":
        return store.reject("sam", case.id, case.version, "needs more analysis first")
    if action == "reopen":
        return store.reopen("sue", case.id, case.version, "venue sent corrected trades")
    raise AssertionError(action)


ALLOWED = [
    ("assign", "NEW", "IN_REVIEW"),
    ("assign", "IN_REVIEW", "IN_REVIEW"),
    ("assign", "ESCALATED", "ESCALATED"),
    ("escalate", "NEW", "ESCALATED"),
    ("escalate", "IN_REVIEW", "ESCALATED"),
    ("close", "IN_REVIEW", "CLOSED"),
    ("reopen", "CLOSED", "IN_REVIEW"),
]

REFUSED = [
    ("assign", "CLOSED", "is CLOSED: it cannot be assigned; reopen it"),
    ("escalate", "ESCALATED", "already ESCALATED"),
    ("escalate", "CLOSED", "is CLOSED: it cannot be escalated"),
    ("close", "NEW", "is NEW: nobody has reviewed it; assign it"),
    ("close", "CLOSED", "is CLOSED: it cannot be closed again"),
    ("reopen", "NEW", "only a closed case can be reopened"),
    ("reopen", "IN_REVIEW", "only a closed case can be reopened"),
    ("reopen", "ESCALATED", "only a closed case can be reopened"),
    ("approve", "NEW", "no closure"),
    ("approve", "IN_REVIEW", "has no closure proposal to approve"),
    ("approve", "ESCALATED", "has no closure proposal to approve"),
    ("approve", "CLOSED", "is CLOSED"),
    ("reject", "NEW", "no closure"),
    ("reject", "IN_REVIEW", "has no closure proposal to reject"),
    ("reject", "ESCALATED", "has no closure proposal to reject"),
    ("reject", "CLOSED", "is CLOSED"),
]


@pytest.mark.parametrize(("action", "start", "end"), ALLOWED)
def test_allowed_transition(
    store: CaseStore, open_case: OpenCase, action: str, start: str, end: str
) -> None:
    case = in_state(store, open_case, start)
    assert perform(store, action, case).status == end


@pytest.mark.parametrize(("action", "start", "message"), REFUSED)
def test_refused_transition_changes_nothing(
    store: CaseStore, open_case: OpenCase, action: str, start: str, message: str
) -> None:
    case = in_state(store, open_case, start)
    with pytest.raises(WorkflowError, match=message):
        perform(store, action, case)
    assert store.case_summary(case.id) == case


def test_comment_is_allowed_in_every_state(store: CaseStore, open_case: OpenCase) -> None:
    for status in ("NEW", "IN_REVIEW", "ESCALATED", "CLOSED"):
        case = in_state(store, open_case, status)
        store.comment("bob", case.id, f"note while {status}")
        detail = store.get_case(case.id)
        assert [c.body for c in detail.comments] == [f"note while {status}"]
        assert detail.case.version == case.version


def test_escalating_needs_a_rationale(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(assign_to="ana")
    with pytest.raises(WorkflowError, match="a rationale is required"):
        store.escalate("ana", case.id, case.version, "  ok ")


def test_closing_needs_a_rationale(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    with pytest.raises(WorkflowError, match="a rationale is required"):
        store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "")


def test_reopening_needs_a_reason(store: CaseStore, open_case: OpenCase) -> None:
    case = in_state(store, open_case, "CLOSED")
    with pytest.raises(WorkflowError, match="a reason is required"):
        store.reopen("sue", case.id, case.version, "")


def test_reported_needs_the_regulators_reference(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    with pytest.raises(WorkflowError, match="REPORTED needs the regulator's reference"):
        store.close_case("ana", case.id, case.version, "REPORTED", "reported to the SFC")


def test_reported_keeps_the_reference(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    closed = store.close_case(
        "ana", case.id, case.version, "REPORTED", "reported to the SFC", "SFC-STR-2026-0042"
    )
    assert (closed.disposition, closed.regulator_reference) == ("REPORTED", "SFC-STR-2026-0042")


def test_a_reference_without_reported_is_refused(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    with pytest.raises(WorkflowError, match="goes with disposition REPORTED only"):
        store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "no issue found", "X-1")


def test_unknown_disposition_is_refused(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="ana")
    with pytest.raises(WorkflowError, match="disposition 'MAYBE' is not one of"):
        store.close_case("ana", case.id, case.version, "MAYBE", "cannot decide this one")


def test_reopen_clears_the_closure(store: CaseStore, open_case: OpenCase) -> None:
    case = in_state(store, open_case, "CLOSED")
    reopened = store.reopen("sue", case.id, case.version, "venue sent corrected trades")
    assert (reopened.disposition, reopened.closed_by, reopened.closed_at) == (None, None, None)


# ---------------------------------------------------------------- four eyes


def test_closing_a_high_case_is_only_a_proposal(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    proposed = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    assert proposed.status == "IN_REVIEW"
    assert proposed.proposal is not None and proposed.proposal.proposed_by == "ana"


def test_a_supervisor_approves_a_proposal(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    closed = store.approve("sue", case.id, case.version)
    assert (closed.status, closed.disposition, closed.closed_by, closed.approved_by) == (
        "CLOSED",
        "FALSE_POSITIVE",
        "ana",
        "sue",
    )


def test_the_proposer_cannot_approve_their_own_closure(
    store: CaseStore, open_case: OpenCase
) -> None:
    case = open_case(severity="HIGH", assign_to="sue")
    case = store.close_case("sue", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    with pytest.raises(PermissionDenied, match="four eyes"):
        store.approve("sue", case.id, case.version)


def test_an_analyst_cannot_approve(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    with pytest.raises(PermissionDenied, match="may not approve closures"):
        store.approve("bob", case.id, case.version)


def test_closing_an_escalated_case_needs_approval(store: CaseStore, open_case: OpenCase) -> None:
    case = in_state(store, open_case, "ESCALATED")
    proposed = perform(store, "close", case)
    assert proposed.status == "ESCALATED" and proposed.proposal is not None


def test_a_medium_case_closes_without_approval(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="MEDIUM", assign_to="ana")
    closed = store.close_case("ana", case.id, case.version, "NO_FURTHER_ACTION", "within limits")
    assert closed.status == "CLOSED" and closed.approved_by is None


def test_four_eyes_severities_are_configurable(db_url: str, alerts: object) -> None:
    from surveillance.cases import CaseStore as Store

    with Store(db_url, CasesConfig(four_eyes_severities=("MEDIUM", "HIGH"))) as strict:
        summary = strict.ingest_alerts(alerts.table([alerts.row(severity="MEDIUM")]))  # type: ignore[attr-defined]
        case = strict.case_summary(summary.case_ids[0])
        case = strict.assign("ana", case.id, case.version, "ana")
        proposed = strict.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    assert proposed.status == "IN_REVIEW" and proposed.proposal is not None


def test_a_rejected_proposal_leaves_the_case_open(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    rejected = store.reject("sue", case.id, case.version, "look at the second fill too")
    assert (rejected.status, rejected.proposal) == ("IN_REVIEW", None)


def test_a_pending_proposal_blocks_another_closure(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="HIGH", assign_to="ana")
    case = store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote")
    with pytest.raises(WorkflowError, match="waiting for a supervisor's approval"):
        store.close_case("sue", case.id, case.version, "REPORTED", "reported it", "SFC-1")


# ---------------------------------------------------------------- who works which case


def test_an_analyst_cannot_close_a_colleagues_case(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(severity="LOW", assign_to="bob")
    with pytest.raises(PermissionDenied, match="assigned to bob"):
        store.close_case("ana", case.id, case.version, "FALSE_POSITIVE", "stale quote here")


def test_an_analyst_takes_an_unassigned_case(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    assert store.assign("ana", case.id, case.version, "ana").assignee == "ana"


def test_an_analyst_cannot_assign_to_others(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    with pytest.raises(PermissionDenied, match="may assign cases only to themselves"):
        store.assign("ana", case.id, case.version, "bob")


def test_an_analyst_cannot_take_a_colleagues_case(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case(assign_to="bob")
    with pytest.raises(PermissionDenied, match="only a supervisor can reassign"):
        store.assign("ana", case.id, case.version, "ana")


def test_cases_go_only_to_people_who_work_cases(store: CaseStore, open_case: OpenCase) -> None:
    case = open_case()
    with pytest.raises(Exception, match="a reviewer does not work cases"):
        store.assign("sue", case.id, case.version, "rex")
