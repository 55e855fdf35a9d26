"""``mmsurv ingest``: one landing day through the data-quality gate into the lake."""

from __future__ import annotations

import typer

from surveillance.cli.options import ConfigOption, DateOption, LakeOption, LandingOption


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    date: DateOption,
    landing: LandingOption = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate a landing day and write its curated partitions, quarantine and report.

    Every dataset is checked with Great Expectations suites derived from the venue
    contract. Failing rows go to the quarantine with reason codes (an order with a
    bad row leaves whole, with its trades); good rows go to the curated lake, swapped
    in atomically. The data-quality report (HTML, GX results JSON, lineage) is written
    either way.

    Exit codes: 0 the day passed; 1 it failed the gate (too many rows quarantined,
    an empty dataset, a bad reference row); 2 a file breaks the contract (unreadable,
    a missing column, a wrong type) or a bad option; 3 the day has no _SUCCESS marker
    yet (retry later).
    """
    # Imported here: the gate loads Great Expectations, which would slow every command.
    from surveillance import settings as settings_module
    from surveillance.config import load_config
    from surveillance.days import parse_day
    from surveillance.ingest import ingest_day

    settings = settings_module.resolve(landing, lake, None, config)
    result = ingest_day(settings, parse_day(date), config=load_config(settings.config_path))
    typer.echo(
        f"ingest {result.day}: {result.status}; {result.events:,} events, "
        f"{result.quarantined_events:,} quarantined ({result.quarantine_share:.4%}, "
        f"threshold {result.threshold:.4%})"
    )
    for name in sorted(result.rows):
        typer.echo(
            f"  {name:<17} {result.rows[name]:>12,} rows  "
            f"{result.quarantined.get(name, 0):>9,} quarantined"
        )
    for entry in result.top_reasons[:5]:
        typer.echo(f"  reason {entry['dataset']}/{entry['reason']}: {entry['rows']:,} rows")
    typer.echo(f"symbols: {', '.join(result.symbols) or '-'}")
    typer.echo(f"report: {result.report_html}")
