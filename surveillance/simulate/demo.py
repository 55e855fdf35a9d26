"""The ``make demo`` step of the simulator: a venue day with misconduct, summarised."""

from __future__ import annotations

import datetime as dt

from surveillance.settings import Settings
from surveillance.simulate.day import simulate_day

#: Size of the demo's day: big enough to look like a market, small enough to be quick.
DEMO_SYMBOLS = 3
DEMO_EVENTS = 200_000
DEMO_SEED = 0


def demo_step(settings: Settings, day: dt.date) -> None:
    """Simulate ``day`` into the demo's landing root and print what it holds."""
    summary = simulate_day(
        settings.landing_uri, day, symbols=DEMO_SYMBOLS, events=DEMO_EVENTS, seed=DEMO_SEED
    )
    print(
        f"simulated {summary.orders:,} order events and {summary.trades:,} trades "
        f"on {', '.join(summary.symbols)} into {summary.root}"
    )
    roles = sorted({role for _, role in summary.events_by_symbol_role})
    print(f"  {'events':<10}" + "".join(f"{r:>15}" for r in roles))
    for symbol in summary.symbols:
        counts = [summary.events_by_symbol_role.get((symbol, r), 0) for r in roles]
        print(f"  {symbol:<10}" + "".join(f"{n:>15,}" for n in counts))
    print(f"  {summary.labels} labelled incidents of injected misconduct:")
    for row in summary.label_rows():
        print(f"    {row['typology']:<26}{row['labels']:>4}")
