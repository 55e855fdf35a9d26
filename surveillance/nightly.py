"""The nightly run report: one page an operator reads each morning, green or red.

It gathers what the run's stages left in the lake (the data-quality summary, the
day's alerts, the book states behind the AMM's obligation figures) and what the
scheduler knows (each stage's duration and counts, each task's final state), and
writes ``index.html`` (self-contained) and ``summary.json`` under
``lake.report("nightly", day)``. It is written whether or not the day got through
the gate: a failed run's report says where it stopped and links the data-quality
report that says why.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pandas as pd

from features.obligations import obligations
from surveillance import __version__, storage
from surveillance.contract import Alerts, Severity
from surveillance.settings import Settings

REPORT_KIND = "nightly"
HTML = "index.html"
SUMMARY = "summary.json"

#: Task states that make a run red.
_FAILED_STATES = {"failed", "upstream_failed"}


@dataclass(frozen=True)
class StageRecord:
    """What one stage task did: how long it took and its counts."""

    stage: str
    seconds: float
    symbols: tuple[str, ...] = ()
    counts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> StageRecord:
        """A record from a stage task's JSON summary (``airflow_support.run_stage``)."""
        counts = {
            k: v
            for k, v in summary.items()
            if k not in ("stage", "seconds", "symbols", "day") and isinstance(v, int | float)
        }
        return cls(
            stage=str(summary["stage"]),
            seconds=float(summary.get("seconds") or 0.0),
            symbols=tuple(summary.get("symbols") or ()),
            counts=counts,
        )


def write_run_report(
    settings: Settings,
    day: dt.date,
    records: Sequence[StageRecord],
    *,
    task_states: Mapping[str, str] | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """Write the run report of ``day`` and return the URI of its HTML page."""
    lake = settings.lake
    states = dict(task_states or {})
    failed = sorted(task for task, state in states.items() if state in _FAILED_STATES)
    quality = _quality_summary(settings, day)
    alerts = _alerts(settings, day)
    summary: dict[str, Any] = {
        "day": day.isoformat(),
        "status": "failed" if failed or quality.get("status") == "failed" else "succeeded",
        "failed_tasks": failed,
        "generated_at": (generated_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "software_version": __version__,
        "quality": quality,
        "alerts": _alert_counts(alerts),
        "obligations": [o.as_dict() for o in obligations(lake, [day])],
        "stages": [_stage_row(r) for r in records],
        "cases": _case_counts(records),
        "task_states": dict(sorted(states.items())),
        "links": {
            "quality_report": f"../../quality/date={day.isoformat()}/index.html",
        },
    }
    folder = lake.report(REPORT_KIND, day)
    with storage.replace_partition(folder) as staging:
        storage.write_bytes(
            (json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n").encode(),
            storage.join(staging, SUMMARY),
        )
        storage.write_bytes(render(summary).encode(), storage.join(staging, HTML))
    return storage.join(folder, HTML)


def read_run_summary(settings: Settings, day: dt.date) -> dict[str, Any] | None:
    """The ``summary.json`` of ``day``'s run report, if one was written."""
    uri = storage.join(settings.lake.report(REPORT_KIND, day), SUMMARY)
    if not storage.exists(uri):
        return None
    loaded: dict[str, Any] = json.loads(storage.read_bytes(uri))
    return loaded


def render(summary: Mapping[str, Any]) -> str:
    """The report's HTML page for a summary (see :func:`write_run_report`)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("surveillance", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * float(v):.2f}%"
    env.filters["num"] = lambda v, d=2: "—" if v is None else f"{float(v):,.{d}f}"
    return env.get_template("nightly_report.html").render(s=summary, severities=list(Severity))


def _quality_summary(settings: Settings, day: dt.date) -> dict[str, Any]:
    from surveillance.ingest.report import ReportPaths

    uri = ReportPaths.of(settings.lake, day).summary
    raw: dict[str, Any] = {
        "status": "missing",
        "message": "ingest did not write a data-quality report for this day",
    }
    if storage.exists(uri):
        raw = json.loads(storage.read_bytes(uri))
    return {
        "status": raw.get("status"),
        "message": raw.get("message"),
        "reason": raw.get("reason"),
        "events": raw.get("events", {}),
        "threshold": raw.get("threshold"),
        "top_reasons": list(raw.get("top_reasons") or [])[:10],
        "file_error": raw.get("file_error"),
    }


def _alerts(settings: Settings, day: dt.date) -> pd.DataFrame | None:
    uri = settings.lake.alerts(day)
    if not storage.exists(uri):
        return None
    try:
        return storage.read_table(uri).to_pandas()
    except FileNotFoundError:
        return pd.DataFrame(columns=Alerts.names())


def _alert_counts(alerts: pd.DataFrame | None) -> dict[str, Any]:
    if alerts is None:
        return {"written": False, "total": 0, "by_typology": {}, "by_detector": {}}
    by_typology: dict[str, dict[str, int]] = {}
    for row in alerts[[Alerts.typology, Alerts.severity]].itertuples(index=False):
        counts = by_typology.setdefault(str(row[0]), {})
        counts[str(row[1])] = counts.get(str(row[1]), 0) + 1
    by_detector: dict[str, int] = {}
    for detector in alerts[Alerts.detector].astype(str):
        by_detector[detector] = by_detector.get(detector, 0) + 1
    return {
        "written": True,
        "total": len(alerts),
        "by_typology": dict(sorted(by_typology.items())),
        "by_detector": dict(sorted(by_detector.items())),
    }


def _stage_row(record: StageRecord) -> dict[str, Any]:
    return {
        "stage": record.stage,
        "symbols": ", ".join(record.symbols),
        "seconds": round(record.seconds, 2),
        "counts": dict(record.counts),
    }


def _case_counts(records: Sequence[StageRecord]) -> dict[str, Any]:
    for record in records:
        if record.stage == "cases":
            return dict(record.counts)
    return {}
