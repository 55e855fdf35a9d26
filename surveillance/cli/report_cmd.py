"""``mmsurv report review``: the periodic conduct report for independent review."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from surveillance import settings as settings_module
from surveillance.cli.cases_cmd import UserOption, open_store, sign_in
from surveillance.cli.options import ConfigOption, DbOption, LakeOption
from surveillance.days import parse_day


def register(app: typer.Typer) -> None:
    """Add the ``report`` command group to ``app``."""
    report = typer.Typer(help="Reports for reviewers and regulators.", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("review")
    def review(
        entity: Annotated[str, typer.Option("--entity", help="The AMM's entity id.")],
        first: Annotated[str, typer.Option("--from", help="First UTC day, YYYY-MM-DD.")],
        last: Annotated[str, typer.Option("--to", help="Last UTC day, YYYY-MM-DD.")],
        out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Write the independent review report of an entity's conduct over a period.

        Obligation compliance, execution quality against clients, priority and
        sequencing, alerts, dispositions, time to close and open cases, with charts
        and an appendix of methods and versions; one self-contained HTML file that
        prints to PDF from any browser. With --user, the report names the signed-in
        user as its author.
        """
        from surveillance.evidence.review import write_review
        from surveillance.evidence.store import review_alert_dispositions, review_cases

        d1, d2 = parse_day(first), parse_day(last)
        settings = settings_module.resolve(lake=lake, db_url=db, config=config)
        creator = ""
        with open_store(lake, db, config) as store:
            if user:
                creator = sign_in(store, user).username
            cases = review_cases(store, entity, d1, d2)
            dispositions = review_alert_dispositions(store, entity, d1, d2)
        result = write_review(
            settings,
            entity,
            d1,
            d2,
            out,
            cases=cases,
            alert_dispositions=dispositions,
            creator=creator,
        )
        metrics = result.metrics
        breaches = sum(1 for o in metrics.obligations if o["met"] == "BREACHED")
        typer.echo(
            f"wrote {result.path}: {entity} {d1} to {d2}, {len(metrics.days_with_data)} day(s) "
            f"of data, {len(metrics.obligations)} symbol-day(s) ({breaches} obligation "
            f"breach(es)), {len(metrics.alerts)} alert(s), {result.cases} case(s)"
        )
        for note in sorted(set(metrics.absent)):
            typer.echo(f"  absent: {note}")
