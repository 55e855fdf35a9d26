"""The pipeline stage: a day's alerts from the lake into cases.

``create_cases`` is what ``mmsurv cases ingest-alerts``, ``mmsurv run``, the
Airflow DAG and the demo call. It reads ``lake.alerts(day)`` and upserts them
into the case store named by the settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from surveillance import storage
from surveillance.cases.store import CaseStore, IngestSummary
from surveillance.cases.views import CaseFilter
from surveillance.errors import NotReadyError
from surveillance.settings import Settings


@dataclass(frozen=True)
class CaseResult:
    """What :func:`create_cases` did for one day."""

    day: dt.date
    source: str
    db_url: str
    ingest: IngestSummary
    open_cases: int

    def summary(self) -> dict[str, Any]:
        """JSON-able figures (for Airflow's XCom, logs and reports)."""
        s = self.ingest
        return {
            "day": self.day.isoformat(),
            "source": self.source,
            "alerts_read": s.alerts_read,
            "alerts_new": s.alerts_new,
            "alerts_updated": s.alerts_updated,
            "alerts_unchanged": s.alerts_unchanged,
            "cases_created": s.cases_created,
            "cases_updated": s.cases_updated,
            "cases_linked": s.cases_linked,
            "case_ids": list(s.case_ids),
            "open_cases": self.open_cases,
        }

    def describe(self) -> str:
        s = self.ingest
        return (
            f"{s.alerts_read} alerts for {self.day}: {s.alerts_new} new, {s.alerts_updated} "
            f"updated, {s.alerts_unchanged} unchanged; {s.cases_created} cases opened "
            f"({s.cases_linked} following a closed case), {s.cases_updated} updated; "
            f"{self.open_cases} open cases in the queue"
        )


def create_cases(settings: Settings, day: dt.date) -> CaseResult:
    """Upsert the alerts of ``day`` from the lake into the case store and group them.

    Idempotent: running it twice for a day changes nothing the second time.

    Raises
    ------
    NotReadyError
        If the day has no alerts partition yet (detection has not run).
    ContractError
        If the alerts break the contract's alert format.
    """
    source = settings.lake.alerts(day)
    if not storage.exists(source):
        raise NotReadyError(
            f"alerts for {day}: no partition at {source}; run mmsurv detect --date {day} first"
        )
    table = storage.read_table(source)
    with CaseStore.from_settings(settings) as store:
        summary = store.ingest_alerts(table, source=source)
        open_cases = store.list_cases(
            CaseFilter(status=("NEW", "IN_REVIEW", "ESCALATED")), limit=0
        ).total
    return CaseResult(day, source, settings.db_url, summary, open_cases)
