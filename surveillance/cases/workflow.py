"""The case workflow as data: states, actions, which transitions are allowed, and why not.

::

    NEW --assign--> IN_REVIEW --escalate--> ESCALATED
     |                  |                       |
     +----escalate------+---close / approve-----+--> CLOSED --reopen--> IN_REVIEW

Closing needs a disposition and a rationale. When four eyes apply (the case is
ESCALATED, or its severity is one of ``[cases] four_eyes_severities``), ``close``
records a *proposal*; a supervisor other than the proposer then approves it
(the case closes) or rejects it with a reason (the case stays open). These
functions decide only from the case's state; the service layer checks roles.
"""

from __future__ import annotations

from enum import StrEnum

from surveillance.cases.errors import WorkflowError


class CaseStatus(StrEnum):
    NEW = "NEW"
    IN_REVIEW = "IN_REVIEW"
    ESCALATED = "ESCALATED"
    CLOSED = "CLOSED"


class Disposition(StrEnum):
    NO_FURTHER_ACTION = "NO_FURTHER_ACTION"
    FALSE_POSITIVE = "FALSE_POSITIVE"
    CONDUCT_REMEDIATED = "CONDUCT_REMEDIATED"
    REPORTED = "REPORTED"


class Action(StrEnum):
    ASSIGN = "assign"
    COMMENT = "comment"
    ESCALATE = "escalate"
    CLOSE = "close"
    APPROVE = "approve"
    REJECT = "reject"
    REOPEN = "reopen"


S = CaseStatus
#: action -> {state it may start from: state it leads to}. Absent: refused.
TRANSITIONS: dict[Action, dict[CaseStatus, CaseStatus]] = {
    Action.ASSIGN: {S.NEW: S.IN_REVIEW, S.IN_REVIEW: S.IN_REVIEW, S.ESCALATED: S.ESCALATED},
    Action.COMMENT: {s: s for s in CaseStatus},
    Action.ESCALATE: {S.NEW: S.ESCALATED, S.IN_REVIEW: S.ESCALATED},
    Action.CLOSE: {S.IN_REVIEW: S.CLOSED, S.ESCALATED: S.CLOSED},
    Action.APPROVE: {S.IN_REVIEW: S.CLOSED, S.ESCALATED: S.CLOSED},
    Action.REJECT: {S.IN_REVIEW: S.IN_REVIEW, S.ESCALATED: S.ESCALATED},
    Action.REOPEN: {S.CLOSED: S.IN_REVIEW},
}

#: Actions that need (or refuse) a pending closure proposal.
_NEEDS_PROPOSAL = frozenset({Action.APPROVE, Action.REJECT})
_BLOCKED_BY_PROPOSAL = frozenset({Action.ESCALATE, Action.CLOSE})


def _refusal(case_id: int, action: Action, status: CaseStatus) -> str:
    if status is S.CLOSED:
        return (
            f"case {case_id} is CLOSED: it cannot be {_past(action)}; reopen it with a reason "
            f"first (supervisors: mmsurv cases reopen {case_id} --reason ...)"
        )
    if action is Action.CLOSE and status is S.NEW:
        return (
            f"case {case_id} is NEW: nobody has reviewed it; assign it (it moves to IN_REVIEW) "
            "before closing it"
        )
    if action is Action.ESCALATE and status is S.ESCALATED:
        return f"case {case_id} is already ESCALATED"
    if action is Action.REOPEN:
        return f"case {case_id} is {status}, not CLOSED: only a closed case can be reopened"
    if action in _NEEDS_PROPOSAL:
        return f"case {case_id} is {status}: there is no closure to {action}"
    allowed = ", ".join(TRANSITIONS[action])
    return f"case {case_id} is {status}: {action} is allowed only from {allowed}"


def _past(action: Action) -> str:
    return {
        Action.ASSIGN: "assigned",
        Action.ESCALATE: "escalated",
        Action.CLOSE: "closed again",
        Action.APPROVE: "approved",
        Action.REJECT: "rejected",
        Action.REOPEN: "reopened",
        Action.COMMENT: "commented",
    }[action]


def next_status(case_id: int, action: Action, status: str, *, proposal_pending: bool) -> CaseStatus:
    """The state ``action`` leads to from ``status``.

    Raises
    ------
    WorkflowError
        If the workflow does not allow ``action`` from ``status``, or the action
        needs a pending closure proposal that is absent (approve, reject) or is
        refused while one is pending (escalate, close).
    """
    current = CaseStatus(status)
    target = TRANSITIONS[action].get(current)
    if target is None:
        raise WorkflowError(_refusal(case_id, action, current), reason="transition_refused")
    if action in _NEEDS_PROPOSAL and not proposal_pending:
        raise WorkflowError(
            f"case {case_id} has no closure proposal to {action}: a closure needs approval "
            "only when four eyes apply and someone has proposed it",
            reason="no_proposal",
        )
    if action in _BLOCKED_BY_PROPOSAL and proposal_pending:
        raise WorkflowError(
            f"case {case_id} has a closure proposal waiting for a supervisor's approval: "
            f"approve it or reject it (with a reason) before it can be {_past(action)}",
            reason="proposal_pending",
        )
    return target


def require_text(value: str | None, what: str, case_id: int, minimum: int) -> str:
    """``value`` stripped, refusing an empty or too short rationale or reason.

    Raises
    ------
    WorkflowError
        If ``value`` is missing or shorter than ``minimum`` characters.
    """
    text = (value or "").strip()
    if len(text) < minimum:
        raise WorkflowError(
            f"case {case_id}: a {what} is required ({minimum} characters at least, found "
            f"{len(text)}); say in words a reviewer can follow why",
            reason=f"{what.replace(' ', '_')}_required",
        )
    return text
