"""The nightly run report says whether the day got through, and what the run found."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa

from surveillance import settings as settings_module
from surveillance import storage
from surveillance.contract import Alerts
from surveillance.nightly import StageRecord, read_run_summary, write_run_report
from surveillance.settings import Settings

DAY = dt.date(2026, 3, 2)


def _settings(tmp_path: Path) -> Settings:
    return settings_module.resolve(
        landing=str(tmp_path / "landing"), lake=str(tmp_path / "lake"), db_url="sqlite://"
    )


def _alert(alert_id: str, typology: str, severity: str) -> dict[str, object]:
    start = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    return {
        "alert_id": alert_id,
        "family": "MARKET_INTEGRITY",
        "typology": typology,
        "detector": "rule:wash_trade",
        "symbol": "BTC-USD",
        "account_id": "AMM-1",
        "entity_id": "GRP",
        "window_start": start,
        "window_end": start,
        "score": 80.0,
        "severity": severity,
        "order_ids": ["o1"],
        "trade_ids": ["t1"],
        "explanation": "x",
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)


def test_a_successful_run_reports_alerts_stages_and_cases(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    alerts = [
        _alert("a1", "MI_WASH_TRADE", "HIGH"),
        _alert("a2", "MI_WASH_TRADE", "LOW"),
        _alert("a3", "SM_SPOOFING", "HIGH"),
    ]
    table = pa.Table.from_pylist(alerts, schema=Alerts.schema(include_optional=False))
    storage.write_partition(table, storage.join(settings.lake.alerts(DAY), "symbol=BTC-USD"))
    records = [
        StageRecord("book", 1.5, ("BTC-USD",), {"rows": 10}),
        StageRecord("cases", 0.2, (), {"cases_created": 2, "open_cases": 2}),
    ]
    uri = write_run_report(settings, DAY, records, task_states={"ingest": "success"})
    summary = read_run_summary(settings, DAY)
    assert summary is not None
    assert summary["status"] == "succeeded"
    assert summary["alerts"]["by_typology"] == {
        "MI_WASH_TRADE": {"HIGH": 1, "LOW": 1},
        "SM_SPOOFING": {"HIGH": 1},
    }
    assert summary["cases"] == {"cases_created": 2, "open_cases": 2}
    html = Path(uri).read_text()
    assert "SM_SPOOFING" in html and "book" in html
    parser = _Links()
    parser.feed(html)
    assert parser.external == []


def test_a_failed_gate_makes_the_report_red_and_links_the_quality_report(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    quality = {
        "status": "failed",
        "message": "quarantined 2.00% of events, above the 0.10% threshold",
        "events": {"total": 1000, "quarantined": 20, "share": 0.02},
        "threshold": 0.001,
        "top_reasons": [
            {
                "dataset": "orders",
                "reason": "orders.off_tick_price",
                "rows": 20,
                "description": "price is a multiple of tick_size",
            }
        ],
    }
    report = storage.join(settings.lake.quality_report(DAY), "summary.json")
    storage.write_bytes(json.dumps(quality).encode(), report)
    write_run_report(
        settings, DAY, [], task_states={"ingest": "failed", "per_symbol.book": "upstream_failed"}
    )
    summary = read_run_summary(settings, DAY)
    assert summary is not None
    assert summary["status"] == "failed"
    assert summary["failed_tasks"] == ["ingest", "per_symbol.book"]
    assert summary["alerts"]["written"] is False
    html = (Path(settings.lake.report("nightly", DAY)) / "index.html").read_text()
    assert "orders.off_tick_price" in html
    assert "detection did not run" in html
    assert f"../../quality/date={DAY}/index.html" in html
