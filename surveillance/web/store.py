"""The web app's side of the case store: one ``CaseStore`` per app, plus what pages ask.

Every read and every change goes through :class:`surveillance.cases.CaseStore`,
which owns the tables, the roles, the workflow and the audit trail and checks each
action again. This module only translates: queue filters to ``CaseFilter``, a
posted form to the service method, and a user's role and a case's state to the
controls a page shows (:func:`capabilities`, which mirrors the store's rules so
that a page never offers an action the store would refuse on role alone).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surveillance.cases import CaseStore
from surveillance.cases.auth import CASE_WORKERS, Permission, allowed
from surveillance.cases.errors import NotFoundError, PermissionDenied, WorkflowError
from surveillance.cases.views import CaseDetail, CaseFilter, CaseSummary, UserView
from surveillance.cases.workflow import Action, CaseStatus
from surveillance.errors import InputError
from surveillance.settings import Settings
from surveillance.web.models import QueueQuery

__all__ = ["CaseStore", "UserView"]

#: The role permission each action needs first (the store then checks the case).
ACTION_PERMISSION: dict[Action, Permission] = {
    Action.ASSIGN: Permission.WORK_OWN_CASES,
    Action.COMMENT: Permission.WORK_OWN_CASES,
    Action.ESCALATE: Permission.WORK_OWN_CASES,
    Action.CLOSE: Permission.WORK_OWN_CASES,
    Action.APPROVE: Permission.APPROVE,
    Action.REJECT: Permission.APPROVE,
    Action.REOPEN: Permission.REOPEN,
}
_OPEN = (CaseStatus.NEW.value, CaseStatus.IN_REVIEW.value, CaseStatus.ESCALATED.value)


def active_user(store: CaseStore, username: str) -> UserView | None:
    """The user if they exist and are active, else None (the session then ends)."""
    try:
        user = store.get_user(username)
    except NotFoundError:
        return None
    return user if user.active else None


def case_workers(store: CaseStore) -> list[UserView]:
    """Active users a case can be assigned to (analysts and supervisors)."""
    return [u for u in store.list_users(include_disabled=False) if u.role in CASE_WORKERS]


def role_may(user: UserView, action: Action) -> bool:
    """Whether the user's role may take ``action`` at all (before looking at the case)."""
    return allowed(user.role, ACTION_PERMISSION[action])


@dataclass(frozen=True)
class Capabilities:
    """Which controls the case page shows this user for this case."""

    assign_any: bool = False
    assign_self: bool = False
    comment: bool = False
    escalate: bool = False
    close: bool = False
    approve: bool = False
    reject: bool = False
    reopen: bool = False
    export: bool = False

    @property
    def any(self) -> bool:
        """Whether the user may change anything about the case (export is not a change)."""
        return any(
            (
                self.assign_any,
                self.assign_self,
                self.comment,
                self.escalate,
                self.close,
                self.approve,
                self.reject,
                self.reopen,
            )
        )


