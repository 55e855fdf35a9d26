"""The nightly surveillance run: one trading day, from the venue's export to cases and a report.

This file only wires tasks. Every task body calls one stage function of the
``surveillance`` package, the same functions the ``mmsurv`` CLI calls; tasks pass
the trading day, symbols and small summaries, never DataFrames. Imports of the
package happen inside tasks so that parsing this file stays cheap.

Schedule: daily, after the venue's export (``MMSURV_NIGHTLY_CRON``, default 01:30,
in ``MMSURV_NIGHTLY_TZ``, default UTC). A run processes the UTC trading day before
its run date, or the day given in the ``day`` Param. Backfills use Airflow's
``airflow backfill create``; reruns of a date replace that date's outputs.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task, task_group
from airflow.sdk.bases.sensor import PokeReturnValue

from surveillance.airflow_support import settings_params

DAG_ID = "nightly_surveillance"
NOTIFY_CONN_ID = "mmsurv_notify"

SCHEDULE = CronTriggerTimetable(
    os.environ.get("MMSURV_NIGHTLY_CRON", "30 1 * * *"),
    timezone=os.environ.get("MMSURV_NIGHTLY_TZ", "UTC"),
)
START_DATE = dt.datetime.fromisoformat(os.environ.get("MMSURV_START_DATE", "2026-01-01")).replace(
    tzinfo=dt.UTC
)
MARKER_POKE = dt.timedelta(seconds=float(os.environ.get("MMSURV_MARKER_POKE_SECONDS", "300")))
MARKER_TIMEOUT = dt.timedelta(
    seconds=float(os.environ.get("MMSURV_MARKER_TIMEOUT_SECONDS", str(6 * 3600)))
)


def _notify_failure(context: Any) -> None:
    """On-failure callback: log, and send a webhook or email if ``mmsurv_notify`` exists."""
    from surveillance.airflow_support import notify_task_failure

    notify_task_failure(context, NOTIFY_CONN_ID)


@dag(
    dag_id=DAG_ID,
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=2,
    tags=["mm-surveillance", "nightly"],
    doc_md=__doc__,
    params={
        **settings_params(),
        "day": Param(
            "",
            type="string",
            description="Trading day YYYY-MM-DD; empty means the UTC day before the run",
        ),
    },
    default_args={
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(hours=2),
        "on_failure_callback": _notify_failure,
    },
)
def nightly_surveillance() -> None:
    @task
    def resolve_day() -> str:
        from surveillance.airflow_support import trading_day_of_run

        return trading_day_of_run(get_current_context())

    @task.sensor(poke_interval=MARKER_POKE, timeout=MARKER_TIMEOUT, mode="reschedule")
    def wait_for_export(day: str) -> PokeReturnValue:
        from surveillance.airflow_support import export_ready

        return PokeReturnValue(is_done=export_ready(get_current_context(), day), xcom_value=day)

    @task(execution_timeout=dt.timedelta(hours=3))
    def ingest(day: str) -> dict[str, Any]:
        from surveillance.airflow_support import run_stage
        from surveillance.ingest import ingest_day

        return run_stage(get_current_context(), "ingest", ingest_day, day)

    @task
    def symbols_of(ingested: dict[str, Any]) -> list[str]:
        return list(ingested["symbols"])

    @task_group
    def per_symbol(symbol: str, day: str) -> Any:
        @task
        def book(symbol: str, day: str) -> dict[str, Any]:
            from surveillance.airflow_support import run_stage
            from surveillance.book import build_book

            return run_stage(get_current_context(), "book", build_book, day, symbols=[symbol])

        @task
        def detect(book_done: dict[str, Any], day: str) -> dict[str, Any]:
            from surveillance.airflow_support import run_stage
            from surveillance.detect import detect_day

            symbol = book_done["symbols"][0]
            return run_stage(get_current_context(), "detect", detect_day, day, symbols=[symbol])

        return detect(book(symbol, day), day)

    @task
    def create_cases(detected: list[dict[str, Any]], day: str) -> dict[str, Any]:
        from surveillance.airflow_support import run_stage
        from surveillance.cases import create_cases as create_cases_stage

        return run_stage(get_current_context(), "cases", create_cases_stage, day)

    @task(retries=0)
    def run_report(day: str) -> str:
        from surveillance.airflow_support import write_report_of_run

        return write_report_of_run(get_current_context(), day)

    day = resolve_day()
    ready = wait_for_export(day)
    ingested = ingest(ready)
    detected = per_symbol.partial(day=ready).expand(symbol=symbols_of(ingested))
    cases = create_cases(detected, ready)
    # The report is a teardown: it is written whether or not the day got through (an operator
    # opens it when the run goes red), and it does not decide the run's state, so a failed
    # gate still leaves the run failed.
    cases >> run_report(day).as_teardown(setups=day)


nightly = nightly_surveillance()

if __name__ == "__main__":
    nightly.test()
