"""Hand-built venue days written into a lake, for training and scoring the anomaly models.

A simulated day costs tens of seconds through ingest and the book; these days are
written straight into the curated lake and the book outputs from
:class:`features.scenario.Scenario`, so a test can train on several of them in a
second or two. Each day has the affiliated market maker quoting all day at a
chosen spread, one external market maker quoting wider, and a client trade with
each of them every hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from features.data import SymbolDay
from features.scenario import Scenario
from surveillance.contract import Accounts, Instruments, Orders, Trades
from surveillance.settings import Settings, resolve
from surveillance.storage import Lake, write_partition

#: The first training day of the hand-built lake, and the last of the trained fixture's.
FIRST = dt.date(2026, 2, 2)
TRAIN_LAST = FIRST + dt.timedelta(days=2)


def quiet_day(day: dt.date, amm_spread: float = 2.0, symbol: str = "BTC-USD") -> SymbolDay:
    """One hand-built day: the AMM quotes ``amm_spread`` wide around 100 all day.

    The external market maker quotes 4 wide; every hour a client buys 1 from the AMM
    and another sells 1 to the external market maker.
    """
    s = Scenario(day, symbol, tick_size=0.5, lot_size=1.0)
    half = amm_spread / 2
    amm_bid = s.new(1, "AMM-1", "BUY", 100 - half, 500)
    amm_ask = s.new(1, "AMM-1", "SELL", 100 + half, 500)
    xmm_bid = s.new(2, "XMM-1", "BUY", 98.0, 500)
    s.new(2, "XMM-1", "SELL", 102.0, 500)
    for hour in range(1, 23):
        t = hour * 3600.0
        s.take(t, "CLI-1", "BUY", [(amm_ask, 1.0)])
        s.take(t + 60, "CLI-2", "SELL", [(xmm_bid, 1.0)])
    s.cancel(86_000, amm_bid)
    return s.build()


def write_day(lake: Lake, data: SymbolDay) -> None:
    """Write a hand-built day as ingest and the book stage would have."""
    day, symbol = data.day, data.symbol
    write_partition(
        pa.Table.from_pandas(data.orders, schema=Orders.schema(), preserve_index=False),
        lake.curated(Orders.name, day, symbol),
    )
    write_partition(
        pa.Table.from_pandas(data.trades, schema=Trades.schema(), preserve_index=False),
        lake.curated(Trades.name, day, symbol),
    )
    accounts = data.accounts.assign(**{Accounts.display_name: None})
    write_partition(
        pa.Table.from_pandas(accounts, schema=Accounts.schema(), preserve_index=False),
        lake.curated(Accounts.name, day),
    )
    write_partition(
        pa.Table.from_pandas(
            pd.DataFrame([data.instrument]), schema=Instruments.schema(), preserve_index=False
        ),
        lake.curated(Instruments.name, day),
    )
    assert data.top is not None and data.queue is not None
    write_partition(
        pa.Table.from_pandas(data.top, preserve_index=False), lake.book("top", day, symbol)
    )
    write_partition(
        pa.Table.from_pandas(data.queue, preserve_index=False), lake.book("queue", day, symbol)
    )


def hand_lake_factory(tmp_path: Path) -> Callable[[list[float]], Settings]:
    """``make(spreads)`` writes one quiet day per spread from FIRST on into a fresh lake."""

    def make(spreads: list[float]) -> Settings:
        settings = resolve(landing=str(tmp_path / "landing"), lake=str(tmp_path / "lake"))
        for k, spread in enumerate(spreads):
            write_day(settings.lake, quiet_day(FIRST + dt.timedelta(days=k), spread))
        return settings

    return make
