"""Weekly retraining of the anomaly models on the trailing window of curated days.

This file only wires tasks. The task trains, calibrates and registers every
configured anomaly model (``models.anomaly.train.train_models``) on the
``[anomaly] training_days`` days that end the day before the run, or on the
``first``/``last`` Params when given; the nightly run scores with the newest
registered model. Schedule: ``MMSURV_RETRAIN_CRON`` (default Sundays 03:00) in
``MMSURV_NIGHTLY_TZ`` (default UTC).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from surveillance.airflow_support import settings_params

DAG_ID = "retrain_models"
NOTIFY_CONN_ID = "mmsurv_notify"


def _notify_failure(context: Any) -> None:
    """On-failure callback: log, and send a webhook or email if ``mmsurv_notify`` exists."""
    from surveillance.airflow_support import notify_task_failure

    notify_task_failure(context, NOTIFY_CONN_ID)


@dag(
    dag_id=DAG_ID,
    schedule=CronTriggerTimetable(
        os.environ.get("MMSURV_RETRAIN_CRON", "0 3 * * 0"),
        timezone=os.environ.get("MMSURV_NIGHTLY_TZ", "UTC"),
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["mm-surveillance", "models"],
    doc_md=__doc__,
    params={
        **settings_params(),
        "first": Param("", type="string", description="First training day; empty: trailing"),
        "last": Param("", type="string", description="Last training day; empty: yesterday"),
    },
    default_args={
        "retries": 1,
        "retry_delay": dt.timedelta(minutes=10),
        "execution_timeout": dt.timedelta(hours=4),
        "on_failure_callback": _notify_failure,
    },
)
def retrain_models() -> None:
    @task
    def train() -> dict[str, Any]:
        from surveillance.airflow_support import run_training

        return run_training(get_current_context())

    train()


retrain = retrain_models()

if __name__ == "__main__":
    retrain.test()
