"""Under a real scheduler, a backfill runs the nightly DAG with mapped tasks in parallel."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from surveillance import storage
from surveillance.simulate import simulate_day
from surveillance.storage import Lake

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAYS = (dt.date(2026, 3, 2), dt.date(2026, 3, 3))
DAG_ID = "nightly_surveillance"


def _wait(what: str, check: Any, timeout: float, cluster: Any) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(cluster.home.glob("*.log"))
    )
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def test_a_backfill_of_two_days_runs_mapped_tasks_in_parallel(
    airflow_cluster: Any, tmp_path: Path
) -> None:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    for seed, day in enumerate(DAYS):
        simulate_day(landing, day, symbols=2, events=6_000, seed=20 + seed)
    conf = {"landing": str(landing), "lake": str(lake), "db_url": f"sqlite:///{tmp_path}/c.db"}

    _wait(
        "the DAG processor to register the DAG",
        lambda: airflow_cluster.query(f"SELECT 1 FROM dag WHERE dag_id = '{DAG_ID}'"),
        180,
        airflow_cluster,
    )
    airflow_cluster.cli(
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        "2026-03-03T01:30:00+00:00",
        "--to-date",
        "2026-03-04T01:30:00+00:00",
        "--dag-run-conf",
        json.dumps(conf),
    )

    def finished() -> list[tuple[Any, ...]]:
        runs = airflow_cluster.query(
            "SELECT run_id, state FROM dag_run "
            f"WHERE dag_id = '{DAG_ID}' AND run_type = 'backfill' ORDER BY logical_date"
        )
        done = len(runs) == 2 and all(state in ("success", "failed") for _, state in runs)
        return runs if done else []

    # (The scheduler also starts today's scheduled run, which waits for a marker that never
    # comes; only the backfill's runs are checked.)
    runs = _wait("both backfill runs to finish", finished, 600, airflow_cluster)
    assert [state for _, state in runs] == ["success", "success"]
    for day in DAYS:
        assert storage.read_table(Lake(lake).alerts(day)).num_rows > 0

    books = airflow_cluster.query(
        "SELECT run_id, start_date, end_date FROM task_instance "
        f"WHERE dag_id = '{DAG_ID}' AND task_id = 'per_symbol.book' "
        "AND run_id LIKE 'backfill%' ORDER BY start_date"
    )
    assert len(books) == 4
    overlapping = any(
        a[1] < b[2] and b[1] < a[2] for i, a in enumerate(books) for b in books[i + 1 :]
    )
    assert overlapping, f"mapped book tasks ran one at a time: {books}"
