"""The ingest step of ``make demo``: the simulated day through the data-quality gate."""

from __future__ import annotations

import datetime as dt
import json

from surveillance import storage
from surveillance.settings import Settings


def demo_step(settings: Settings, day: dt.date) -> None:
    """Ingest ``day`` as ``mmsurv ingest`` would and print its data-quality summary."""
    from surveillance.ingest import ingest_day
    from surveillance.ingest.report import SUMMARY

    result = ingest_day(settings, day)
    summary = json.loads(storage.read_bytes(storage.join(result.report_uri, SUMMARY)))
    checks = summary["expectations"]
    met = sum(1 for c in checks if c["success"])
    print(
        f"  gate {result.status.upper()}: {result.events:,} events, "
        f"{result.quarantined_events:,} quarantined ({result.quarantine_share:.4%}; "
        f"threshold {result.threshold:.2%})"
    )
    print(f"  {met} of {len(checks)} Great Expectations checks met")
    for name, counts in summary["datasets"].items():
        if counts["files"]:
            print(
                f"  {name:<17} {counts['files']} file(s) {counts['rows']:>10,} rows "
                f"-> {counts['curated']:>10,} curated"
            )
    for entry in result.top_reasons[:3]:
        print(f"  quarantined {entry['dataset']}/{entry['reason']}: {entry['rows']:,} rows")
    print(f"  curated symbols: {', '.join(result.symbols)}")
    print(f"  data-quality report: {result.report_html}")
