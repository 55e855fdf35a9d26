"""What the service layer returns: plain frozen records, never live ORM objects.

The CLI prints them, the web app renders them and the evidence packs serialise
them; ``to_dict()`` gives JSON-ready values (times as ISO text).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from surveillance.cases import models as m
from surveillance.cases.audit import stored_content


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: times as ISO 8601 UTC text, nested records as dicts."""
        return _plain(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class UserView(_Record):
    username: str
    display_name: str
    role: str
    active: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, row: m.User) -> UserView:
        return cls(row.username, row.display_name, row.role, row.active, row.created_at)


@dataclass(frozen=True)
class Proposal(_Record):
    """A closure waiting for a second supervisor (four eyes)."""

    disposition: str
    rationale: str
    regulator_reference: str | None
    proposed_by: str
    proposed_at: dt.datetime


@dataclass(frozen=True)
class CaseSummary(_Record):
    id: int
    status: str
    family: str
    typology: str
    typologies: tuple[str, ...]
    entity_id: str
    symbol: str
    account_ids: tuple[str, ...]
    severity: str
    score: float
    explanation: str
    window_start: dt.datetime
    window_end: dt.datetime
    alert_count: int
    assignee: str | None
    disposition: str | None
    disposition_rationale: str | None
    regulator_reference: str | None
    closed_by: str | None
    approved_by: str | None
    closed_at: dt.datetime | None
    proposal: Proposal | None
    follows_case_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @property
    def day(self) -> dt.date:
        """The UTC day the case's conduct starts."""
        return self.window_start.date()

    @classmethod
    def of(cls, row: m.Case) -> CaseSummary:
        proposal = None
        if row.proposed_disposition is not None:
            assert row.proposed_by is not None and row.proposed_at is not None
            proposal = Proposal(
                row.proposed_disposition,
                row.proposed_rationale or "",
                row.proposed_reference,
                row.proposed_by,
                row.proposed_at,
            )
        return cls(
            id=row.id,
            status=row.status,
            family=row.family,
            typology=row.typology,
            typologies=tuple(row.typologies),
            entity_id=row.entity_id,
            symbol=row.symbol,
            account_ids=tuple(row.account_ids),
            severity=row.severity,
            score=row.score,
            explanation=row.explanation,
            window_start=row.window_start,
            window_end=row.window_end,
            alert_count=row.alert_count,
            assignee=row.assignee,
            disposition=row.disposition,
            disposition_rationale=row.disposition_rationale,
            regulator_reference=row.regulator_reference,
            closed_by=row.closed_by,
            approved_by=row.approved_by,
            closed_at=row.closed_at,
            proposal=proposal,
            follows_case_id=row.follows_case_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )


@dataclass(frozen=True)
class AlertView(_Record):
    """An alert as stored, in the contract's export terms (``date`` is the trading day)."""

    alert_id: str
    case_id: int
    family: str
    typology: str
    detector: str
    symbol: str
    account_id: str | None
    entity_id: str
    window_start: dt.datetime
    window_end: dt.datetime
    score: float
    severity: str
    order_ids: tuple[str, ...]
    trade_ids: tuple[str, ...]
    explanation: str
    detector_version: str | None
    params_hash: str | None
    features: dict[str, Any] | None
    date: str | None
    first_seen_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: m.Alert) -> AlertView:
        features: dict[str, Any] | None = None
        if row.features:
            try:
                parsed = json.loads(row.features)
                features = parsed if isinstance(parsed, dict) else {"value": parsed}
            except json.JSONDecodeError:
                features = {"unparsed": row.features}
        return cls(
            alert_id=row.alert_id,
            case_id=row.case_id,
            family=row.family,
            typology=row.typology,
            detector=row.detector,
            symbol=row.symbol,
            account_id=row.account_id,
            entity_id=row.entity_id,
            window_start=row.window_start,
            window_end=row.window_end,
            score=row.score,
            severity=row.severity,
            order_ids=tuple(row.order_ids),
            trade_ids=tuple(row.trade_ids),
            explanation=row.explanation,
            detector_version=row.detector_version,
            params_hash=row.params_hash,
            features=features,
            date=row.day,
            first_seen_at=row.first_seen_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class CommentView(_Record):
    id: int
    case_id: int
    author: str
    body: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: m.Comment) -> CommentView:
        return cls(row.id, row.case_id, row.author, row.body, row.created_at)


@dataclass(frozen=True)
class AuditEntryView(_Record):
    """One audit entry with its chain hashes; ``content()`` is exactly what was hashed."""

    seq: int
    at: str
    actor: str
    action: str
    case_id: int | None
    before: Any
    after: Any
    details: Any
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: m.AuditEntry) -> AuditEntryView:
        content = stored_content(row)
        return cls(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            case_id=row.case_id,
            before=content["before"],
            after=content["after"],
            details=content["details"],
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    def content(self) -> dict[str, Any]:
        """The hashed content: ``audit.entry_hash(self.content()) == self.hash``."""
        return {
            "prev_hash": self.prev_hash,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "case_id": self.case_id,
            "before": self.before,
            "after": self.after,
            "details": self.details,
        }


@dataclass(frozen=True)
class CaseDetail(_Record):
    """A case with everything an analyst, a reviewer or an evidence pack needs."""

    case: CaseSummary
    alerts: tuple[AlertView, ...]
    comments: tuple[CommentView, ...]
    history: tuple[AuditEntryView, ...]
    related: tuple[CaseSummary, ...]


@dataclass(frozen=True)
class CasePage(_Record):
    """One page of a filtered, sorted case list, with the total count across pages."""

    items: tuple[CaseSummary, ...]
    total: int
    limit: int
    offset: int
    counts_by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseFilter:
    """Filters of :meth:`CaseStore.list_cases`; ``None`` (or empty) means any.

    Values within one field are alternatives (``status=("NEW", "IN_REVIEW")``);
    different fields must all hold. ``date_from``/``date_to`` keep cases whose
    window overlaps those UTC days (inclusive). ``assignee="-"`` keeps unassigned
    cases.
    """

    status: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    typology: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    entity_id: str | None = None
    symbol: str | None = None
    assignee: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    case_ids: tuple[int, ...] = ()
