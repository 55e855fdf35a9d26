"""The ``make demo`` step of the book stage: rebuild the day's book and summarise it."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc

from surveillance import storage
from surveillance.book.build import build_book
from surveillance.book.schema import Top
from surveillance.book.summary import summarise_top
from surveillance.settings import Settings


def demo_step(settings: Settings, day: dt.date) -> None:
    """Replay every symbol of ``day`` and print spread, AMM presence and findings."""
    result = build_book(settings, day)
    print(
        f"replayed {result.events:,} order events on {len(result.symbols)} symbols "
        f"in {result.seconds:.1f} s (first run includes compiling the replay)"
    )
    print(
        f"  {'symbol':<10}{'events':>10}{'spread bps':>12}{'2-sided':>9}"
        f"{'AMM@bid':>9}{'AMM@ask':>9}{'alone bid':>10}{'alone ask':>10}{'findings':>10}"
    )
    for symbol, r in result.per_symbol.items():
        top = storage.read_table(r.paths[Top.name])
        s = summarise_top(top, day)
        print(
            f"  {symbol:<10}{r.events:>10,}{s.spread_bps:>12.2f}{s.two_sided:>9.1%}"
            f"{s.amm_at_best_bid:>9.1%}{s.amm_at_best_ask:>9.1%}"
            f"{s.amm_alone_bid:>10.1%}{s.amm_alone_ask:>10.1%}{r.findings_total:>10,}"
        )
    kinds = result.findings_by_kind()
    if kinds:
        print("  reconciliation findings (journal vs. a price-time priority book):")
        for kind, n in kinds.items():
            print(f"    {kind:<28}{n:>6,}")
    else:
        print("  no reconciliation findings: the journal replays cleanly")
    queue = [
        storage.read_table(r.paths["queue"], columns=["queue_position", "is_amm"])
        for r in result.per_symbol.values()
    ]
    jumped = sum(
        pc.sum(pc.and_(pc.greater(t.column(0), 0), t.column(1))).as_py() or 0 for t in queue
    )
    fills = sum(t.num_rows for t in queue)
    print(f"  {fills:,} maker fills with queue evidence; {jumped} AMM fills with orders ahead")
