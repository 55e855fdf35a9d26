"""The thin layer between Airflow task contexts and the pipeline's stage functions.

Stages know nothing about Airflow (style: data flows one way through plain
functions). DAG tasks need four things done the same way everywhere: settings from
the run's Params, the trading day of a run, errors turned into the right Airflow
outcome (bad data fails at once, without pointless retries; anything else may be
retried), and a small JSON summary of each stage for the run report. They live
here, once. Airflow itself is imported lazily, inside functions, so that the
package imports without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

from surveillance import settings as settings_module
from surveillance.days import parse_day
from surveillance.errors import DataQualityError, InputError
from surveillance.notify import EmailTarget, FailureNotice, WebhookTarget, send_failure_notice
from surveillance.settings import Settings


def settings_params() -> dict[str, Any]:
    """The DAG Params that :func:`settings_of` reads: landing, lake, case store, config.

    Their defaults come from the ``MMSURV_*`` environment of the DAG processor, so a
    deployment sets them once for every DAG.
    """
    import os

    from airflow.sdk import Param

    def env(name: str, default: str = "") -> Any:
        return Param(os.environ.get(name, default), type="string")

    return {
        "landing": env("MMSURV_LANDING", "./mmsurv-data/landing"),
        "lake": env("MMSURV_LAKE", "./mmsurv-data/lake"),
        "db_url": env("MMSURV_DB_URL"),
        "config": env("MMSURV_CONFIG"),
    }


def settings_of(context: Mapping[str, Any]) -> Settings:
    """The run's settings from its Params (empty strings fall back to the environment)."""
    params = context.get("params") or {}
    return settings_module.resolve(
        landing=params.get("landing") or None,
        lake=params.get("lake") or None,
        db_url=params.get("db_url") or None,
        config=params.get("config") or None,
    )


def trading_day_of_run(context: Mapping[str, Any]) -> str:
    """The trading day a run processes: the ``day`` Param, else the UTC day before the run.

    A nightly run fires after midnight UTC, once the venue has exported the day that
    just ended; manual runs without a logical date use their ``run_after`` time.
    """
    params = context.get("params") or {}
    if params.get("day"):
        return parse_day(str(params["day"])).isoformat()
    moment = context.get("logical_date")
    if moment is None:
        moment = context["dag_run"].run_after
    return (moment.astimezone(dt.UTC) - dt.timedelta(days=1)).date().isoformat()


def export_ready(context: Mapping[str, Any], day: str) -> bool:
    """Whether the venue's ``_SUCCESS`` marker for ``day`` is in the landing root."""
    return settings_of(context).landing.is_ready(parse_day(day))


def run_stage(
    context: Mapping[str, Any],
    stage: str,
    function: Callable[..., Any],
    day: str,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run one stage function for ``day`` and return its JSON-able summary.

    Bad input (the data-quality gate, a contract violation, a bad configuration) is
    raised as ``AirflowFailException``: retrying cannot fix it, and the operator
    should hear at once. Other failures propagate, so Airflow's retries apply.
    """
    from airflow.sdk.exceptions import AirflowFailException

    settings = settings_of(context)
    started = time.perf_counter()
    try:
        result = function(settings, parse_day(day), **kwargs)
    except (InputError, DataQualityError) as exc:
        raise AirflowFailException(f"[{exc.reason}] {exc}") from exc
    summary = summarise(result)
    summary.update(
        stage=stage,
        day=day,
        seconds=round(time.perf_counter() - started, 3),
        symbols=list(kwargs.get("symbols") or summary.get("symbols") or []),
    )
    return summary


def summarise(result: Any) -> dict[str, Any]:
    """The scalar fields (and lists of scalars) of a stage's result, for XCom and reports."""
    if result is None:
        return {}
    if hasattr(result, "summary") and callable(result.summary):
        raw = result.summary()
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        raw = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    elif isinstance(result, Mapping):
        raw = dict(result)
    else:
        return {"result": str(result)}
    return {k: _plain(v) for k, v in raw.items() if _plain(v) is not _SKIP}


_SKIP = object()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, bool | int | float | str) for v in value
    ):
        return list(value)
    if isinstance(value, Mapping) and all(
        isinstance(v, bool | int | float | str) for v in value.values()
    ):
        return {str(k): v for k, v in value.items()}
    return _SKIP


