"""``mmsurv detect``, ``mmsurv alerts export``, ``mmsurv evaluate`` and ``mmsurv run``."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from surveillance import settings as settings_module
from surveillance.cli.options import (
    ConfigOption,
    DateOption,
    DbOption,
    FormatOption,
    LakeOption,
    LandingOption,
    OutputFormat,
)
from surveillance.cli.output import emit
from surveillance.contract import Alerts
from surveillance.days import parse_day
from surveillance.settings import Settings


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


#: Alert columns that hold lists: CSV renders them as JSON arrays.
LIST_COLUMNS = (Alerts.order_ids, Alerts.trade_ids)


def export_alerts(alerts: pd.DataFrame, out: Path, fmt: ExportFormat) -> int:
    """Write alerts in the contract's export columns; returns the number written.

    Parquet keeps the contract's Arrow types. CSV writes timestamps in ISO 8601
    with nanoseconds and ``Z``, and list columns as JSON arrays (``["O-1","O-2"]``),
    which spreadsheets show as text and every language parses back.
    """
    from surveillance.detect import alerts_table
    from surveillance.storage import write_table

    table = alerts_table(alerts)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt is ExportFormat.parquet:
        write_table(table, str(out))
        return table.num_rows
    frame = table.to_pandas()
    for col in LIST_COLUMNS:
        frame[col] = [json.dumps(list(v) if v is not None else []) for v in frame[col]]
    for col in (Alerts.window_start, Alerts.window_end):
        frame[col] = [
            t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}{t.nanosecond:03d}Z"
            for t in frame[col]
        ]
    frame.to_csv(out, index=False)
    return len(frame)


def register(app: typer.Typer) -> None:
    """Add ``detect``, ``alerts export``, ``evaluate`` and ``run`` to ``app``."""

    @app.command("detect")
    def detect(
        date: DateOption,
        lake: LakeOption = None,
        config: ConfigOption = None,
        fmt: FormatOption = OutputFormat.table,
    ) -> None:
        """Compute features and run every rule detector and anomaly model for one day.

        Reads the day's curated data and book outputs from the lake, writes feature
        tables under ``features/`` and replaces the day's alerts under ``alerts/``.
        Prints the alerts by typology.
        """
        from surveillance.detect import detect_day

        settings = settings_module.resolve(lake=lake, config=config)
        result = detect_day(settings, parse_day(date))
        _print_detect(result, fmt)

    alerts_app = typer.Typer(help="Alerts produced by `mmsurv detect`.", no_args_is_help=True)
    app.add_typer(alerts_app, name="alerts")

    @alerts_app.command("export")
    def export(
        date: DateOption,
        out: Annotated[Path, typer.Option("--out", help="File to write.")],
        fmt: Annotated[
            ExportFormat,
            typer.Option("--format", help="parquet (typed) or csv (lists as JSON arrays)."),
        ] = ExportFormat.parquet,
        lake: LakeOption = None,
    ) -> None:
        """Write one day's alerts in the contract's export columns (Parquet or CSV)."""
        from surveillance.detect import read_alerts_day

        settings = settings_module.resolve(lake=lake)
        alerts = read_alerts_day(settings, parse_day(date))
        n = export_alerts(alerts, out, fmt)
        typer.echo(f"wrote {n} alerts to {out}")

    @app.command("evaluate")
    def evaluate(
        labels: Annotated[
            str,
            typer.Option(
                "--labels",
                help="Landing root with labels/date=YYYY-MM-DD/ (as `mmsurv simulate` "
                "writes), or a Parquet file or folder of labels.",
            ),
        ],
        alerts: Annotated[
            str,
            typer.Option(
                "--alerts", help="Alerts export (Parquet or CSV) or an alerts partition folder."
            ),
        ],
        fmt: FormatOption = OutputFormat.table,
    ) -> None:
        """Precision, recall and F1 per typology of alerts against ground-truth labels.

        A label is detected when an alert of the same typology, symbol and account
        overlaps its window (venue-export-v1). Also prints the false-alert load:
        alerts per symbol-hour and per symbol and clean day (days with no label).
        """
        from surveillance.evaluate import evaluate as run_evaluation
        from surveillance.evaluate import read_alerts, read_labels

        label_frame, symbols, days = read_labels(labels)
        alert_frame = read_alerts(alerts)
        result = run_evaluation(
            label_frame, alert_frame, symbols_by_day=symbols or None, days=days or None
        )
        if fmt is OutputFormat.json:
            typer.echo(
                json.dumps({"typologies": result.table(), "load": result.summary()}, indent=2)
            )
            return
        emit(result.table(), fmt, title="Detection quality per typology")
        if fmt is OutputFormat.table:
            emit([result.summary()], fmt, title="False-alert load")

    @app.command("run")
    def run(
        date: DateOption,
        landing: LandingOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
        fmt: FormatOption = OutputFormat.table,
    ) -> None:
        """Ingest, rebuild the book, detect and create cases for one day, without Airflow.

        Exit code 3 when the landing day has no ``_SUCCESS`` marker yet.
        """
        settings = settings_module.resolve(landing=landing, lake=lake, db_url=db, config=config)
        day = parse_day(date)
        run_day(settings, day, fmt)


def run_day(settings: Settings, day: dt.date, fmt: OutputFormat = OutputFormat.table) -> None:
    """The one-day pipeline the ``run`` command performs (ingest, book, detect, cases)."""
    from surveillance.book import build_book
    from surveillance.cases import create_cases
    from surveillance.detect import detect_day
    from surveillance.ingest import ingest_day

    typer.echo(f"ingest {day.isoformat()} from {settings.landing_uri}", err=True)
    ingest_day(settings, day)
    typer.echo("book", err=True)
    build_book(settings, day)
    typer.echo("detect", err=True)
    result = detect_day(settings, day)
    typer.echo(f"cases ({settings.db_url})", err=True)
    cases = create_cases(settings, day)
    _print_detect(result, fmt)
    if fmt is OutputFormat.table:
        emit([cases.summary()], fmt, title="Cases")


def _print_detect(result: Any, fmt: OutputFormat) -> None:
    rows = [
        {"typology": typology, "alerts": count} for typology, count in result.by_typology.items()
    ]
    rows.append({"typology": "ALL", "alerts": result.alerts})
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({**result.summary(), "by_typology": result.by_typology}, indent=2))
        return
    emit(rows, fmt, title=f"Alerts for {result.day.isoformat()} ({len(result.symbols)} symbols)")
    for reason in getattr(result, "skipped", []) if fmt is OutputFormat.table else []:
        typer.echo(f"skipped {reason}", err=True)
