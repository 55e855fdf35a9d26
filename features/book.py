"""Book views the features share: the market's top of book and one account's own quotes.

The market's top of book comes from the book stage (``surveillance.book.schema.Top``).
An account's *own* best bid and ask over the day (the AMM's, or an external market
maker's as its peer) is replayed here from that account's orders alone: its open
orders are the only state needed, so a compiled loop over the account's events is
exact and cheap, and it does not need the whole book.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

from features.data import SymbolDay, to_ns
from surveillance.book.schema import Top
from surveillance.contract import EventType

_EVENT_CODE = {
    EventType.NEW.value: 0,
    EventType.REPLACE.value: 1,
    EventType.CANCEL.value: 2,
    EventType.FILL.value: 3,
    EventType.EXPIRE.value: 4,
    EventType.REJECT.value: 5,
}


def top_frame(data: SymbolDay) -> pd.DataFrame:
    """The book's top of book with int64 times (``t``) and short column names."""
    top = data.top
    if top is None or top.empty:
        return pd.DataFrame(
            columns=["seq", "t", "bid", "ask", "bid_qty", "ask_qty", "mid", "spread_bps"]
        )
    out = pd.DataFrame(
        {
            "seq": top[Top.seq].to_numpy(dtype=np.int64),
            "t": to_ns(top[Top.event_time]),
            "bid": top[Top.best_bid].to_numpy(dtype=float, na_value=np.nan),
            "ask": top[Top.best_ask].to_numpy(dtype=float, na_value=np.nan),
            "bid_qty": top[Top.best_bid_qty].to_numpy(dtype=float, na_value=np.nan),
            "ask_qty": top[Top.best_ask_qty].to_numpy(dtype=float, na_value=np.nan),
            "mid": top[Top.mid].to_numpy(dtype=float, na_value=np.nan),
            "spread_bps": top[Top.spread_bps].to_numpy(dtype=float, na_value=np.nan),
        }
    )
    for col in top.columns:
        if str(col).startswith(("bid_depth_", "ask_depth_")):
            out[str(col)] = top[col].to_numpy(dtype=float, na_value=np.nan)
    return out.sort_values("seq", kind="stable").reset_index(drop=True)


def asof_top(data: SymbolDay, seqs: np.ndarray) -> pd.DataFrame:
    """The top of book just before each ``seq`` (after the event ``seq - 1``)."""
    top = top_frame(data)
    if top.empty:
        return pd.DataFrame(index=np.arange(len(seqs)), columns=top.columns, dtype=float)
    idx = np.searchsorted(top["seq"].to_numpy(), np.asarray(seqs), side="left") - 1
    rows = top.iloc[np.clip(idx, 0, None)].reset_index(drop=True)
    rows.loc[idx < 0, :] = np.nan
    return rows


@numba.njit(cache=True, inline="always")
def rest_order(
    levels: Any,
    open_qty: np.ndarray,
    open_price: np.ndarray,
    k: int,
    rests: bool,
    leaves: float,
    price_tick: int,
) -> None:
    """Move order ``k``'s resting quantity in ``levels`` (price tick -> quantity) to its new state.

    The order's previous contribution is taken off its level (the level is dropped when
    empty); when it still ``rests`` with ``leaves`` at a known price, that quantity is
    added at ``price_tick``. The one bookkeeping step of every per-account ladder replay
    (the AMM's own quotes here, its obligation ladder in ``features.obligations``).
    """
    if open_qty[k] > 0:
        p = open_price[k]
        remaining = levels[p] - open_qty[k]
        if remaining <= 1e-12:
            del levels[p]
        else:
            levels[p] = remaining
        open_qty[k] = 0.0
    if rests and leaves > 0 and price_tick >= 0:
        open_qty[k] = leaves
        open_price[k] = price_tick
        levels[price_tick] = levels.get(price_tick, 0.0) + leaves


@numba.njit(cache=True)
def _own_quotes(
    order_idx: np.ndarray,
    code: np.ndarray,
    is_buy: np.ndarray,
    price_ticks: np.ndarray,
    leaves: np.ndarray,
    n_orders: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    open_qty = np.zeros(n_orders)
    open_price = np.zeros(n_orders, dtype=np.int64)
    bid_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    ask_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    n = len(order_idx)
    bid = np.full(n, -1, dtype=np.int64)
    ask = np.full(n, -1, dtype=np.int64)
    bid_qty = np.zeros(n)
    ask_qty = np.zeros(n)
    for i in range(n):
        c = code[i]
        rests = c != 2 and c != 4 and c != 5
        levels = bid_levels if is_buy[i] else ask_levels
        rest_order(levels, open_qty, open_price, order_idx[i], rests, leaves[i], price_ticks[i])
        best_b = -1
        for p in bid_levels:
            if p > best_b:
                best_b = p
        best_a = -1
        for p in ask_levels:
            if best_a < 0 or p < best_a:
                best_a = p
        bid[i] = best_b
        ask[i] = best_a
        if best_b >= 0:
            bid_qty[i] = bid_levels[best_b]
        if best_a >= 0:
            ask_qty[i] = ask_levels[best_a]
    return bid, ask, bid_qty, ask_qty


def own_quotes(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The best bid and ask resting for ``accounts`` (together) after each of their events.

    Returns one row per event of those accounts, in seq order: ``seq``, ``t``,
    ``bid``/``ask`` (NaN when that side is empty) and their quantities. MARKET
    orders and IOC/FOK orders never rest, so they do not count.
    """
    ev = data.events
    mine = ev[ev["account_id"].isin(accounts)]
    cols = ["seq", "t", "bid", "ask", "bid_qty", "ask_qty"]
    if mine.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    tick = data.tick_size
    if not tick or tick <= 0:
        positive = mine["price"].to_numpy()
        positive = positive[np.isfinite(positive) & (positive > 0)]
        tick = float(np.min(positive)) * 1e-6 if len(positive) else 1.0
    codes, uniques = pd.factorize(mine["order_id"])
    prices = mine["price"].to_numpy(dtype=float)
    resting = (
        np.isfinite(prices)
        & (mine["order_type"].to_numpy() == "LIMIT")
        & ~np.isin(mine["tif"].to_numpy(), ["IOC", "FOK"])
    )
    ticks = np.where(resting, np.round(np.nan_to_num(prices) / tick), -1).astype(np.int64)
    code = mine["event_type"].map(_EVENT_CODE).fillna(0).to_numpy(dtype=np.int64)
    leaves = np.nan_to_num(mine["leaves"].to_numpy(dtype=float))
    bid, ask, bid_qty, ask_qty = _own_quotes(
        codes.astype(np.int64),
        code,
        mine["sign"].to_numpy() > 0,
        ticks,
        leaves,
        len(uniques),
    )
    return pd.DataFrame(
        {
            "seq": mine["seq"].to_numpy(),
            "t": mine["t"].to_numpy(),
            "bid": np.where(bid >= 0, bid * tick, np.nan),
            "ask": np.where(ask >= 0, ask * tick, np.nan),
            "bid_qty": bid_qty,
            "ask_qty": ask_qty,
        }
    )
