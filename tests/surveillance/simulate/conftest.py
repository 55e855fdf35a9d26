"""Fixtures of the simulator's tests: the simulated days as DataFrames, and replays.

The replays here are deliberately independent of the engine: they rebuild the book
from the written journal by the rules ``docs/simulator.md`` states, so a test that
compares them with the engine's own truth checks both the engine and the document.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


def _read(root: Path, dataset: str, day: Any) -> pd.DataFrame:
    files = sorted(glob.glob(str(root / dataset / f"date={day.isoformat()}" / "*.parquet")))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


@dataclass
class DayFrames:
    """Every dataset of a simulated day, orders sorted by (symbol, seq)."""

    orders: pd.DataFrame
    trades: pd.DataFrame
    labels: pd.DataFrame
    accounts: pd.DataFrame
    instruments: pd.DataFrame
    truth_root: Path
    role: dict[str, str] = field(default_factory=dict)
    entity: dict[str, str] = field(default_factory=dict)

    def symbol_orders(self, symbol: str) -> pd.DataFrame:
        return self.orders[self.orders["symbol"] == symbol].reset_index(drop=True)

    def truth(self, symbol: str) -> pd.DataFrame:
        return pd.read_parquet(self.truth_root / f"{symbol}.parquet")

    def instrument(self, symbol: str) -> pd.Series:
        return self.instruments.set_index("symbol").loc[symbol]


def _frames(day: Any) -> DayFrames:
    orders = _read(day.root, "orders", day.day).sort_values(["symbol", "seq"], ignore_index=True)
    accounts = _read(day.root, "accounts", day.day)
    frames = DayFrames(
        orders=orders,
        trades=_read(day.root, "trades", day.day),
        labels=_read(day.root, "labels", day.day),
        accounts=accounts,
        instruments=_read(day.root, "instruments", day.day),
        truth_root=day.engine_truth,
    )
    frames.role = dict(zip(accounts["account_id"], accounts["role"], strict=True))
    frames.entity = dict(zip(accounts["account_id"], accounts["entity_id"], strict=True))
    return frames


@pytest.fixture(scope="session")
def frames(simulated_day: Any) -> DayFrames:
    """The ``simulated_day`` fixture's datasets (with misconduct) as DataFrames."""
    return _frames(simulated_day)


@pytest.fixture(scope="session")
def clean_frames(clean_day: Any) -> DayFrames:
    """The ``clean_day`` fixture's datasets as DataFrames."""
    return _frames(clean_day)


@dataclass
class Replay:
    """The book after every row of one symbol's journal, rebuilt by the documented rules.

    Rules: an order's rows are applied in ``seq`` order; the rows of one engine
    instruction share one ``event_time``. An incoming LIMIT GTC/POST_ONLY order
    (a NEW, or a REPLACE other than a pure size reduction, which leaves the order
    where it is) joins the back of its price level after the last row of its
    instruction, with the leaves it then has. MAKER fills reduce resting orders,
    CANCEL removes them. ``top`` holds (best bid, qty, best ask, qty) after each
    row, NaN for an empty side; ``jumps`` lists the MAKER fills (row index) whose
    order was not first in the queue at the best price of its side.
    """

    top: np.ndarray
    jumps: list[int]


