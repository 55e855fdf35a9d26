"""The nightly DAG parses cleanly and is wired as the runbook describes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    """Every DAG file of the project, parsed as the scheduler would."""
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert "nightly_surveillance" in dagbag.dag_ids


def test_nightly_has_tags_retries_and_a_daily_schedule(dagbag: DagBag) -> None:
    dag = dagbag.dags["nightly_surveillance"]
    assert "nightly" in dag.tags
    assert dag.timetable.expression == "30 1 * * *"
    assert dag.catchup is False
    for task in dag.tasks:
        if task.task_id != "run_report":
            assert task.retries >= 1, task.task_id
            assert task.execution_timeout is not None, task.task_id
            assert task.on_failure_callback, task.task_id


def test_nightly_task_graph(dagbag: DagBag) -> None:
    dag = dagbag.dags["nightly_surveillance"]
    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert downstream["resolve_day"] == ["run_report", "wait_for_export"]
    assert "ingest" in downstream["wait_for_export"]
    assert downstream["ingest"] == ["symbols_of"]
    assert downstream["per_symbol.book"] == ["per_symbol.detect"]
    assert downstream["per_symbol.detect"] == ["create_cases"]
    assert downstream["create_cases"] == ["run_report"]
    assert dag.get_task("run_report").is_teardown


def test_the_marker_sensor_reschedules_instead_of_holding_a_worker(dagbag: DagBag) -> None:
    sensor = dagbag.dags["nightly_surveillance"].get_task("wait_for_export")
    assert sensor.mode == "reschedule"
    assert sensor.timeout == dt.timedelta(hours=6).total_seconds()
