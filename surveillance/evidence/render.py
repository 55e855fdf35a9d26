"""HTML rendering of evidence reports: one Jinja2 environment and table helpers.

Reports are single self-contained files: the style sheet is inline, charts are inline
SVG (``surveillance.evidence.charts``), there is no script and no reference to any
other file or host, so a report opens offline and prints to PDF as shown. Autoescape
is on: every value from the data (explanations, comments, account names) is escaped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from surveillance import __version__

_TEMPLATES = Path(__file__).with_name("templates")


def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (autoescaping, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """Render ``template`` with the context every report shares filled in."""
    context.setdefault("software_version", __version__)
    return environment().get_template(template).render(**context)


@dataclass
class TableView:
    """Rows ready for the ``table`` macro: formatted text, with truncation noted."""

    columns: list[str]
    rows: list[dict[str, str]]
    numeric: set[str] = field(default_factory=set)
    total: int = 0
    shown: int = 0
    complete_in: str = ""
    empty: str = ""

    @property
    def truncated(self) -> bool:
        return self.shown < self.total


def fmt(value: Any, *, digits: int | None = None) -> str:
    """One cell as text: times in ISO UTC, floats without noise, lists joined, nulls blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if digits is not None:
            return f"{value:,.{digits}f}"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.8g}" if abs(value) >= 1 else f"{value:.6g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def table_view(
    records: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    limit: int | None = None,
    complete_in: str = "",
    empty: str = "None.",
    digits: Mapping[str, int] | None = None,
) -> TableView:
    """A :class:`TableView` of ``records`` restricted to ``columns``, at most ``limit`` rows."""
    rows = list(records)
    shown = rows if limit is None else rows[:limit]
    numeric = {
        c
        for c in columns
        if any(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) for r in shown)
    }
    places = digits or {}
    return TableView(
        columns=list(columns),
        rows=[{c: fmt(r.get(c), digits=places.get(c)) for c in columns} for r in shown],
        numeric=numeric,
        total=len(rows),
        shown=len(shown),
        complete_in=complete_in,
        empty=empty,
    )


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts with missing values as None (for :func:`table_view`)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in records]
