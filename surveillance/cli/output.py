"""Printing lists and records as a table, JSON or CSV (``--format``)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from surveillance.cli.options import OutputFormat


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat = OutputFormat.table,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print ``rows`` to stdout in ``fmt``; columns default to the first row's keys."""
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if fmt is OutputFormat.json:
        json.dump([{c: r.get(c) for c in cols} for r in rows], sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _plain(row.get(c)) for c in cols})
    else:
        table = Table(title=title, show_lines=False)
        for col in cols:
            table.add_column(col)
        for row in rows:
            table.add_row(*(_plain(row.get(c)) for c in cols))
        Console(width=200).print(table)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)
