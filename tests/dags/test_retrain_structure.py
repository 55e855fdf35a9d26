"""The weekly retraining DAG parses, is scheduled weekly, and trains on the trailing window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from surveillance import airflow_support

DAGS = Path(__file__).parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    """Every DAG file of the project, parsed as the scheduler would."""
    return DagBag(dag_folder=str(DAGS))


def test_retraining_is_weekly_with_retries_and_notification(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    dag = dagbag.dags["retrain_models"]
    assert dag.timetable.expression == "0 3 * * 0"
    assert "models" in dag.tags
    (train,) = dag.tasks
    assert train.retries >= 1 and train.on_failure_callback


def _context(tmp_path: Path, **params: str) -> dict[str, object]:
    return {
        "params": {"lake": str(tmp_path / "lake"), **params},
        "logical_date": dt.datetime(2026, 3, 8, 3, 0, tzinfo=dt.UTC),
    }


def test_the_window_is_the_configured_trailing_days_before_the_run(tmp_path: Path) -> None:
    first, last = airflow_support.training_window(_context(tmp_path))
    assert last == dt.date(2026, 3, 7)
    assert (last - first).days + 1 == 14


def test_explicit_params_choose_the_window(tmp_path: Path) -> None:
    context = _context(tmp_path, first="2026-02-01", last="2026-02-10")
    assert airflow_support.training_window(context) == (dt.date(2026, 2, 1), dt.date(2026, 2, 10))
