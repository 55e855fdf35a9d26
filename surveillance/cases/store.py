"""The case store's service layer: the one API the CLI, the web app, the pipeline and
the evidence packs call.

Every method that changes something takes the acting user explicitly (a user
name or a :class:`UserView`), checks that user's role, runs in one transaction
that holds the audit chain's head lock, and appends its audit entry in that same
transaction: a change and its audit record commit together or not at all.
Methods that change a case take the version of the case the caller saw
(optimistic locking): when the case moved on in between, the caller gets a
:class:`ConflictError` that names the change, and nothing is overwritten.
Readers need no lock and return plain records (``views``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from surveillance.cases import audit
from surveillance.cases import models as m
from surveillance.cases.auth import (
    CASE_WORKERS,
    PERMISSIONS,
    Permission,
    UserRole,
    allowed,
    hash_password,
    verify_password,
)
from surveillance.cases.config import CasesConfig
from surveillance.cases.db import (
    current_revision,
    head_revision,
    known_revision,
    make_engine,
    normalise_url,
    read_session,
    upgrade,
    write_session,
)
from surveillance.cases.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    WorkflowError,
)
from surveillance.cases.views import (
    AlertView,
    AuditEntryView,
    CaseDetail,
    CaseFilter,
    CasePage,
    CaseSummary,
    CommentView,
    UserView,
)
from surveillance.cases.workflow import Action, CaseStatus, Disposition, next_status, require_text
from surveillance.contract import Alerts, Family, Severity, Typology
from surveillance.errors import ContractError, InputError

Actor = str | UserView

SEVERITY_RANK = {Severity.LOW.value: 1, Severity.MEDIUM.value: 2, Severity.HIGH.value: 3}
SORTS = ("score", "date", "severity", "id", "updated")
#: Case columns whose change a workflow audit entry records (before and after).
_WORKFLOW_FIELDS = (
    "status",
    "assignee",
    "disposition",
    "disposition_rationale",
    "regulator_reference",
    "closed_by",
    "approved_by",
    "closed_at",
    "proposed_disposition",
    "proposed_rationale",
    "proposed_reference",
    "proposed_by",
    "proposed_at",
)
#: Case columns derived from its alerts.
_AGGREGATE_FIELDS = (
    "severity",
    "score",
    "typology",
    "typologies",
    "account_ids",
    "explanation",
    "window_start",
    "window_end",
    "alert_count",
)
_ALERT_FIELDS = (
    "family",
    "typology",
    "detector",
    "symbol",
    "account_id",
    "entity_id",
    "window_start",
    "window_end",
    "score",
    "severity",
    "order_ids",
    "trade_ids",
    "explanation",
    "detector_version",
    "params_hash",
    "features",
    "day",
)
_CHUNK = 500


@dataclass(frozen=True)
class IngestSummary:
    """What :meth:`CaseStore.ingest_alerts` did."""

    alerts_read: int = 0
    alerts_new: int = 0
    alerts_updated: int = 0
    alerts_unchanged: int = 0
    cases_created: int = 0
    cases_updated: int = 0
    cases_linked: int = 0
    case_ids: tuple[int, ...] = field(default_factory=tuple)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return audit.format_time(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _snapshot(case: m.Case, names: Sequence[str]) -> dict[str, Any]:
    return {name: _json_value(getattr(case, name)) for name in names}


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _name(actor: Actor) -> str:
    return actor.username if isinstance(actor, UserView) else actor


class CaseStore:
    """Cases, alerts, users and the audit trail in one SQL database.

    Parameters
    ----------
    db_url
        SQLAlchemy URL: ``sqlite:///PATH`` (the default beside the lake) or
        ``postgresql+psycopg://USER@HOST:PORT/DB``.
    config
        The ``[cases]`` section; the packaged defaults when omitted.
    migrate
        Bring the database to the newest schema on first use (the default).
        Pass ``False`` to refuse to touch the schema (for example when an
        operator runs migrations separately with ``surveillance.cases.upgrade``).
    """

    def __init__(
        self, db_url: str, config: CasesConfig | None = None, *, migrate: bool = True
    ) -> None:
        self.db_url = normalise_url(db_url)
        self.config = config or CasesConfig()
        self.engine = make_engine(self.db_url)
        revision = current_revision(self.engine)
        if revision != head_revision():
            if revision is not None and not known_revision(revision):
                raise InputError(
                    f"case store {self.engine.url!r} is at schema {revision}, which this "
                    f"version of mmsurv does not know (its newest is {head_revision()}): the "
                    "database was migrated by a newer release; upgrade mm-surveillance"
                )
            if not migrate:
                raise InputError(
                    f"case store {self.engine.url!r} is at schema {revision or 'empty'}, this "
                    f"version needs {head_revision()}; run surveillance.cases.upgrade(db_url)"
                )
            upgrade(self.engine)

    @classmethod
    def from_settings(cls, settings: Any) -> CaseStore:
        """The store named by resolved ``Settings``, with the ``[cases]`` configuration.

        Without a configuration file the packaged defaults apply, and the other
        stages' sections are not imported (that would cost every ``mmsurv cases``
        command seconds of start-up); a file is validated whole, as always.
        """
        if settings.config_path is None:
            return cls(settings.db_url, CasesConfig())
        from surveillance.config import load_config

        cfg = load_config(settings.config_path).section("cases", CasesConfig)
        return cls(settings.db_url, cfg)

    def dispose(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"CaseStore({self.engine.url!r})"

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _writing(self) -> Iterator[tuple[Session, m.AuditHead]]:
        with write_session(self.engine) as session:
            head = audit.lock_head(session)
            yield session, head

    @staticmethod
    def _user(session: Session, actor: Actor) -> m.User:
        name = _name(actor)
        user = session.execute(select(m.User).where(m.User.username == name)).scalar_one_or_none()
        if user is None:
            raise PermissionDenied(
                f"user {name!r} does not exist; an admin adds users with mmsurv users add",
                reason="unknown_user",
            )
        if not user.active:
            raise PermissionDenied(
                f"user {name!r} is disabled; an admin can enable the account again",
                reason="user_disabled",
            )
        return user

    @staticmethod
    def _require(user: m.User, permission: Permission, what: str) -> None:
        if not allowed(user.role, permission):
            roles = sorted(r.value for r, held in PERMISSIONS.items() if permission in held)
            raise PermissionDenied(
                f"{user.username} is {_article(user.role)} {user.role} and may not {what}; "
                f"that needs the role {' or '.join(roles)}",
            )

    def _case_for_change(
        self, session: Session, case_id: int, expected_version: int | None
    ) -> m.Case:
        case = session.get(m.Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist; list cases with mmsurv cases list")
        if expected_version is not None and case.version != expected_version:
            last = session.execute(
                select(m.AuditEntry)
                .where(m.AuditEntry.case_id == case_id)
                .order_by(m.AuditEntry.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            change = f": last change {last.action} by {last.actor} at {last.at}" if last else ""
            raise ConflictError(
                f"case {case_id} changed since you read it (you saw version {expected_version}, "
                f"it is now version {case.version}{change}); reload the case, check the "
                "change and try again",
                case_id=case_id,
                expected=expected_version,
                found=case.version,
            )
        return case

    @staticmethod
    def _may_work(user: m.User, case: m.Case, what: str) -> None:
        if allowed(user.role, Permission.WORK_ANY_CASE):
            return
        CaseStore._require(user, Permission.WORK_OWN_CASES, what)
        if case.assignee != user.username:
            holder = f"assigned to {case.assignee}" if case.assignee else "not assigned to anyone"
            raise PermissionDenied(
                f"case {case.id} is {holder}: {user.username} works only cases assigned to "
                f"them; take it first (mmsurv cases assign {case.id} --to {user.username}) "
                "or ask a supervisor",
                reason="not_assignee",
            )

    def needs_four_eyes(self, case: m.Case | CaseSummary) -> bool:
        """Whether closing ``case`` as it stands needs a second supervisor's approval."""
        return case.status == CaseStatus.ESCALATED or case.severity in {
            s.value for s in self.config.four_eyes_severities
        }

    def allowed_actions(self, user: UserView, case: CaseSummary) -> frozenset[Action]:
        """The workflow actions the store would accept from ``user`` on ``case`` as read.

        The same rules the changing methods apply (role, assignment, state, pending
        proposal, four eyes), so a page can show exactly the controls that will
        work. Input checks (rationale text, assignee, disposition) still apply
        when the action is taken.
        """
        if not user.active:
            return frozenset()
        pending = case.proposal is not None

        def state_allows(action: Action) -> bool:
            try:
                next_status(case.id, action, case.status, proposal_pending=pending)
            except WorkflowError:
                return False
            return True

        role = user.role
        works_own = allowed(role, Permission.WORK_OWN_CASES)
        may_work = allowed(role, Permission.WORK_ANY_CASE) or (
            works_own and case.assignee == user.username
        )
        actions: set[Action] = set()
        if works_own and state_allows(Action.COMMENT):
            actions.add(Action.COMMENT)
        if state_allows(Action.ASSIGN) and (
            allowed(role, Permission.ASSIGN_ANY) or (works_own and case.assignee is None)
        ):
            actions.add(Action.ASSIGN)
        for action in (Action.ESCALATE, Action.CLOSE):
            if may_work and state_allows(action):
                actions.add(action)
        if allowed(role, Permission.APPROVE):
            proposer = case.proposal.proposed_by if case.proposal is not None else None
            if state_allows(Action.APPROVE) and proposer not in (None, user.username):
                actions.add(Action.APPROVE)
            if state_allows(Action.REJECT):
                actions.add(Action.REJECT)
        if allowed(role, Permission.REOPEN) and state_allows(Action.REOPEN):
            actions.add(Action.REOPEN)
        return frozenset(actions)

    def _text(self, value: str | None, what: str, case_id: int) -> str:
        return require_text(value, what, case_id, self.config.min_rationale_chars)

    @staticmethod
    def _record_case_change(
        session: Session,
        head: m.AuditHead,
        actor: str,
        action: str,
        case: m.Case,
        before: Mapping[str, Any],
        details: Any = None,
    ) -> None:
        session.flush()  # bumps the version
        after = _snapshot(case, [*_WORKFLOW_FIELDS, "version"])
        changed_before, changed_after = _diff(before, after)
        audit.append(
            session,
            head,
            actor=actor,
            action=action,
            case_id=case.id,
            before=changed_before,
            after=changed_after,
            details=details,
        )

    @contextlib.contextmanager
    def _changing(
        self,
        actor: Actor,
        case_id: int,
        expected_version: int | None,
        action: Action,
        permission: Permission,
        what: str,
    ) -> Iterator[tuple[Session, m.AuditHead, m.User, m.Case, dict]]:
        with self._writing() as (session, head):
            user = self._user(session, actor)
            self._require(user, permission, what)
            case = self._case_for_change(session, case_id, expected_version)
            before = _snapshot(case, [*_WORKFLOW_FIELDS, "version"])
            yield session, head, user, case, before

    # ------------------------------------------------------------------ users

    def has_users(self) -> bool:
        """Whether any user exists (the first admin may be added without signing in)."""
        with read_session(self.engine) as session:
            return session.execute(select(func.count()).select_from(m.User)).scalar_one() > 0

    def add_user(
        self,
        actor: Actor | None,
        username: str,
        role: str,
        password: str,
        *,
        display_name: str | None = None,
    ) -> UserView:
        """Create a user. ``actor`` must be an admin, or ``None`` for the very first user,
        who must then be an admin (bootstrap).

        Raises
        ------
        PermissionDenied
            If ``actor`` is not an active admin (or is ``None`` once users exist).
        InputError
            If the name is taken or malformed, the role unknown, the password too short.
        """
        try:
            role = UserRole(role).value
        except ValueError:
            raise InputError(
                f"role {role!r} is not a role; use one of {', '.join(r.value for r in UserRole)}"
            ) from None
        name = username.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise InputError(
                f"user name {username!r} must be 1-64 characters without spaces, e.g. jdoe"
            )
        if name == audit.SYSTEM_ACTOR:
            raise InputError(f"user name {name!r} is reserved for the pipeline's own entries")
        if len(password) < self.config.password_min_length:
            raise InputError(
                f"password for {name!r} is {len(password)} characters; at least "
                f"{self.config.password_min_length} are required ([cases] password_min_length)"
            )
        password_hash = hash_password(password)  # slow on purpose: outside the lock
        with self._writing() as (session, head):
            if actor is None:
                if session.execute(select(func.count()).select_from(m.User)).scalar_one():
                    raise PermissionDenied(
                        "users exist already: sign in as an admin to add users (--user NAME)",
                        reason="not_signed_in",
                    )
                if role != UserRole.ADMIN:
                    raise PermissionDenied(
                        "the first user of a new case store must be an admin "
                        f"(--role admin), found --role {role}",
                        reason="bootstrap_admin",
                    )
                acting = name
            else:
                user = self._user(session, actor)
                self._require(user, Permission.MANAGE_USERS, "add users")
                acting = user.username
            taken = session.execute(
                select(m.User).where(m.User.username == name)
            ).scalar_one_or_none()
            if taken is not None:
                raise InputError(f"user {name!r} exists already (role {taken.role})")
            row = m.User(
                username=name,
                display_name=(display_name or name).strip(),
                role=role,
                password_hash=password_hash,
                active=True,
                created_at=audit.utc_now(),
            )
            session.add(row)
            session.flush()
            audit.append(
                session,
                head,
                actor=acting,
                action="user.created",
                after={"username": name, "role": role, "display_name": row.display_name},
            )
            return UserView.of(row)

    def _set_active(self, actor: Actor, username: str, active: bool) -> UserView:
        with self._writing() as (session, head):
            user = self._user(session, actor)
            self._require(user, Permission.MANAGE_USERS, "enable or disable users")
            target = session.execute(
                select(m.User).where(m.User.username == username)
            ).scalar_one_or_none()
            if target is None:
                raise NotFoundError(f"user {username!r} does not exist; see mmsurv users list")
            if not active and target.username == user.username:
                raise PermissionDenied(
                    f"{user.username} may not disable their own account; ask another admin",
                    reason="self_disable",
                )
            if target.active == active:
                return UserView.of(target)
            target.active = active
            session.flush()
            audit.append(
                session,
                head,
                actor=user.username,
                action="user.enabled" if active else "user.disabled",
                before={"username": username, "active": not active},
                after={"username": username, "active": active},
            )
            return UserView.of(target)

    def disable_user(self, actor: Actor, username: str) -> UserView:
        """Disable an account: it can no longer sign in or act; its history stays."""
        return self._set_active(actor, username, False)

    def enable_user(self, actor: Actor, username: str) -> UserView:
        """Enable a disabled account again."""
        return self._set_active(actor, username, True)

    def set_password(self, actor: Actor, username: str, password: str) -> None:
        """Change a password: users change their own, admins anyone's."""
        if len(password) < self.config.password_min_length:
            raise InputError(
                f"password for {username!r} is {len(password)} characters; at least "
                f"{self.config.password_min_length} are required"
            )
        password_hash = hash_password(password)
        with self._writing() as (session, head):
            user = self._user(session, actor)
            if user.username != username:
                self._require(user, Permission.MANAGE_USERS, "change other users' passwords")
            target = session.execute(
                select(m.User).where(m.User.username == username)
            ).scalar_one_or_none()
            if target is None:
                raise NotFoundError(f"user {username!r} does not exist; see mmsurv users list")
            target.password_hash = password_hash
            audit.append(
                session,
                head,
                actor=user.username,
                action="user.password_changed",
                after={"username": username},
            )

    def authenticate(self, username: str, password: str) -> UserView:
        """The active user with these credentials.

        Raises
        ------
        AuthenticationError
            On an unknown name, a wrong password or a disabled account (the
            message does not say which).
        """
        with read_session(self.engine) as session:
            row = session.execute(
                select(m.User).where(m.User.username == username)
            ).scalar_one_or_none()
        ok = verify_password(row.password_hash if row else None, password)
        if row is None or not ok or not row.active:
            raise AuthenticationError(
                f"sign-in as {username!r} failed: unknown user, wrong password or disabled account"
            )
        return UserView.of(row)

    def get_user(self, username: str) -> UserView:
        with read_session(self.engine) as session:
            row = session.execute(
                select(m.User).where(m.User.username == username)
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"user {username!r} does not exist; see mmsurv users list")
            return UserView.of(row)

    def list_users(self, *, include_disabled: bool = True) -> list[UserView]:
        with read_session(self.engine) as session:
            query = select(m.User).order_by(m.User.username)
            if not include_disabled:
                query = query.where(m.User.active.is_(True))
            return [UserView.of(u) for u in session.execute(query).scalars()]

    # ------------------------------------------------------------------ alerts -> cases

    def ingest_alerts(
        self, alerts: pa.Table | Any, *, source: str = "alerts", actor: str = audit.SYSTEM_ACTOR
    ) -> IngestSummary:
        """Upsert alerts by ``alert_id`` and group the new ones into cases.

        Grouping: an alert joins an open case of the same entity, symbol and
        family whose window, widened by ``[cases] grouping_gap_seconds`` on both
        sides, overlaps the alert's window (the earliest such case when several
        do). An alert that would only join a CLOSED case opens a new case that
        records it follows the closed one; a closed case is never reopened by the
        pipeline. An alert already stored is updated when its content changed
        (and the change audited), otherwise left alone, so re-running a day
        changes nothing.

        Parameters
        ----------
        alerts
            A pyarrow Table or pandas DataFrame with the contract's alert columns.
        source
            Where the alerts came from (a file or partition URI), for messages.

        Raises
        ------
        ContractError
            If a column is missing or a value breaks the contract; the message
            names the source, column, alert id, expectation and what was found.
        """
        records = _alert_records(alerts, source)
        if not records:
            return IngestSummary()
        gap = dt.timedelta(seconds=self.config.grouping_gap_seconds)
        now = audit.utc_now()
        new_count = updated = unchanged = linked = 0
        touched: set[int] = set()
        created_ids: set[int] = set()
        with self._writing() as (session, head):
            existing: dict[str, m.Alert] = {}
            ids = list(records)
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                for row in session.execute(
                    select(m.Alert).where(m.Alert.alert_id.in_(chunk))
                ).scalars():
                    existing[row.alert_id] = row
            fresh: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
            for alert_id, rec in records.items():
                stored = existing.get(alert_id)
                if stored is None:
                    fresh[(rec["entity_id"], rec["symbol"], rec["family"])].append(rec)
                    continue
                before = {k: _json_value(getattr(stored, k)) for k in _ALERT_FIELDS}
                after = {k: _json_value(rec[k]) for k in _ALERT_FIELDS}
                if before == after:
                    unchanged += 1
                    continue
                for k in _ALERT_FIELDS:
                    setattr(stored, k, rec[k])
                stored.updated_at = now
                case = session.get(m.Case, stored.case_id)
                assert case is not None
                session.flush()
                case_before = _snapshot(case, [*_AGGREGATE_FIELDS, "version"])
                self._refresh_aggregates(session, case, now)
                # The evidence changed: whoever read the case before must reload it.
                case.updated_at = now
                session.flush()
                case_after = _snapshot(case, [*_AGGREGATE_FIELDS, "version"])
                b, a = _diff(before, after)
                cb, ca = _diff(case_before, case_after)
                audit.append(
                    session,
                    head,
                    actor=actor,
                    action="alert.updated",
                    case_id=case.id,
                    before={"alert": b, "case": cb},
                    after={"alert": a, "case": ca},
                    details={"alert_id": alert_id, "source": source},
                )
                updated += 1
                touched.add(case.id)
            if fresh:
                created, attached, linked = self._group_new_alerts(
                    session, head, fresh, gap, actor, source, now
                )
                new_count = sum(len(v) for v in fresh.values())
                created_ids.update(created)
                touched.update(created, attached)
        return IngestSummary(
            alerts_read=len(records),
            alerts_new=new_count,
            alerts_updated=updated,
            alerts_unchanged=unchanged,
            cases_created=len(created_ids),
            cases_updated=len(touched - created_ids),
            cases_linked=linked,
            case_ids=tuple(sorted(touched)),
        )

    def _group_new_alerts(
        self,
        session: Session,
        head: m.AuditHead,
        fresh: Mapping[tuple[str, str, str], list[dict[str, Any]]],
        gap: dt.timedelta,
        actor: str,
        source: str,
        now: dt.datetime,
    ) -> tuple[list[int], list[int], int]:
        """Group new alerts into cases in three batched steps (plan, write, audit).

        Returns the ids of the cases created and of the existing cases that got
        alerts, and how many new cases follow a closed one.
        """
        new_cases: list[_NewCase] = []
        attached: dict[int, _Attached] = {}
        # No autoflush while planning: widened windows are written once, with the
        # rest of each case's change, so a case's version rises by one per ingest.
        with session.no_autoflush:
            self._plan(session, fresh, gap, now, new_cases, attached)
        return self._write_plan(session, head, new_cases, attached, actor, source, now)

    @staticmethod
    def _plan(
        session: Session,
        fresh: Mapping[tuple[str, str, str], list[dict[str, Any]]],
        gap: dt.timedelta,
        now: dt.datetime,
        new_cases: list[_NewCase],
        attached: dict[int, _Attached],
    ) -> None:
        for key in sorted(fresh):
            group = sorted(fresh[key], key=lambda r: (r["window_start"], r["alert_id"]))
            lo = min(r["window_start"] for r in group) - gap
            hi = max(r["window_end"] for r in group) + gap
            stored = list(
                session.execute(
                    select(m.Case).where(
                        m.Case.entity_id == key[0],
                        m.Case.symbol == key[1],
                        m.Case.family == key[2],
                        m.Case.window_end >= lo,
                        m.Case.window_start <= hi,
                    )
                ).scalars()
            )
            planned: list[_NewCase] = []
            for rec in group:
                open_near: list[tuple[tuple, m.Case | _NewCase]] = [
                    ((c.window_start, 0, c.id), c)
                    for c in stored
                    if c.status != CaseStatus.CLOSED and _near(c, rec, gap)
                ]
                open_near += [
                    ((p.window_start, 1, n), p) for n, p in enumerate(planned) if _near(p, rec, gap)
                ]
                if open_near:
                    target = min(open_near, key=lambda pair: pair[0])[1]
                    if isinstance(target, _NewCase):
                        target.add(rec)
                        continue
                    entry = attached.get(target.id)
                    if entry is None:
                        before = _snapshot(
                            target, [*_AGGREGATE_FIELDS, *_WORKFLOW_FIELDS, "version"]
                        )
                        entry = attached[target.id] = _Attached(target, before, [])
                    entry.recs.append(rec)
                    # widen the window now so later alerts of the run can chain on
                    target.window_start = min(target.window_start, rec["window_start"])
                    target.window_end = max(target.window_end, rec["window_end"])
                    continue
                closed = [c for c in stored if c.status == CaseStatus.CLOSED and _near(c, rec, gap)]
                follows = max(closed, key=lambda c: (c.closed_at or now, c.id), default=None)
                planned.append(_NewCase(rec, follows))
            new_cases.extend(planned)

    @staticmethod
    def _write_plan(
        session: Session,
        head: m.AuditHead,
        new_cases: list[_NewCase],
        attached: dict[int, _Attached],
        actor: str,
        source: str,
        now: dt.datetime,
    ) -> tuple[list[int], list[int], int]:
        # Attached cases get their final fields before anything is flushed, so each
        # is written once (and its version rises once).
        earlier: dict[int, list[m.Alert]] = defaultdict(list)
        ids = sorted(attached)
        with session.no_autoflush:
            for start in range(0, len(ids), _CHUNK):
                for alert in session.execute(
                    select(m.Alert).where(m.Alert.case_id.in_(ids[start : start + _CHUNK]))
                ).scalars():
                    earlier[alert.case_id].append(alert)
        withdrawn: set[int] = set()
        for case_id in ids:
            case = attached[case_id].case
            if case.proposed_disposition is not None:
                # New evidence arrived after the closure was proposed: nobody may
                # approve a proposal made without it.
                _clear_proposal(case)
                withdrawn.add(case_id)
            recs = attached[case_id].recs
            _set_aggregates(case, [*map(_alert_fields, earlier[case_id]), *recs], now)
        rows = [plan.row(now) for plan in new_cases]
        session.add_all(rows)
        session.flush()  # one batched INSERT gives every new case its id
        for plan, row in zip(new_cases, rows, strict=True):
            session.add_all(
                m.Alert(case_id=row.id, first_seen_at=now, updated_at=now, **rec)
                for rec in plan.recs
            )
        for case_id in ids:
            session.add_all(
                m.Alert(case_id=case_id, first_seen_at=now, updated_at=now, **rec)
                for rec in attached[case_id].recs
            )
        session.flush()  # the alerts, in batches

        for plan, row in zip(new_cases, rows, strict=True):
            after = _snapshot(
                row, ["entity_id", "symbol", "family", "status", *_AGGREGATE_FIELDS, "version"]
            )
            after["follows_case_id"] = row.follows_case_id
            details: dict[str, Any] = {
                "alert_ids": [r["alert_id"] for r in plan.recs],
                "source": source,
            }
            if plan.follows is not None:
                details["reason"] = (
                    f"the alerts would join case {plan.follows.id}, which is CLOSED "
                    f"({plan.follows.disposition}); a closed case is never reopened by new "
                    "alerts"
                )
            audit.append(
                session, head, actor=actor, action="case.created", case_id=row.id,
                after=after, details=details,
            )  # fmt: skip
        for case_id in ids:
            entry = attached[case_id]
            after = _snapshot(entry.case, [*_AGGREGATE_FIELDS, *_WORKFLOW_FIELDS, "version"])
            b, a = _diff(entry.before, after)
            details = {"alert_ids": [r["alert_id"] for r in entry.recs], "source": source}
            if case_id in withdrawn:
                details["proposal_withdrawn"] = (
                    "new alerts joined the case after its closure was proposed; the proposal "
                    "must be made again with the new evidence"
                )
            audit.append(
                session, head, actor=actor, action="case.alert_added", case_id=case_id,
                before=b, after=a, details=details,
            )  # fmt: skip
        linked = sum(plan.follows is not None for plan in new_cases)
        return [row.id for row in rows], ids, linked

    @staticmethod
    def _refresh_aggregates(session: Session, case: m.Case, now: dt.datetime) -> None:
        rows = session.execute(select(m.Alert).where(m.Alert.case_id == case.id)).scalars()
        _set_aggregates(case, [_alert_fields(a) for a in rows], now)

    # ------------------------------------------------------------------ reading

    def _filtered(self, filters: CaseFilter) -> Select[m.Case]:
        query = select(m.Case)
        if filters.status:
            query = query.where(m.Case.status.in_(_upper(filters.status)))
        if filters.family:
            query = query.where(m.Case.family.in_(_upper(filters.family)))
        if filters.severity:
            query = query.where(m.Case.severity.in_(_upper(filters.severity)))
        if filters.typology:
            query = query.where(
                m.Case.id.in_(
                    select(m.Alert.case_id).where(m.Alert.typology.in_(_upper(filters.typology)))
                )
            )
        if filters.entity_id:
            query = query.where(m.Case.entity_id == filters.entity_id)
        if filters.symbol:
            query = query.where(m.Case.symbol == filters.symbol)
        if filters.assignee == "-":
            query = query.where(m.Case.assignee.is_(None))
        elif filters.assignee:
            query = query.where(m.Case.assignee == filters.assignee)
        if filters.date_from:
            start = dt.datetime.combine(filters.date_from, dt.time(), dt.UTC)
            query = query.where(m.Case.window_end >= start)
        if filters.date_to:
            end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            query = query.where(m.Case.window_start < end)
        if filters.case_ids:
            query = query.where(m.Case.id.in_(filters.case_ids))
        return query

    def list_cases(
        self,
        filters: CaseFilter | None = None,
        *,
        sort: str = "score",
        descending: bool = True,
        limit: int | None = 50,
        offset: int = 0,
    ) -> CasePage:
        """One page of cases matching ``filters``, sorted, with the total count.

        ``sort`` is ``score`` (then severity), ``date`` (window start),
        ``severity`` (then score), ``id`` or ``updated``; ties break on the case id
        so that pages never overlap. ``limit=None`` returns every match.

        Raises
        ------
        InputError
            If ``sort`` is unknown or ``limit``/``offset`` are negative.
        """
        if sort not in SORTS:
            raise InputError(f"sort {sort!r} is not a case order; use one of {', '.join(SORTS)}")
        if (limit is not None and limit < 0) or offset < 0:
            raise InputError(f"limit {limit} and offset {offset} must not be negative")
        filters = filters or CaseFilter()
        query = self._filtered(filters)
        sort_keys: dict[str, list[Any]] = {
            "score": [m.Case.score, m.Case.severity_rank],
            "date": [m.Case.window_start],
            "severity": [m.Case.severity_rank, m.Case.score],
            "id": [],
            "updated": [m.Case.updated_at],
        }
        order = [k.desc() if descending else k.asc() for k in sort_keys[sort]]
        order.append(m.Case.id.desc() if descending else m.Case.id.asc())
        with read_session(self.engine) as session:
            total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            sub = query.subquery()
            counts: dict[str, int] = {
                str(status): int(n)
                for status, n in session.execute(
                    select(sub.c.status, func.count()).group_by(sub.c.status)
                ).all()
            }
            page = query.order_by(*order).offset(offset)
            if limit is not None:
                page = page.limit(limit)
            items = tuple(CaseSummary.of(c) for c in session.execute(page).scalars())
        return CasePage(
            items=items,
            total=total,
            limit=limit if limit is not None else total,
            offset=offset,
            counts_by_status=counts,
        )

    def get_case(self, case_id: int) -> CaseDetail:
        """A case with its alerts, comments, audit history and related cases.

        Related cases are the closed case this one follows and the cases that
        follow it.

        Raises
        ------
        NotFoundError
            If there is no such case.
        """
        with read_session(self.engine) as session:
            case = session.get(m.Case, case_id)
            if case is None:
                raise NotFoundError(
                    f"case {case_id} does not exist; list cases with mmsurv cases list"
                )
            alerts = session.execute(
                select(m.Alert)
                .where(m.Alert.case_id == case_id)
                .order_by(m.Alert.window_start, m.Alert.alert_id)
            ).scalars()
            comments = session.execute(
                select(m.Comment).where(m.Comment.case_id == case_id).order_by(m.Comment.id)
            ).scalars()
            history = session.execute(
                select(m.AuditEntry)
                .where(m.AuditEntry.case_id == case_id)
                .order_by(m.AuditEntry.seq)
            ).scalars()
            conditions = [m.Case.follows_case_id == case_id]
            if case.follows_case_id is not None:
                conditions.append(m.Case.id == case.follows_case_id)
            related = session.execute(
                select(m.Case).where(or_(*conditions)).order_by(m.Case.id)
            ).scalars()
            return CaseDetail(
                case=CaseSummary.of(case),
                alerts=tuple(AlertView.of(a) for a in alerts),
                comments=tuple(CommentView.of(c) for c in comments),
                history=tuple(AuditEntryView.of(e) for e in history),
                related=tuple(CaseSummary.of(c) for c in related),
            )

    def case_summary(self, case_id: int) -> CaseSummary:
        """The case alone (cheaper than :meth:`get_case`)."""
        with read_session(self.engine) as session:
            case = session.get(m.Case, case_id)
            if case is None:
                raise NotFoundError(
                    f"case {case_id} does not exist; list cases with mmsurv cases list"
                )
            return CaseSummary.of(case)

    def list_alerts(
        self, filters: CaseFilter | None = None, *, days: Sequence[dt.date] | None = None
    ) -> list[tuple[AlertView, CaseSummary]]:
        """Alerts of the cases matching ``filters``, each with its case (status,
        disposition), ordered by window start; ``days`` keeps alerts of those trading
        days only. For dashboards and the periodic review report."""
        sub = self._filtered(filters or CaseFilter()).subquery()
        query = (
            select(m.Alert, m.Case)
            .join(m.Case, m.Case.id == m.Alert.case_id)
            .where(m.Case.id.in_(select(sub.c.id)))
            .order_by(m.Alert.window_start, m.Alert.alert_id)
        )
        if days is not None:
            query = query.where(m.Alert.day.in_([d.isoformat() for d in days]))
        with read_session(self.engine) as session:
            return [(AlertView.of(a), CaseSummary.of(c)) for a, c in session.execute(query).all()]

    def get_alert(self, alert_id: str) -> AlertView:
        with read_session(self.engine) as session:
            row = session.get(m.Alert, alert_id)
            if row is None:
                raise NotFoundError(f"alert {alert_id!r} is not in the case store")
            return AlertView.of(row)

    def audit_entries(
        self,
        case_id: int | None = None,
        *,
        actor: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[AuditEntryView]:
        """Audit entries in chain order, optionally of one case or one actor."""
        query = select(m.AuditEntry).where(m.AuditEntry.seq > after_seq).order_by(m.AuditEntry.seq)
        if case_id is not None:
            query = query.where(m.AuditEntry.case_id == case_id)
        if actor is not None:
            query = query.where(m.AuditEntry.actor == actor)
        if limit is not None:
            query = query.limit(limit)
        with read_session(self.engine) as session:
            return [AuditEntryView.of(e) for e in session.execute(query).scalars()]

    def verify_chain(self) -> audit.ChainVerdict:
        """Check the whole audit trail's hash chain (see ``audit.verify_rows``)."""
        with read_session(self.engine) as session:
            return audit.verify_chain(session)

    # ------------------------------------------------------------------ workflow

    def assign(
        self, actor: Actor, case_id: int, expected_version: int, assignee: str | None
    ) -> CaseSummary:
        """Give the case to ``assignee`` (``None``: nobody). A NEW case moves to IN_REVIEW.

        Analysts may only take a case that is unassigned or theirs; supervisors
        assign to anyone who works cases.
        """
        with self._changing(
            actor,
            case_id,
            expected_version,
            Action.ASSIGN,
            Permission.WORK_OWN_CASES,
            "assign cases",
        ) as (session, head, user, case, before):
            target = next_status(
                case_id, Action.ASSIGN, case.status, proposal_pending=_pending(case)
            )
            if not allowed(user.role, Permission.ASSIGN_ANY):
                if assignee != user.username:
                    raise PermissionDenied(
                        f"{user.username} is an analyst and may assign cases only to "
                        f"themselves (--to {user.username}); a supervisor assigns others",
                        reason="assign_others",
                    )
                if case.assignee not in (None, user.username):
                    raise PermissionDenied(
                        f"case {case_id} is assigned to {case.assignee}; only a supervisor can "
                        "reassign it",
                        reason="reassign",
                    )
            if assignee is not None:
                worker = session.execute(
                    select(m.User).where(m.User.username == assignee)
                ).scalar_one_or_none()
                if worker is None or not worker.active:
                    raise InputError(
                        f"cannot assign case {case_id} to {assignee!r}: no active user of that "
                        "name; see mmsurv users list"
                    )
                if worker.role not in CASE_WORKERS:
                    raise InputError(
                        f"cannot assign case {case_id} to {assignee}: a {worker.role} does not "
                        "work cases (analysts and supervisors do)"
                    )
            elif case.status == CaseStatus.NEW:
                raise WorkflowError(f"case {case_id} is NEW and unassigned already")
            if case.assignee == assignee:
                raise WorkflowError(
                    f"case {case_id} is assigned to {assignee} already", reason="no_change"
                )
            case.assignee = assignee
            case.status = target.value
            case.updated_at = audit.utc_now()
            self._record_case_change(session, head, user.username, "case.assigned", case, before)
            return CaseSummary.of(case)

    def comment(self, actor: Actor, case_id: int, body: str) -> CommentView:
        """Add a comment (any state, closed included). Comments never conflict, so they
        take no version and do not change the case's version."""
        text = (body or "").strip()
        if not text:
            raise InputError(f"case {case_id}: a comment needs some text")
        with self._writing() as (session, head):
            user = self._user(session, actor)
            self._require(user, Permission.WORK_OWN_CASES, "comment on cases")
            case = self._case_for_change(session, case_id, None)
            next_status(case_id, Action.COMMENT, case.status, proposal_pending=_pending(case))
            row = m.Comment(
                case_id=case_id, author=user.username, body=text, created_at=audit.utc_now()
            )
            session.add(row)
            session.flush()
            audit.append(
                session,
                head,
                actor=user.username,
                action="case.commented",
                case_id=case_id,
                after={"comment_id": row.id, "body": text},
            )
            return CommentView.of(row)

    def escalate(
        self, actor: Actor, case_id: int, expected_version: int, rationale: str
    ) -> CaseSummary:
        """NEW or IN_REVIEW -> ESCALATED, with a rationale. Closing it then needs four eyes."""
        with self._changing(
            actor,
            case_id,
            expected_version,
            Action.ESCALATE,
            Permission.WORK_OWN_CASES,
            "escalate cases",
        ) as (session, head, user, case, before):
            target = next_status(
                case_id, Action.ESCALATE, case.status, proposal_pending=_pending(case)
            )
            self._may_work(user, case, "escalate cases")
            text = self._text(rationale, "rationale", case_id)
            case.status = target.value
            case.updated_at = audit.utc_now()
            self._record_case_change(
                session,
                head,
                user.username,
                "case.escalated",
                case,
                before,
                details={"rationale": text},
            )
            return CaseSummary.of(case)

    def close_case(
        self,
        actor: Actor,
        case_id: int,
        expected_version: int,
        disposition: str,
        rationale: str,
        regulator_reference: str | None = None,
    ) -> CaseSummary:
        """Close the case with a disposition and rationale, or propose closing it.

        When four eyes apply (the case is ESCALATED, or of a severity in
        ``[cases] four_eyes_severities``) the closure is recorded as a proposal and
        the case stays open until a different supervisor approves it; the returned
        summary's ``proposal`` is then set and its status unchanged.

        Raises
        ------
        WorkflowError
            From NEW or CLOSED, with a proposal pending, without a rationale, or
            with REPORTED and no regulator's reference (or a reference with another
            disposition).
        PermissionDenied
            If the actor may not work this case.
        """
        with self._changing(
            actor,
            case_id,
            expected_version,
            Action.CLOSE,
            Permission.WORK_OWN_CASES,
            "close cases",
        ) as (session, head, user, case, before):
            target = next_status(
                case_id, Action.CLOSE, case.status, proposal_pending=_pending(case)
            )
            self._may_work(user, case, "close cases")
            choice = _disposition(case_id, disposition)
            text = self._text(rationale, "rationale", case_id)
            reference = (regulator_reference or "").strip() or None
            if choice is Disposition.REPORTED and reference is None:
                raise WorkflowError(
                    f"case {case_id}: disposition REPORTED needs the regulator's reference "
                    "(--reference, e.g. the STR number the regulator acknowledged)",
                    reason="reference_required",
                )
            if choice is not Disposition.REPORTED and reference is not None:
                raise WorkflowError(
                    f"case {case_id}: a regulator's reference goes with disposition REPORTED "
                    f"only, found {choice}; drop --reference or choose REPORTED",
                    reason="reference_unexpected",
                )
            now = audit.utc_now()
            if self.needs_four_eyes(case):
                case.proposed_disposition = choice.value
                case.proposed_rationale = text
                case.proposed_reference = reference
                case.proposed_by = user.username
                case.proposed_at = now
                action = "case.closure_proposed"
            else:
                case.status = target.value
                case.disposition = choice.value
                case.disposition_rationale = text
                case.regulator_reference = reference
                case.closed_by = user.username
                case.approved_by = None
                case.closed_at = now
                action = "case.closed"
            case.updated_at = now
            self._record_case_change(session, head, user.username, action, case, before)
            return CaseSummary.of(case)

    def approve(
        self, actor: Actor, case_id: int, expected_version: int, note: str | None = None
    ) -> CaseSummary:
        """Approve a proposed closure (four eyes): the case closes as proposed.

        Raises
        ------
        PermissionDenied
            If the actor is not a supervisor, or proposed the closure themselves.
        WorkflowError
            If there is no proposal.
        """
        with self._changing(
            actor,
            case_id,
            expected_version,
            Action.APPROVE,
            Permission.APPROVE,
            "approve closures",
        ) as (session, head, user, case, before):
            target = next_status(
                case_id, Action.APPROVE, case.status, proposal_pending=_pending(case)
            )
            if case.proposed_by == user.username:
                raise PermissionDenied(
                    f"case {case_id}: {user.username} proposed this closure and may not approve "
                    "it too (four eyes); another supervisor must approve it",
                    reason="four_eyes",
                )
            now = audit.utc_now()
            case.status = target.value
            case.disposition = case.proposed_disposition
            case.disposition_rationale = case.proposed_rationale
            case.regulator_reference = case.proposed_reference
            case.closed_by = case.proposed_by
            case.approved_by = user.username
            case.closed_at = now
            _clear_proposal(case)
            case.updated_at = now
            note_text = (note or "").strip() or None
            self._record_case_change(
                session,
                head,
                user.username,
                "case.closure_approved",
                case,
                before,
                details={"note": note_text} if note_text else None,
            )
            return CaseSummary.of(case)

    def reject(self, actor: Actor, case_id: int, expected_version: int, reason: str) -> CaseSummary:
        """Reject a proposed closure with a reason; the case stays open as it was."""
        with self._changing(
            actor,
            case_id,
            expected_version,
            Action.REJECT,
            Permission.APPROVE,
            "reject closures",
        ) as (session, head, user, case, before):
            next_status(case_id, Action.REJECT, case.status, proposal_pending=_pending(case))
            text = self._text(reason, "reason", case_id)
            _clear_proposal(case)
            case.updated_at = audit.utc_now()
            self._record_case_change(
                session,
                head,
                user.username,
                "case.closure_rejected",
                case,
                before,
                details={"reason": text},
            )
            return CaseSummary.of(case)

    def reopen(self, actor: Actor, case_id: int, expected_version: int, reason: str) -> CaseSummary:
        """CLOSED -> IN_REVIEW with a reason; the closure stays in the audit history."""
        with self._changing(
            actor, case_id, expected_version, Action.REOPEN, Permission.REOPEN, "reopen cases"
        ) as (session, head, user, case, before):
            target = next_status(
                case_id, Action.REOPEN, case.status, proposal_pending=_pending(case)
            )
            text = self._text(reason, "reason", case_id)
            case.status = target.value
            case.disposition = None
            case.disposition_rationale = None
            case.regulator_reference = None
            case.closed_by = None
            case.approved_by = None
            case.closed_at = None
            case.updated_at = audit.utc_now()
            self._record_case_change(
                session,
                head,
                user.username,
                "case.reopened",
                case,
                before,
                details={"reason": text},
            )
            return CaseSummary.of(case)

    # ------------------------------------------------------------------ exports

    def record_export(
        self,
        actor: Actor,
        *,
        case_id: int | None = None,
        scope: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntryView:
        """Record that ``actor`` exported evidence: of one case, or of a ``scope``
        (e.g. ``{"entity_id": "E1", "from": "2026-03-01", "to": "2026-03-31"}``).

        ``details`` is free JSON: the pack's file name, manifest hash, key
        fingerprint... The returned entry carries its chain hash, which a pack can
        quote.

        Raises
        ------
        PermissionDenied
            If the actor's role may not export (analysts).
        InputError
            If neither or both of ``case_id`` and ``scope`` are given.
        """
        if (case_id is None) == (scope is None):
            raise InputError("record_export needs exactly one of case_id or scope")
        with self._writing() as (session, head):
            user = self._user(session, actor)
            self._require(user, Permission.EXPORT, "export evidence")
            if case_id is not None and session.get(m.Case, case_id) is None:
                raise NotFoundError(f"case {case_id} does not exist")
            payload: dict[str, Any] = {"details": dict(details or {})}
            if scope is not None:
                payload["scope"] = dict(scope)
            row = audit.append(
                session,
                head,
                actor=user.username,
                action="evidence.exported",
                case_id=case_id,
                details=json.loads(json.dumps(payload, default=str)),
            )
            session.flush()
            return AuditEntryView.of(row)


_AGGREGATE_INPUTS = ("score", "severity", "typology", "account_id", "explanation",
                     "window_start", "window_end")  # fmt: skip


def _alert_fields(alert: m.Alert) -> dict[str, Any]:
    return {k: getattr(alert, k) for k in _AGGREGATE_INPUTS}


def _aggregate(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A case's fields derived from its alerts: the worst severity, the top score and
    its typology and explanation (earliest alert on ties), the span of the windows."""
    top = max(alerts, key=lambda a: (a["score"], SEVERITY_RANK[a["severity"]],
                                     -a["window_start"].timestamp()))  # fmt: skip
    worst = max(alerts, key=lambda a: SEVERITY_RANK[a["severity"]])
    return {
        "severity": worst["severity"],
        "severity_rank": SEVERITY_RANK[worst["severity"]],
        "score": top["score"],
        "typology": top["typology"],
        "typologies": sorted({a["typology"] for a in alerts}),
        "account_ids": sorted({a["account_id"] for a in alerts if a["account_id"]}),
        "explanation": top["explanation"],
        "window_start": min(a["window_start"] for a in alerts),
        "window_end": max(a["window_end"] for a in alerts),
        "alert_count": len(alerts),
    }


def _set_aggregates(case: m.Case, alerts: Sequence[Mapping[str, Any]], now: dt.datetime) -> None:
    changed = False
    for key, value in _aggregate(alerts).items():
        if getattr(case, key) != value:
            setattr(case, key, value)
            changed = True
    if changed:
        case.updated_at = now


class _NewCase:
    """A case the current ingest will create, with the alerts it gathers."""

    def __init__(self, rec: dict[str, Any], follows: m.Case | None) -> None:
        self.recs = [rec]
        self.follows = follows
        self.status = CaseStatus.NEW.value
        self.window_start: dt.datetime = rec["window_start"]
        self.window_end: dt.datetime = rec["window_end"]

    def add(self, rec: dict[str, Any]) -> None:
        self.recs.append(rec)
        self.window_start = min(self.window_start, rec["window_start"])
        self.window_end = max(self.window_end, rec["window_end"])

    def row(self, now: dt.datetime) -> m.Case:
        first = self.recs[0]
        return m.Case(
            status=self.status,
            family=first["family"],
            entity_id=first["entity_id"],
            symbol=first["symbol"],
            follows_case_id=self.follows.id if self.follows else None,
            created_at=now,
            updated_at=now,
            **_aggregate(self.recs),
        )


@dataclass
class _Attached:
    """An existing case the current ingest adds alerts to."""

    case: m.Case
    before: dict[str, Any]
    recs: list[dict[str, Any]]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _near(case: m.Case | _NewCase, rec: Mapping[str, Any], gap: dt.timedelta) -> bool:
    return bool(
        rec["window_start"] <= case.window_end + gap
        and rec["window_end"] >= case.window_start - gap
    )


def _pending(case: m.Case) -> bool:
    return case.proposed_disposition is not None


def _clear_proposal(case: m.Case) -> None:
    case.proposed_disposition = None
    case.proposed_rationale = None
    case.proposed_reference = None
    case.proposed_by = None
    case.proposed_at = None


def _upper(values: Sequence[str]) -> list[str]:
    return [v.upper() for v in values]


def _disposition(case_id: int, value: str) -> Disposition:
    try:
        return Disposition(value.upper())
    except ValueError:
        raise WorkflowError(
            f"case {case_id}: disposition {value!r} is not one of "
            f"{', '.join(d.value for d in Disposition)}",
            reason="bad_disposition",
        ) from None


# ---------------------------------------------------------------------- input


def _alert_records(alerts: pa.Table | Any, source: str) -> dict[str, dict[str, Any]]:
    """Validated alert rows keyed by alert id, in the store's column names."""
    table = (
        alerts
        if isinstance(alerts, pa.Table)
        else pa.Table.from_pandas(alerts, preserve_index=False)
    )
    missing = [c for c in Alerts.required_names() if c not in table.column_names]
    if missing:
        raise ContractError(
            source,
            f"alerts {source}: column {missing[0]!r} is missing (the contract's alert export "
            f"requires {', '.join(Alerts.required_names())}); re-export the alerts",
            column=missing[0],
            expected="present",
            found="absent",
        )
    for col in (Alerts.window_start, Alerts.window_end):
        typ = table.schema.field(col).type
        if not pa.types.is_timestamp(typ) or typ.tz is None:
            raise ContractError(
                source,
                f"alerts {source}: column {col!r} must be timestamp[ns, UTC], found {typ}; "
                "write the alerts with the contract's schema (contract.Alerts.schema())",
                column=col,
                expected="timestamp[ns, UTC]",
                found=str(typ),
            )
        table = table.set_column(
            table.schema.get_field_index(col),
            col,
            table.column(col).cast(pa.timestamp("us", tz="UTC"), safe=False),
        )
    records: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for raw in table.to_pylist():
        try:
            rec = _alert_record(raw)
        except ValueError as exc:
            problems.append(f"alert {raw.get(Alerts.alert_id)!r}: {exc}")
            continue
        previous = records.get(rec["alert_id"])
        if previous is not None and previous != rec:
            problems.append(
                f"alert {rec['alert_id']!r}: appears twice with different content (alert ids "
                "must be unique)"
            )
        records[rec["alert_id"]] = rec
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ContractError(
            source,
            f"alerts {source}: {problems[0]}{more}; fix the detector output and re-run",
            reason="bad_alert",
        )
    return records


def _alert_record(raw: Mapping[str, Any]) -> dict[str, Any]:
    def text(col: str, *, nullable: bool = False) -> str | None:
        value = raw.get(col)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if nullable:
                return None
            raise ValueError(f"column {col!r} must not be null")
        return str(value)

    alert_id = text(Alerts.alert_id)
    family = text(Alerts.family)
    typology = text(Alerts.typology)
    severity = text(Alerts.severity)
    if family not in {f.value for f in Family}:
        raise ValueError(
            f"column 'family' must be one of {[f.value for f in Family]}, found {family!r}"
        )
    if typology not in {t.value for t in Typology}:
        raise ValueError(f"column 'typology' must be a code of typologies.md, found {typology!r}")
    if Typology(typology).family != family:
        raise ValueError(
            f"typology {typology} belongs to family {Typology(typology).family}, found {family}"
        )
    if severity not in SEVERITY_RANK:
        raise ValueError(f"column 'severity' must be LOW, MEDIUM or HIGH, found {severity!r}")
    score = raw.get(Alerts.score)
    if score is None or not (0.0 <= float(score) <= 100.0):
        raise ValueError(f"column 'score' must be within 0-100, found {score!r}")
    start, end = raw.get(Alerts.window_start), raw.get(Alerts.window_end)
    if start is None or end is None:
        raise ValueError("window_start and window_end must not be null")
    if end < start:
        raise ValueError(f"window_end {end} is before window_start {start}")
    features = raw.get(Alerts.features)
    if features is not None and not isinstance(features, str):
        features = json.dumps(features, sort_keys=True, default=str)
    day = raw.get(Alerts.date)
    return {
        "alert_id": alert_id,
        "family": family,
        "typology": typology,
        "detector": text(Alerts.detector),
        "symbol": text(Alerts.symbol),
        "account_id": text(Alerts.account_id, nullable=True),
        "entity_id": text(Alerts.entity_id),
        "window_start": start,
        "window_end": end,
        "score": float(score),
        "severity": severity,
        "order_ids": [str(v) for v in (raw.get(Alerts.order_ids) or [])],
        "trade_ids": [str(v) for v in (raw.get(Alerts.trade_ids) or [])],
        "explanation": text(Alerts.explanation),
        "detector_version": text(Alerts.detector_version, nullable=True),
        "params_hash": text(Alerts.params_hash, nullable=True),
        "features": features,
        "day": str(day) if day is not None else start.date().isoformat(),
    }


__all__ = ["CaseStore", "IngestSummary"]
