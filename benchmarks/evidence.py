"""Evidence packs and the review report on a simulated venue day (``make bench``).

Prints, as the median of several runs with peak Python memory:

- reading the day's top of book from the book stage's output against replaying the
  journal with the book engine when that output is absent (the reference);
- exporting a signed pack of one case window, and verifying it;
- the independent review report of the AMM's entity over the day.

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
RUNS = 3


def _measure(work: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    """Median seconds over ``runs`` untraced calls, and peak traced memory (MiB) of one more.

    Memory tracing slows Python code many times over, so it never overlaps a timing.
    """
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


def run() -> None:
    from surveillance import storage
    from surveillance.book.engine import ReplayParams, replay_table
    from surveillance.contract import Accounts, Instruments, Orders, Role
    from surveillance.evidence.container import verify_pack
    from surveillance.evidence.keys import generate_keypair, load_private_key
    from surveillance.evidence.market import load_top
    from surveillance.evidence.pack import CaseEvidence, build_pack
    from surveillance.evidence.review import write_review
    from surveillance.ingest.pipeline import ingest_day
    from surveillance.settings import resolve
    from surveillance.simulate.day import simulate_day

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = resolve(landing=str(root / "landing"), lake=str(root / "lake"))
        simulate_day(settings.landing_uri, DAY, events=EVENTS, seed=0)
        ingest_day(settings, DAY)
        lake = settings.lake
        accounts = storage.read_table(lake.curated(Accounts.name, DAY)).to_pandas()
        amm = accounts[accounts[Accounts.role] == Role.AFFILIATED_MM.value]
        entity = str(amm[Accounts.entity_id].iloc[0])
        instruments = storage.read_table(lake.curated(Instruments.name, DAY)).to_pandas()
        symbol = lake.curated_symbols(Orders.name, DAY)[0]
        orders_table = storage.read_table(lake.curated(Orders.name, DAY, symbol))
        orders = orders_table.to_pandas()
        row = instruments[instruments[Instruments.symbol] == symbol].iloc[0]
        params = ReplayParams(
            symbol,
            float(row[Instruments.tick_size]),
            float(row[Instruments.lot_size]),
            frozenset(amm[Accounts.account_id]),
            (10, 25, 50, 100),
        )
        replay_table(orders_table, params)  # compile the engine before timing it
        makers = set(amm[Accounts.account_id])
        replay, replay_mem = _measure(lambda: load_top(lake, DAY, symbol, makers))
        storage.write_partition(
            replay_table(orders_table, params).top, lake.book("top", DAY, symbol)
        )
        stored, stored_mem = _measure(lambda: load_top(lake, DAY, symbol, makers))
        print(
            f"  top of book, {symbol}, {len(orders):,} events: from the book output "
            f"{stored:.3f} s (peak {stored_mem:.0f} MiB); replayed with the book engine "
            f"{replay:.3f} s (peak {replay_mem:.0f} MiB); ratio {replay / stored:.1f}x"
        )

        middle = pd.Timestamp(orders[Orders.event_time].iloc[len(orders) // 2])
        trade = orders[(orders[Orders.event_type] == "FILL")].iloc[0]
        case = CaseEvidence(
            case={
                "id": 1,
                "symbol": symbol,
                "entity_id": entity,
                "window_start": middle,
                "window_end": middle + pd.Timedelta(seconds=30),
                "status": "NEW",
            },
            alerts=[
                {
                    "alert_id": "A-bench",
                    "family": "PREFERENTIAL_TREATMENT",
                    "typology": "PT_OFF_MARKET_EXECUTION",
                    "detector": "rule:bench",
                    "symbol": symbol,
                    "account_id": str(amm[Accounts.account_id].iloc[0]),
                    "entity_id": entity,
                    "window_start": middle,
                    "window_end": middle + pd.Timedelta(seconds=30),
                    "score": 50.0,
                    "severity": "MEDIUM",
                    "order_ids": [str(trade[Orders.order_id])],
                    "trade_ids": [str(trade[Orders.trade_id])],
                    "explanation": "benchmark",
                }
            ],
        )
        key = load_private_key(generate_keypair(root / "keys").private_key)
        pack = root / "pack.zip"
        seconds, memory = _measure(
            lambda: build_pack(
                settings, [case], pack, private_key=key, creator="bench", scope={"case_id": 1}
            )
        )
        print(
            f"  evidence pack of a 30 s case window (+5 min margins): {seconds:.2f} s "
            f"(peak {memory:.0f} MiB), {pack.stat().st_size / 1024:.0f} KiB"
        )
        seconds, memory = _measure(lambda: verify_pack(pack))
        print(f"  verify the pack: {seconds * 1000:.1f} ms (peak {memory:.1f} MiB)")
        out = root / "review.html"
        seconds, memory = _measure(
            lambda: write_review(settings, entity, DAY, DAY, out, cases=[]), runs=1
        )
        print(
            f"  review report, {entity}, one day, {len(lake.curated_symbols(Orders.name, DAY))} "
            f"symbols: {seconds:.2f} s (peak {memory:.0f} MiB), "
            f"{out.stat().st_size / 1024:.0f} KiB"
        )