def replay(orders: pd.DataFrame) -> Replay:
    """Replay one symbol's journal (sorted by seq)."""
    n = len(orders)
    et = orders["event_type"].to_numpy()
    oid = orders["order_id"].to_numpy()
    side = orders["side"].to_numpy()
    tif = orders["time_in_force"].to_numpy()
    otype = orders["order_type"].to_numpy()
    price = orders["price"].to_numpy()
    qty = orders["quantity"].to_numpy()
    leaves = orders["leaves_quantity"].to_numpy()
    liq = orders["liquidity"].to_numpy()
    times = orders["event_time"].to_numpy()
    queues: dict[str, dict[float, list[str]]] = {"BUY": {}, "SELL": {}}
    left: dict[str, float] = {}
    where: dict[str, tuple[str, float, float]] = {}  # side, price, quantity
    pending: list[Any] | None = None
    top = np.full((n, 4), np.nan)
    jumps: list[int] = []

    def remove(o: str) -> None:
        s, p, _ = where.pop(o)
        q = queues[s][p]
        q.remove(o)
        if not q:
            del queues[s][p]
        del left[o]

    def best(s: str) -> tuple[float, float]:
        levels = queues[s]
        if not levels:
            return np.nan, np.nan
        p = max(levels) if s == "BUY" else min(levels)
        return p, sum(left[o] for o in levels[p])

    for i in range(n):
        o = oid[i]
        e = et[i]
        if e == "NEW":
            pending = (
                [o, side[i], price[i], leaves[i], qty[i]]
                if (otype[i] == "LIMIT" and tif[i] in ("GTC", "POST_ONLY"))
                else None
            )
        elif e == "REPLACE":
            s, p, q0 = where[o]
            if p == price[i] and qty[i] < q0:
                left[o] = leaves[i]
                where[o] = (s, p, qty[i])
            else:
                remove(o)
                pending = [o, side[i], price[i], leaves[i], qty[i]]
        elif e == "FILL" and liq[i] == "MAKER":
            s, p, _ = where[o]
            if queues[s][p][0] != o or best(s)[0] != p:
                jumps.append(i)
            left[o] = leaves[i]
            if leaves[i] == 0:
                remove(o)
        elif e == "FILL":
            if pending is not None and pending[0] == o:
                pending[3] = leaves[i]
        elif e == "CANCEL":
            if o in where:
                remove(o)
        elif e == "EXPIRE" and pending is not None and pending[0] == o:
            pending = None
        if pending is not None and (i + 1 == n or times[i + 1] != times[i]):
            po, ps, pp, pl, pq = pending
            if pl > 0:
                queues[ps].setdefault(pp, []).append(po)
                left[po] = pl
                where[po] = (ps, pp, pq)
            pending = None
        bb, bq = best("BUY")
        ba, aq = best("SELL")
        top[i] = (bb, bq, ba, aq)
    return Replay(top, jumps)


@pytest.fixture(scope="session")
def replay_book() -> Callable[[pd.DataFrame], Replay]:
    """The documented book replay, as a function of one symbol's orders."""
    return replay


@dataclass
class AmmQuotes:
    """The affiliated market maker's own best quotes over time, from its journal rows."""

    times: np.ndarray
    quotes: list[tuple[float, float, float, float]]  # bid, bid qty, ask, ask qty

    def at(self, t: Any) -> tuple[float, float, float, float]:
        """The AMM's quotes in force at time ``t`` (after every row up to it)."""
        ts = np.datetime64(pd.Timestamp(t).tz_convert(None), "ns")
        k = int(np.searchsorted(self.times, ts, side="right")) - 1
        return self.quotes[k] if k >= 0 else (np.nan, np.nan, np.nan, np.nan)

    def compliant(self, k: int, max_bps: float, min_qty: float) -> bool:
        bid, bq, ask, aq = self.quotes[k]
        if np.isnan(bid) or np.isnan(ask):
            return False
        mid = (bid + ask) / 2
        return (ask - bid) / mid * 1e4 <= max_bps + 1e-9 and min(bq, aq) >= min_qty - 1e-12


def amm_quotes(orders: pd.DataFrame, amm_accounts: set[str]) -> AmmQuotes:
    """Replay the AMM's orders (one symbol) and record its best quotes after each instant."""
    rows = orders[orders["account_id"].isin(amm_accounts)]
    live: dict[str, tuple[str, float, float]] = {}
    times: list[Any] = []
    quotes: list[tuple[float, float, float, float]] = []
    et = rows["event_type"].to_numpy()
    tif = rows["time_in_force"].to_numpy()
    t = rows["event_time"].dt.tz_convert(None).to_numpy()
    for i, (o, s, p, lv) in enumerate(
        zip(rows["order_id"], rows["side"], rows["price"], rows["leaves_quantity"], strict=True)
    ):
        if (
            lv > 0
            and et[i] not in ("CANCEL", "EXPIRE", "REJECT")
            and tif[i] in ("GTC", "POST_ONLY")
        ):
            live[o] = (s, p, lv)
        else:
            live.pop(o, None)
        if i + 1 < len(t) and t[i + 1] == t[i]:
            continue
        bids = [(p, q) for s, p, q in live.values() if s == "BUY"]
        asks = [(p, q) for s, p, q in live.values() if s == "SELL"]
        bid = max((p for p, _ in bids), default=np.nan)
        ask = min((p for p, _ in asks), default=np.nan)
        bq = sum(q for p, q in bids if p == bid)
        aq = sum(q for p, q in asks if p == ask)
        times.append(t[i])
        quotes.append((bid, bq, ask, aq))
    return AmmQuotes(np.asarray(times, dtype="datetime64[ns]"), quotes)


@pytest.fixture(scope="session")
def amm_quotes_of() -> Callable[[pd.DataFrame, set[str]], AmmQuotes]:
    """The AMM quote replay, as a function of one symbol's orders and the AMM accounts."""
    return amm_quotes
