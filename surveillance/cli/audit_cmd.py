"""``mmsurv audit verify|list``: the audit trail's hash chain."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from surveillance.cli.cases_cmd import UserOption, open_store, sign_in
from surveillance.cli.options import ConfigOption, DbOption, FormatOption, LakeOption, OutputFormat
from surveillance.cli.output import emit


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group to ``app``."""
    audit = typer.Typer(help="The audit trail and its hash chain.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify(
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Check every audit entry's hash and link; exit 1 naming the first bad entry.

        Needs no sign-in: it reveals only whether the chain is intact and its head
        hash, which you can record elsewhere to anchor the chain.
        """
        from surveillance.cases import AuditChainBroken

        with open_store(lake, db, config) as store:
            verdict = store.verify_chain()
        if not verdict.ok:
            raise AuditChainBroken(f"audit chain broken: {verdict.message}")
        typer.echo(verdict.message)

    @audit.command("list")
    def list_entries(
        case_id: Annotated[int | None, typer.Option("--case", help="Only this case.")] = None,
        actor: Annotated[str | None, typer.Option("--actor", help="Only this user.")] = None,
        user: UserOption = None,
        fmt: FormatOption = OutputFormat.table,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Audit entries in chain order, with their hashes."""
        with open_store(lake, db, config) as store:
            sign_in(store, user)
            entries = store.audit_entries(case_id, actor=actor)
        if fmt is OutputFormat.json:
            typer.echo(json.dumps([e.to_dict() for e in entries], indent=2))
            return
        rows = [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "case_id": e.case_id,
                "before": json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                "after": json.dumps(e.after, sort_keys=True) if e.after is not None else "",
                "details": json.dumps(e.details, sort_keys=True) if e.details is not None else "",
                "hash": e.hash if fmt is OutputFormat.csv else e.hash[:12],
            }
            for e in entries
        ]
        emit(rows, fmt, title="audit trail")
