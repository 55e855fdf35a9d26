"""The web app on a simulated venue day (``make bench``).

Prints, as the median of several runs with the peak Python memory of one more:

- building a case's market replay for a 60-second window and for a whole-day window
  (thinned to ``[web] replay_max_points``), against reading the partitions it needs
  (the I/O floor, the reference), and the size of the JSON the browser receives;
- the AMM conduct figures of the day (first computation, then from the cache);
- serving the case queue, a case page and its replay data through the app.

Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

DAY = dt.date(2026, 3, 2)
EVENTS = 150_000
RUNS = 5
ALERTS = 300


def _measure(work: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    """Median seconds over ``runs`` calls, and peak traced memory (MiB) of one more."""
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


def _alerts(orders: pd.DataFrame, symbol: str, entity: str, account: str) -> Any:
    from surveillance.contract import Alerts

    step = max(1, len(orders) // ALERTS)
    rows = []
    for i in range(ALERTS):
        row = orders.iloc[min(i * step, len(orders) - 1)]
        start = pd.Timestamp(row["event_time"])
        rows.append(
            {
                "alert_id": f"bench-{i}",
                "family": "SPREAD_MANIPULATION",
                "typology": "SM_QUOTE_FADE",
                "detector": "rule:bench",
                "symbol": symbol,
                "account_id": account,
                "entity_id": entity,
                "window_start": start,
                "window_end": start + pd.Timedelta(seconds=5),
                "score": float(i % 100),
                "severity": ("LOW", "MEDIUM", "HIGH")[i % 3],
                "order_ids": [str(row["order_id"])],
                "trade_ids": [],
                "explanation": "benchmark alert",
            }
        )
    return Alerts.from_pylist(rows)


def run() -> None:
    from fastapi.testclient import TestClient

    from surveillance import storage
    from surveillance.book.engine import ReplayParams, replay_table
    from surveillance.cases import CaseStore
    from surveillance.contract import Accounts, Instruments, Orders, Role
    from surveillance.ingest.pipeline import ingest_day
    from surveillance.settings import resolve
    from surveillance.simulate.day import simulate_day
    from surveillance.web import create_app
    from surveillance.web.dashboard import _CACHE, obligations
    from surveillance.web.replay import build_replay

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = resolve(landing=str(root / "landing"), lake=str(root / "lake"))
        simulate_day(settings.landing_uri, DAY, events=EVENTS, seed=0)
        ingest_day(settings, DAY)
        lake = settings.lake
        accounts = storage.read_table(lake.curated(Accounts.name, DAY)).to_pandas()
        amm = accounts[accounts[Accounts.role] == Role.AFFILIATED_MM.value]
        instruments = storage.read_table(lake.curated(Instruments.name, DAY)).to_pandas()
        for symbol in lake.curated_symbols(Orders.name, DAY):
            table = storage.read_table(lake.curated(Orders.name, DAY, symbol))
            row = instruments[instruments[Instruments.symbol] == symbol].iloc[0]
            params = ReplayParams(
                symbol,
                float(row[Instruments.tick_size]),
                float(row[Instruments.lot_size]),
                frozenset(amm[Accounts.account_id]),
                (10, 25, 50, 100),
            )
            storage.write_partition(replay_table(table, params).top, lake.book("top", DAY, symbol))
        symbol = lake.curated_symbols(Orders.name, DAY)[0]
        orders = storage.read_table(lake.curated(Orders.name, DAY, symbol)).to_pandas()
        middle = pd.Timestamp(orders[Orders.event_time].iloc[len(orders) // 2])

        def floor() -> None:
            storage.read_table(lake.curated(Orders.name, DAY, symbol))
            storage.read_table(lake.book("top", DAY, symbol))
            storage.read_table(lake.curated(Accounts.name, DAY))

        base, _ = _measure(floor)
        for label, start, end in (
            ("60 s window", middle, middle + pd.Timedelta(seconds=60)),
            (
                "whole-day window",
                pd.Timestamp(DAY, tz="UTC"),
                pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1),
            ),
        ):
            ids = orders[(orders[Orders.event_time] >= start)][Orders.order_id].head(20).tolist()
            data = build_replay(lake, symbol, start, end, order_ids=ids).data
            assert data is not None
            size = len(data.model_dump_json()) / 1024

            def replay(s: Any = start, e: Any = end, i: list[str] = ids) -> None:
                build_replay(lake, symbol, s, e, order_ids=i)

            seconds, memory = _measure(replay)
            print(
                f"  replay, {symbol} {label}: {seconds * 1000:.0f} ms (peak {memory:.0f} MiB), "
                f"{len(data.t):,} rows, JSON {size:,.0f} KiB; reading its partitions "
                f"alone {base * 1000:.0f} ms, ratio {seconds / base:.1f}x"
            )

        def fresh() -> None:
            _CACHE._items.clear()
            obligations(lake, [DAY])

        seconds, memory = _measure(fresh)
        cached, _ = _measure(lambda: obligations(lake, [DAY]))
        print(
            f"  AMM conduct figures of the day ({len(lake.curated_symbols(Orders.name, DAY))} "
            f"symbols): {seconds * 1000:.0f} ms (peak {memory:.0f} MiB), cached "
            f"{cached * 1000:.1f} ms"
        )

        store = CaseStore(settings.db_url)
        store.add_user(None, "admin", "admin", "benchmark-password")
        store.add_user("admin", "ana", "analyst", "benchmark-password")
        entity = str(amm[Accounts.entity_id].iloc[0])
        store.ingest_alerts(_alerts(orders, symbol, entity, str(amm[Accounts.account_id].iloc[0])))
        case_id = store.list_cases(limit=1).items[0].id
        store.dispose()
        app = create_app(settings, https_only=False)
        with TestClient(app) as client:
            page = client.get("/login").text
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post(
                "/login",
                data={"username": "ana", "password": "benchmark-password", "csrf_token": token},
            )
            for label, url in (
                (f"case queue ({ALERTS} cases)", "/cases?sort=score"),
                ("case page", f"/cases/{case_id}"),
                ("replay data", f"/cases/{case_id}/replay.json"),
            ):
                client.get(url)

                def get(u: str = url) -> None:
                    client.get(u)

                seconds, _ = _measure(get)
                print(f"  GET {label}: {seconds * 1000:.0f} ms")
        app.state.cases.dispose()