def capabilities(
    cases: CaseStore, user: UserView, case: CaseSummary, *, can_sign: bool = False
) -> Capabilities:
    """The controls to show: exactly the actions the case store would accept from
    ``user`` on ``case`` as read (``CaseStore.allowed_actions``), plus the evidence
    export when the role may export and the server has a signing key."""
    actions = cases.allowed_actions(user, case)
    assign_any = Action.ASSIGN in actions and allowed(user.role, Permission.ASSIGN_ANY)
    return Capabilities(
        assign_any=assign_any,
        assign_self=Action.ASSIGN in actions and not assign_any,
        comment=Action.COMMENT in actions,
        escalate=Action.ESCALATE in actions,
        close=Action.CLOSE in actions,
        approve=Action.APPROVE in actions,
        reject=Action.REJECT in actions,
        reopen=Action.REOPEN in actions,
        export=allowed(user.role, Permission.EXPORT) and can_sign,
    )


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue as the template shows it."""

    rows: tuple[CaseSummary, ...]
    total: int
    counts: dict[str, int]
    page: int
    pages: int


def case_filter(query: QueueQuery, me: str) -> CaseFilter:
    """The store's filter for the queue's query ('me' and 'none' as assignee)."""
    status: tuple[str, ...] = ()
    if query.status == "OPEN":
        status = _OPEN
    elif query.status is not None:
        status = (str(query.status),)
    assignee = query.assignee
    if assignee == "me":
        assignee = me
    elif assignee == "none":
        assignee = "-"
    return CaseFilter(
        status=status,
        family=(query.family.value,) if query.family else (),
        typology=(query.typology.value,) if query.typology else (),
        severity=(query.severity.value,) if query.severity else (),
        entity_id=query.entity,
        symbol=query.symbol,
        assignee=assignee,
        date_from=query.date_from,
        date_to=query.date_to,
    )


def list_cases(store: CaseStore, query: QueueQuery, *, me: str, page_size: int) -> QueuePage:
    """The queue page ``query`` asks for; a page past the end shows the last page."""
    filters = case_filter(query, me)
    sort, descending = {
        "score": ("score", True),
        "date": ("date", True),
        "date_asc": ("date", False),
    }[query.sort]
    result = store.list_cases(
        filters,
        sort=sort,
        descending=descending,
        limit=page_size,
        offset=(query.page - 1) * page_size,
    )
    pages = max(1, math.ceil(result.total / page_size))
    if query.page > pages and result.total:
        return list_cases(
            store, query.model_copy(update={"page": pages}), me=me, page_size=page_size
        )
    order = [s.value for s in CaseStatus]
    counts = {s: result.counts_by_status[s] for s in order if s in result.counts_by_status}
    return QueuePage(result.items, result.total, counts, query.page, pages)


def case_detail(store: CaseStore, case_id: int) -> CaseDetail:
    return store.get_case(case_id)


def perform(
    store: CaseStore,
    user: UserView,
    case_id: int,
    action: Action,
    version: int,
    **fields: Any,
) -> CaseSummary:
    """Apply one workflow action through the store; the store checks and audits it.

    Raises
    ------
    PermissionDenied, ConflictError, WorkflowError, NotFoundError
        As the store raises them. An ``InputError`` of the store (an unknown
        assignee, an empty comment) is raised as a ``WorkflowError`` so the page
        shows it beside the form.
    """
    try:
        if action is Action.ASSIGN:
            return store.assign(user, case_id, version, fields["assignee"])
        if action is Action.COMMENT:
            # Comments never conflict (the store takes no version for them), but a
            # reviewer or admin must still be refused, which the store does.
            store.comment(user, case_id, fields["body"])
            return store.case_summary(case_id)
        if action is Action.ESCALATE:
            return store.escalate(user, case_id, version, fields["rationale"])
        if action is Action.CLOSE:
            return store.close_case(
                user,
                case_id,
                version,
                fields["disposition"],
                fields["rationale"],
                fields.get("regulator_reference"),
            )
        if action is Action.APPROVE:
            return store.approve(user, case_id, version)
        if action is Action.REJECT:
            return store.reject(user, case_id, version, fields["reason"])
        if action is Action.REOPEN:
            return store.reopen(user, case_id, version, fields["reason"])
    except (NotFoundError, PermissionDenied):
        raise
    except InputError as exc:
        raise WorkflowError(str(exc), reason=exc.reason) from exc
    raise ValueError(f"unknown action {action!r}")


# --------------------------------------------------------------------- evidence export


def signing_key_path(explicit: str | Path | None = None) -> Path | None:
    """The evidence signing key the app exports with: the option, else
    ``MMSURV_SIGNING_KEY``; None when neither names an existing file."""
    from surveillance.evidence.keys import ENV_SIGNING_KEY

    value = explicit or os.environ.get(ENV_SIGNING_KEY)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_file() else None


def export_pack(
    settings: Settings,
    cases: CaseStore,
    user: UserView,
    case_id: int,
    signing_key: Path | None,
) -> tuple[bytes, str]:
    """Build the case's signed evidence pack as ``user``; the store audits the export.

    Raises
    ------
    PermissionDenied
        If the user's role may not export (analysts).
    InputError
        If the server has no signing key, or it cannot be read.
    """
    from surveillance.evidence.store import export_case

    if not allowed(user.role, Permission.EXPORT):
        raise PermissionDenied(
            f"You are signed in as {user.username} with role {user.role}, which may not "
            "export evidence packs (reviewers, supervisors and admins may)."
        )
    if signing_key is None:
        raise InputError(
            "This server has no evidence signing key, so it cannot export signed packs. "
            "An administrator creates one with `mmsurv keys generate` and starts the server "
            "with --signing-key (or MMSURV_SIGNING_KEY)."
        )
    with tempfile.TemporaryDirectory(prefix="mmsurv-pack-") as tmp:
        out = Path(tmp) / f"case-{case_id}-evidence.zip"
        export_case(settings, cases, user, case_id, out, signing_key=signing_key)
        return out.read_bytes(), out.name


# --------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class AlertCounts:
    """Alerts per day by typology, and cases' dispositions per day, for the dashboard."""

    days: list[str]
    typologies: list[str]
    by_typology: dict[str, dict[str, int]]  # day -> typology -> alerts
    dispositions: list[str]
    by_disposition: dict[str, dict[str, int]]  # day -> disposition (or open state) -> alerts
    totals: Counter[str]


def alert_counts(store: CaseStore, days: list[dt.date], entity: str | None = None) -> AlertCounts:
    """Counts of the alerts of ``days`` by typology and by their case's outcome.

    An alert's outcome is its case's disposition when closed, else its open state
    (``NEW``, ``IN_REVIEW``, ``ESCALATED``), so the chart shows what is still open.
    """
    filters = CaseFilter(entity_id=entity) if entity else None
    rows = store.list_alerts(filters, days=days)
    by_typology: dict[str, Counter[str]] = defaultdict(Counter)
    by_disposition: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for alert, case in rows:
        day = alert.date or alert.window_start.date().isoformat()
        by_typology[day][alert.typology] += 1
        outcome = case.disposition if case.status == CaseStatus.CLOSED else case.status
        by_disposition[day][outcome or case.status] += 1
        totals[alert.typology] += 1
    day_names = [d.isoformat() for d in days]
    return AlertCounts(
        days=day_names,
        typologies=sorted(totals),
        by_typology={d: dict(by_typology.get(d, {})) for d in day_names},
        dispositions=sorted({k for c in by_disposition.values() for k in c}),
        by_disposition={d: dict(by_disposition.get(d, {})) for d in day_names},
        totals=totals,
    )
