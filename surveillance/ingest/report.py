"""The per-day data-quality report: what an operator opens when the nightly run goes red.

One folder per day (``Lake.quality_report(day)``), replaced whole on every ingest:

- ``index.html``: a self-contained page (no scripts, no external assets): the gate's
  verdict, counts per dataset and symbol, every expectation's outcome, the quarantine
  reasons with example rows, and the lineage;
- ``summary.json``: the same facts for machines (the CLI, the nightly run report);
- ``validation.json``: the Great Expectations validation results, one per suite;
- ``lineage.json``: the source files with sizes, row counts and SHA-256, and versions.

Apart from the ingest time, everything is a function of the landing files and the
configuration, written with sorted keys: a re-ingest gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from surveillance import storage
from surveillance.storage import Lake

HTML = "index.html"
SUMMARY = "summary.json"
VALIDATION = "validation.json"
LINEAGE = "lineage.json"

#: Result keys that list every failing row; cut to ``keep`` entries in the saved JSON.
_LONG_LISTS = ("unexpected_index_list", "unexpected_list", "unexpected_rows")


@dataclass(frozen=True)
class ReportPaths:
    """Where the day's report files are."""

    folder: str
    html: str
    summary: str
    validation: str
    lineage: str

    @classmethod
    def of(cls, lake: Lake, day: dt.date) -> ReportPaths:
        folder = lake.quality_report(day)
        return cls(
            folder,
            storage.join(folder, HTML),
            storage.join(folder, SUMMARY),
            storage.join(folder, VALIDATION),
            storage.join(folder, LINEAGE),
        )


def saved_results(
    results: Mapping[str, Mapping[str, Any]], *, ingested_at: dt.datetime, keep: int
) -> dict[str, Any]:
    """GX results as saved: load times set to the ingest time, row lists cut to ``keep``.

    Counts stay complete; every failing row is in the quarantine dataset, so the
    JSON stays small even on a day where a whole file fails.
    """
    stamp = ingested_at.strftime("%Y%m%dT%H%M%S.%fZ")
    saved: dict[str, Any] = {}
    for suite, result in results.items():
        copy = json.loads(json.dumps(result, default=str))
        markers = copy.get("meta", {}).get("batch_markers", {})
        if "ge_load_time" in markers:
            markers["ge_load_time"] = stamp
        for outcome in copy.get("results", []):
            detail = outcome.get("result") or {}
            for key in _LONG_LISTS:
                values = detail.get(key)
                if isinstance(values, list) and len(values) > keep:
                    detail[key] = values[:keep]
                    detail[f"{key}_truncated_from"] = len(values)
        saved[suite] = copy
    return saved


def render_html(summary: Mapping[str, Any], lineage: Mapping[str, Any]) -> str:
    """The self-contained HTML page of the report."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("surveillance.ingest", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("quality_report.html").render(s=summary, lineage=lineage)


def dumps(data: Any) -> str:
    """Canonical JSON: sorted keys, NaN as null, two-space indent, trailing newline."""
    return json.dumps(_clean(data), sort_keys=True, indent=2, allow_nan=False) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def write_report(
    lake: Lake,
    day: dt.date,
    *,
    summary: Mapping[str, Any],
    validation: Mapping[str, Any],
    lineage: Mapping[str, Any],
) -> ReportPaths:
    """Replace the day's report folder with the four files, atomically."""
    paths = ReportPaths.of(lake, day)
    with storage.replace_partition(paths.folder) as staging:
        storage.write_bytes(render_html(summary, lineage).encode(), storage.join(staging, HTML))
        storage.write_bytes(dumps(summary).encode(), storage.join(staging, SUMMARY))
        storage.write_bytes(dumps(validation).encode(), storage.join(staging, VALIDATION))
        storage.write_bytes(dumps(lineage).encode(), storage.join(staging, LINEAGE))
    return paths
