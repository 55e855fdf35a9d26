"""The case store on SQLite (``make bench``).

Prints, as the median of several runs with peak Python memory:

- upserting a day of alerts into a new store (grouping, cases, one audit entry per
  change) against the floor of storing the same rows with one bulk INSERT into a
  bare table (the reference);
- re-running the same day (every alert unchanged: nothing written);
- a queue page (open cases, by score, 50 rows, with the total), a case page
  (alerts, comments, history, related) and one workflow action (assign);
- verifying the audit chain.

Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ALERTS = 3_000
RUNS = 3
T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
TYPOLOGIES = ("FR_TRADING_AHEAD", "PT_PRIORITY_BREACH", "SM_QUOTE_FADE", "MI_WASH_TRADE")


def _measure(work: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    """Median seconds over ``runs`` untraced calls, and peak traced memory (MiB) of one more."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def _alerts(n: int) -> Any:
    """A day of alerts: 20 entities x 5 symbols x 4 typologies, bursts through the day."""
    from surveillance.contract import Alerts, Typology

    rng = random.Random(7)
    rows = []
    for i in range(n):
        typology = Typology(rng.choice(TYPOLOGIES))
        start = T0 + dt.timedelta(seconds=rng.randrange(0, 86_000))
        rows.append(
            {
                "alert_id": f"B-{i:06d}",
                "family": typology.family.value,
                "typology": typology.value,
                "detector": "rule:bench",
                "symbol": f"SYM{rng.randrange(5)}-USDT",
                "account_id": f"ACC-{rng.randrange(40)}",
                "entity_id": f"ENT-{rng.randrange(20)}",
                "window_start": start,
                "window_end": start + dt.timedelta(seconds=rng.randrange(1, 120)),
                "score": round(rng.uniform(10, 100), 1),
                "severity": rng.choice(("LOW", "MEDIUM", "HIGH")),
                "order_ids": [f"O-{i}-{k}" for k in range(3)],
                "trade_ids": [f"T-{i}"],
                "explanation": "benchmark alert",
                "features": '{"x": {"value": 1.0, "baseline": 0.5}}',
                "date": "2026-03-02",
            }
        )
    return Alerts.from_pylist(rows)


def run() -> None:
    from surveillance.cases import CaseFilter, CaseStore

    table = _alerts(ALERTS)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000))

        def fresh_ingest() -> None:
            with CaseStore(f"sqlite:///{Path(tmp) / f'run{next(counter)}.db'}") as store:
                store.ingest_alerts(table)

        def floor() -> None:
            path = Path(tmp) / f"floor{next(counter)}.db"
            conn = sqlite3.connect(path)
            cols = table.column_names
            conn.execute(f"CREATE TABLE alerts ({', '.join(cols)})")
            rows = [tuple(str(v) for v in r.values()) for r in table.to_pylist()]
            with conn:
                conn.executemany(f"INSERT INTO alerts VALUES ({', '.join('?' * len(cols))})", rows)
            conn.close()

        ingest_s, ingest_mb = _measure(fresh_ingest)
        floor_s, _ = _measure(floor)
        print(
            f"  ingest {ALERTS} alerts into a new store: {ingest_s:.2f} s median "
            f"({ALERTS / ingest_s:,.0f} alerts/s), peak {ingest_mb:.0f} MiB; reference "
            f"bulk INSERT of the rows: {floor_s:.3f} s; ratio {ingest_s / floor_s:.0f}x"
        )

        url = f"sqlite:///{Path(tmp) / 'main.db'}"
        store = CaseStore(url)
        summary = store.ingest_alerts(table)
        print(f"  {summary.cases_created} cases from {ALERTS} alerts (900 s grouping gap)")
        rerun_s, _ = _measure(lambda: store.ingest_alerts(table))
        print(f"  re-run of the same day (no change): {rerun_s:.2f} s median")

        open_only = CaseFilter(status=("NEW", "IN_REVIEW", "ESCALATED"))
        page_s, _ = _measure(lambda: store.list_cases(open_only, sort="score", limit=50), 7)
        case_id = store.list_cases(sort="score", limit=1).items[0].id
        case_s, _ = _measure(lambda: store.get_case(case_id), 7)
        print(
            f"  queue page (50 of {summary.cases_created}, with total): {page_s * 1e3:.1f} ms; "
            f"case page: {case_s * 1e3:.1f} ms (medians)"
        )

        store.add_user(None, "admin", "admin", "benchmark-password")
        store.add_user("admin", "sup", "supervisor", "benchmark-password")
        ids = [c.id for c in store.list_cases(limit=7).items]
        times = []
        for cid in ids:
            case = store.case_summary(cid)
            start = time.perf_counter()
            store.assign("sup", cid, case.version, "sup")
            times.append(time.perf_counter() - start)
        print(f"  one workflow action (assign, audited): {statistics.median(times) * 1e3:.1f} ms")

        entries = len(store.audit_entries())
        verify_s, verify_mb = _measure(store.verify_chain)
        print(
            f"  verify the audit chain of {entries} entries: {verify_s:.2f} s median "
            f"({entries / verify_s:,.0f} entries/s), peak {verify_mb:.0f} MiB"
        )
        store.dispose()
