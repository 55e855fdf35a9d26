"""The nightly DAG runs a whole day under Airflow, idempotently, and is loud on bad data."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from surveillance import storage
from surveillance.simulate import simulate_day
from surveillance.storage import Lake, Landing

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY = dt.date(2026, 3, 2)
#: The scheduled run that processes DAY fires the morning after.
LOGICAL = "2026-03-03T01:30:00+00:00"


@pytest.fixture(scope="module")
def venue_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated landing day with misconduct (two symbols)."""
    root = tmp_path_factory.mktemp("nightly-landing")
    simulate_day(root, DAY, symbols=2, events=12_000, seed=11)
    return root


def _conf(landing: Path, tmp_path: Path) -> dict[str, Any]:
    return {
        "landing": str(landing),
        "lake": str(tmp_path / "lake"),
        "db_url": f"sqlite:///{tmp_path / 'cases.db'}",
    }


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _alert_count(lake: Path) -> int:
    return storage.read_table(Lake(lake).alerts(DAY)).num_rows


def test_a_day_runs_end_to_end_and_a_rerun_changes_nothing(
    dag_runner: Callable[..., Any], venue_day: Path, tmp_path: Path
) -> None:
    conf = _conf(venue_day, tmp_path)
    first = dag_runner("nightly_surveillance.py", "nightly", LOGICAL, conf)
    assert first.state == "success", first.log[-4000:]
    assert set(first.tasks.values()) == {"success"}, first.tasks
    assert len(first.states_of("per_symbol.book")) == 2
    alerts, cases = _alert_count(tmp_path / "lake"), _count(tmp_path / "cases.db", "cases")
    assert alerts > 0 and cases > 0
    report = Path(Lake(tmp_path / "lake").report("nightly", DAY)) / "summary.json"
    assert '"status": "succeeded"' in report.read_text()

    second = dag_runner("nightly_surveillance.py", "nightly", LOGICAL, conf)
    assert second.state == "success", second.log[-4000:]
    assert _alert_count(tmp_path / "lake") == alerts
    assert _count(tmp_path / "cases.db", "cases") == cases


def test_corrupt_data_fails_at_the_gate_with_its_report_and_no_alerts(
    dag_runner: Callable[..., Any], venue_day: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(venue_day, landing)
    victim = Path(Landing(landing).files("orders", DAY)[0])
    table = pq.read_table(victim)
    index = table.schema.get_field_index("price")
    table = table.set_column(index, "price", table.column("price").cast(pa.string()))
    pq.write_table(table, victim)

    result = dag_runner("nightly_surveillance.py", "nightly", LOGICAL, _conf(landing, tmp_path))
    assert result.state == "failed"
    assert result.tasks["ingest"] == "failed"
    assert result.tasks["create_cases"] == "upstream_failed"
    assert result.tasks["run_report"] == "success"
    assert "column 'price' must be float64, found string" in result.log
    lake = Lake(tmp_path / "lake")
    assert (Path(lake.quality_report(DAY)) / "index.html").exists()
    assert not storage.exists(lake.alerts(DAY))
    assert not storage.exists(lake.curated("orders", DAY))
    assert '"status": "failed"' in (Path(lake.report("nightly", DAY)) / "summary.json").read_text()


def test_a_day_without_its_marker_waits_then_fails_as_not_ready(
    dag_runner: Callable[..., Any], venue_day: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(venue_day, landing)
    Path(Landing(landing).marker(DAY)).unlink()
    result = dag_runner(
        "nightly_surveillance.py",
        "nightly",
        LOGICAL,
        _conf(landing, tmp_path),
        env={"MMSURV_MARKER_POKE_SECONDS": "1", "MMSURV_MARKER_TIMEOUT_SECONDS": "4"},
    )
    assert result.state == "failed"
    assert result.tasks["wait_for_export"] == "failed"
    assert result.tasks["ingest"] == "upstream_failed"
    assert "Sensor has timed out" in result.log
