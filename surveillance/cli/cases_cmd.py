"""``mmsurv cases ...``: the case workflow from the command line.

Every command except ``ingest-alerts`` acts as a signed-in user: ``--user NAME``
(or ``MMSURV_USER``) with the password from ``MMSURV_PASSWORD`` or, when that is
unset, a hidden prompt. Commands that change a case take ``--expect-version``,
the version of the case you looked at (``cases show`` prints it); when the case
changed since, the command refuses with a conflict instead of overwriting. Without
it the command acts on the version it reads just before acting.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from surveillance import settings as settings_module
from surveillance.cli.options import (
    ConfigOption,
    DateOption,
    DbOption,
    FormatOption,
    LakeOption,
    OutputFormat,
)
from surveillance.cli.output import emit
from surveillance.days import parse_day

if TYPE_CHECKING:
    from surveillance.cases import CaseStore, CaseSummary, UserView

ENV_USER = "MMSURV_USER"
ENV_PASSWORD = "MMSURV_PASSWORD"

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar=ENV_USER,
        help=f"Act as this user; the password comes from {ENV_PASSWORD} or a prompt.",
        show_default=False,
    ),
]
CaseArgument = Annotated[int, typer.Argument(help="The case id (mmsurv cases list shows it).")]
VersionOption = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        help="The case version you looked at; refused with a conflict if the case changed "
        "since. [default: the version read just before acting]",
        show_default=False,
    ),
]

LIST_COLUMNS = (
    "id",
    "status",
    "severity",
    "score",
    "family",
    "typology",
    "entity_id",
    "symbol",
    "window_start",
    "alert_count",
    "assignee",
    "disposition",
    "version",
)


def open_store(lake: str | None, db: str | None, config: str | None) -> CaseStore:
    """The case store named by the common options (or their environment variables)."""
    from surveillance.cases import CaseStore

    return CaseStore.from_settings(settings_module.resolve(lake=lake, db_url=db, config=config))


def sign_in(store: CaseStore, user: str | None) -> UserView:
    """Authenticate ``user`` with ``MMSURV_PASSWORD`` or a hidden prompt.

    Raises
    ------
    InputError
        If no user is named.
    AuthenticationError
        If the credentials are wrong or the account is disabled.
    """
    from surveillance.errors import InputError

    if not user:
        raise InputError(
            f"this command acts as a signed-in user: pass --user NAME (or set {ENV_USER}) "
            f"and the password in {ENV_PASSWORD} or at the prompt"
        )
    password = os.environ.get(ENV_PASSWORD)
    if password is None:
        password = typer.prompt(f"password for {user}", hide_input=True)
    return store.authenticate(user, password)


def flat_case(case: CaseSummary) -> dict[str, Any]:
    """A case as one flat row (the proposal spread over ``proposed_*`` columns)."""
    row = case.to_dict()
    proposal = row.pop("proposal") or {}
    row["proposed_disposition"] = proposal.get("disposition")
    row["proposed_by"] = proposal.get("proposed_by")
    row["proposed_rationale"] = proposal.get("rationale")
    row["proposed_reference"] = proposal.get("regulator_reference")
    row["typologies"] = ",".join(row["typologies"])
    row["account_ids"] = ",".join(row["account_ids"])
    return row


def _state(case: CaseSummary) -> str:
    if case.proposal is not None:
        return (
            f"case {case.id}: closure proposed by {case.proposal.proposed_by} "
            f"({case.proposal.disposition}); it stays {case.status} until another supervisor "
            f"approves it (four eyes); version {case.version}"
        )
    who = f", assigned to {case.assignee}" if case.assignee else ""
    outcome = f" as {case.disposition}" if case.disposition else ""
    return f"case {case.id}: {case.status}{outcome}{who}; version {case.version}"


def _version(store: CaseStore, case_id: int, expected: int | None) -> int:
    return expected if expected is not None else store.case_summary(case_id).version


def register(app: typer.Typer) -> None:
    """Add the ``cases`` command group to ``app``."""
    cases = typer.Typer(
        help="The case workflow: list, show, assign, comment, escalate, close, approve, "
        "reject, reopen; ingest-alerts loads a day's alerts into cases.",
        no_args_is_help=True,
    )
    app.add_typer(cases, name="cases")

    @cases.command("ingest-alerts")
    def ingest_alerts(
        date: DateOption,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Upsert one day's alerts from the lake into the case store and group them into
        cases (the pipeline's case stage; re-running a day changes nothing).

        Exit code 3 when the day has no alerts yet (run mmsurv detect first).
        """
        from surveillance.cases import create_cases

        settings = settings_module.resolve(lake=lake, db_url=db, config=config)
        result = create_cases(settings, parse_day(date))
        typer.echo(result.describe())

    @cases.command("list")
    def list_cases(
        status: Annotated[
            list[str] | None,
            typer.Option("--status", help="NEW, IN_REVIEW, ESCALATED or CLOSED (repeatable)."),
        ] = None,
        family: Annotated[
            list[str] | None, typer.Option("--family", help="Alert family (repeatable).")
        ] = None,
        typology: Annotated[
            list[str] | None,
            typer.Option("--typology", help="Conduct code of any alert (repeatable)."),
        ] = None,
        severity: Annotated[
            list[str] | None, typer.Option("--severity", help="LOW, MEDIUM, HIGH (repeatable).")
        ] = None,
        entity: Annotated[str | None, typer.Option("--entity", help="Entity id.")] = None,
        symbol: Annotated[str | None, typer.Option("--symbol", help="Instrument.")] = None,
        assignee: Annotated[
            str | None, typer.Option("--assignee", help="User name; '-' for unassigned.")
        ] = None,
        date_from: Annotated[
            str | None, typer.Option("--from", help="First day (YYYY-MM-DD) the window touches.")
        ] = None,
        date_to: Annotated[
            str | None, typer.Option("--to", help="Last day (YYYY-MM-DD) the window touches.")
        ] = None,
        sort: Annotated[
            str, typer.Option("--sort", help="score, date, severity, id or updated.")
        ] = "score",
        ascending: Annotated[
            bool, typer.Option("--ascending", help="Lowest first (default: highest first).")
        ] = False,
        limit: Annotated[int, typer.Option("--limit", help="Cases per page.")] = 50,
        offset: Annotated[int, typer.Option("--offset", help="Cases to skip.")] = 0,
        user: UserOption = None,
        fmt: FormatOption = OutputFormat.table,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """The case queue, filtered and sorted (highest score first by default)."""
        from surveillance.cases import CaseFilter

        with open_store(lake, db, config) as store:
            sign_in(store, user)
            filters = CaseFilter(
                status=tuple(status or ()),
                family=tuple(family or ()),
                typology=tuple(typology or ()),
                severity=tuple(severity or ()),
                entity_id=entity,
                symbol=symbol,
                assignee=assignee,
                date_from=parse_day(date_from) if date_from else None,
                date_to=parse_day(date_to) if date_to else None,
            )
            page = store.list_cases(
                filters, sort=sort, descending=not ascending, limit=limit, offset=offset
            )
        rows = [flat_case(c) for c in page.items]
        if fmt is OutputFormat.json:
            typer.echo(
                json.dumps(
                    {
                        "total": page.total,
                        "limit": page.limit,
                        "offset": page.offset,
                        "counts_by_status": page.counts_by_status,
                        "items": [c.to_dict() for c in page.items],
                    },
                    indent=2,
                )
            )
            return
        shown = f"{page.offset + 1}-{page.offset + len(rows)}" if rows else "none"
        emit(
            rows,
            fmt,
            columns=LIST_COLUMNS if fmt is OutputFormat.table else None,
            title=f"cases {shown} of {page.total}",
        )

    @cases.command("show")
    def show(
        case_id: CaseArgument,
        user: UserOption = None,
        fmt: FormatOption = OutputFormat.table,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """One case: summary, alerts, comments, history and related cases.

        json prints everything; csv prints the case as one row.
        """
        with open_store(lake, db, config) as store:
            sign_in(store, user)
            detail = store.get_case(case_id)
        if fmt is OutputFormat.json:
            typer.echo(json.dumps(detail.to_dict(), indent=2))
            return
        if fmt is OutputFormat.csv:
            emit([flat_case(detail.case)], fmt)
            return
        case = flat_case(detail.case)
        emit(
            [{"field": k, "value": v} for k, v in case.items() if v not in (None, "")],
            fmt,
            title=f"case {detail.case.id}",
        )
        emit(
            [
                {
                    "alert_id": a.alert_id,
                    "typology": a.typology,
                    "detector": a.detector,
                    "account_id": a.account_id,
                    "window_start": a.to_dict()["window_start"],
                    "window_end": a.to_dict()["window_end"],
                    "score": a.score,
                    "severity": a.severity,
                    "explanation": a.explanation,
                }
                for a in detail.alerts
            ],
            fmt,
            title="alerts",
        )
        if detail.comments:
            emit([c.to_dict() for c in detail.comments], fmt, title="comments")
        if detail.related:
            emit(
                [flat_case(c) for c in detail.related],
                fmt,
                columns=LIST_COLUMNS,
                title="related cases",
            )
        emit(
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "after": json.dumps(e.after, sort_keys=True) if e.after else "",
                    "details": json.dumps(e.details, sort_keys=True) if e.details else "",
                }
                for e in detail.history
            ],
            fmt,
            title="history",
        )

    @cases.command("assign")
    def assign(
        case_id: CaseArgument,
        to: Annotated[
            str | None,
            typer.Option("--to", help="User to give the case to (analysts: themselves)."),
        ] = None,
        unassign: Annotated[
            bool, typer.Option("--unassign", help="Take the case away from its assignee.")
        ] = False,
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Assign a case (a NEW case moves to IN_REVIEW)."""
        from surveillance.errors import InputError

        if (to is None) == (not unassign):
            raise InputError("cases assign needs either --to USER or --unassign")
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.assign(actor, case_id, version, None if unassign else to)
        typer.echo(_state(case))

    @cases.command("comment")
    def comment(
        case_id: CaseArgument,
        text: Annotated[str, typer.Option("--text", help="The comment.")],
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Add a comment to a case (allowed in every state)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            row = store.comment(actor, case_id, text)
        typer.echo(f"case {case_id}: comment {row.id} added by {row.author}")

    @cases.command("escalate")
    def escalate(
        case_id: CaseArgument,
        rationale: Annotated[str, typer.Option("--rationale", help="Why it is escalated.")],
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Escalate a NEW or IN_REVIEW case (closing it then needs four eyes)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.escalate(actor, case_id, version, rationale)
        typer.echo(_state(case))

    @cases.command("close")
    def close(
        case_id: CaseArgument,
        disposition: Annotated[
            str,
            typer.Option(
                "--disposition",
                help="NO_FURTHER_ACTION, FALSE_POSITIVE, CONDUCT_REMEDIATED or REPORTED.",
            ),
        ],
        rationale: Annotated[str, typer.Option("--rationale", help="Why, in words.")],
        reference: Annotated[
            str | None,
            typer.Option("--reference", help="The regulator's reference (REPORTED only)."),
        ] = None,
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Close a case, or propose closing it when four eyes apply (HIGH or ESCALATED)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.close_case(actor, case_id, version, disposition, rationale, reference)
        typer.echo(_state(case))

    @cases.command("approve")
    def approve(
        case_id: CaseArgument,
        note: Annotated[str | None, typer.Option("--note", help="Optional note.")] = None,
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Approve a proposed closure (supervisors; never your own proposal)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.approve(actor, case_id, version, note)
        typer.echo(_state(case))

    @cases.command("reject")
    def reject(
        case_id: CaseArgument,
        reason: Annotated[str, typer.Option("--reason", help="Why the closure is rejected.")],
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Reject a proposed closure (supervisors); the case stays open."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.reject(actor, case_id, version, reason)
        typer.echo(_state(case))

    @cases.command("reopen")
    def reopen(
        case_id: CaseArgument,
        reason: Annotated[str, typer.Option("--reason", help="Why the case is reopened.")],
        expect_version: VersionOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Reopen a CLOSED case (supervisors); it returns to IN_REVIEW."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            version = _version(store, case_id, expect_version)
            case = store.reopen(actor, case_id, version, reason)
        typer.echo(_state(case))