def training_window(context: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    """The days a retraining run trains on: the ``first``/``last`` Params, else the
    ``[anomaly] training_days`` days ending the UTC day before the run."""
    from models.anomaly.config import AnomalyConfig
    from surveillance.config import load_config

    params = context.get("params") or {}
    last = parse_day(str(params["last"])) if params.get("last") else None
    if last is None:
        last = parse_day(trading_day_of_run({**context, "params": {}}))
    if params.get("first"):
        return parse_day(str(params["first"])), last
    config = load_config(settings_of(context).config_path).section("anomaly", AnomalyConfig)
    return last - dt.timedelta(days=config.training_days - 1), last


def run_training(context: Mapping[str, Any]) -> dict[str, Any]:
    """Train and register the anomaly models on the run's training window."""
    from airflow.sdk.exceptions import AirflowFailException

    from models.anomaly.train import train_models

    first, last = training_window(context)
    started = time.perf_counter()
    try:
        result = train_models(settings_of(context), first, last)
    except InputError as exc:
        raise AirflowFailException(f"[{exc.reason}] {exc}") from exc
    summary = summarise(result)
    summary.update(
        stage="train",
        first=first.isoformat(),
        last=last.isoformat(),
        seconds=round(time.perf_counter() - started, 3),
    )
    return summary


def notify_task_failure(context: Mapping[str, Any], conn_id: str) -> None:
    """Send a failure notice for the failed task in ``context``.

    The Airflow connection ``conn_id`` picks the channel: type ``http``/``https``
    posts JSON to its host URL (a chat webhook, for instance); type ``smtp`` or
    ``email`` mails ``extra.to`` from ``extra.from`` through its host. Without the
    connection the failure is only logged.
    """
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    params = context.get("params") or {}
    reason = getattr(exception, "reason", None) or type(exception).__name__
    message = str(exception) if exception is not None else "the task failed"
    if message.startswith("[") and "]" in message:
        reason = message[1 : message.index("]")]
    day = params.get("day") or None
    if not day and ti is not None:
        try:
            day = ti.xcom_pull(task_ids="resolve_day") or None
        except Exception:  # the callback must never fail on a missing XCom
            day = None
    report_uri = None
    if day:
        report_uri = settings_of(context).lake.quality_report(parse_day(day))
    notice = FailureNotice(
        dag_id=getattr(ti, "dag_id", "?"),
        run_id=getattr(ti, "run_id", "?"),
        task_id=getattr(ti, "task_id", "?"),
        trading_day=day,
        reason=reason,
        message=message,
        report_uri=report_uri,
    )
    send_failure_notice(notice, _target_of(conn_id))


def _target_of(conn_id: str) -> WebhookTarget | EmailTarget | None:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # no such connection: notifying is optional
        return None
    extra = conn.extra_dejson or {}
    if conn.conn_type in ("http", "https"):
        scheme = conn.conn_type if conn.schema in (None, "") else conn.schema
        host = conn.host or ""
        url = host if "://" in host else f"{scheme}://{host}"
        if conn.port:
            url = f"{url}:{conn.port}"
        return WebhookTarget(url + str(extra.get("endpoint", "")))
    if conn.conn_type in ("smtp", "email"):
        recipients = extra.get("to", [])
        if isinstance(recipients, str):
            recipients = [r.strip() for r in recipients.split(",") if r.strip()]
        return EmailTarget(
            host=conn.host or "localhost",
            port=int(conn.port or 25),
            sender=str(extra.get("from", "mm-surveillance@localhost")),
            recipients=tuple(recipients),
            username=conn.login or None,
            password=conn.password or None,
            starttls=bool(extra.get("starttls", False)),
        )
    return None


def write_report_of_run(context: Mapping[str, Any], day: str) -> str:
    """Write the nightly run report from this run's stage summaries and task states."""
    from surveillance.nightly import StageRecord, write_run_report

    ti_self = context["ti"]
    records: list[StageRecord] = []
    # Tasks reach the metadata database only through the Execution API (Airflow 3).
    found = ti_self.get_task_states(dag_id=ti_self.dag_id, run_ids=[ti_self.run_id])
    states = {
        str(task): str(state)
        for task, state in dict(found.get(ti_self.run_id, {})).items()
        if task != ti_self.task_id
    }
    for task_id in ("ingest", "per_symbol.book", "per_symbol.detect", "create_cases"):
        pulled = ti_self.xcom_pull(task_ids=task_id, default=None)
        values = pulled if isinstance(pulled, list) else [pulled]
        for value in values:
            if isinstance(value, Mapping) and "stage" in value:
                records.append(StageRecord.from_summary(value))
    path = write_run_report(settings_of(context), parse_day(day), records, task_states=states)
    return str(path)
