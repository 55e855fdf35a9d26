"""Market state for evidence and review: the top of the book replayed from the order journal.

Reports need the best bid and ask over time, of the whole market (for the replay of a
case window, markouts and price improvement) and of the affiliated market maker's own
quotes (for its quoting obligations). Both come from one replay of the curated order
journal in engine sequence: each event sets its order's resting quantity at its price,
and the best levels are read after the last event of each engine time stamp, so the
transient state between an incoming order and its fills is never reported.

Only orders that can rest are on the book: LIMIT orders with time in force GTC or
POST_ONLY. IOC, FOK and MARKET orders execute or expire at once.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Collection

import numpy as np
import pandas as pd

from surveillance import storage
from surveillance.book.schema import Top
from surveillance.contract import EventType, Orders, Side, TimeInForce
from surveillance.storage import Lake

TOP_COLUMNS = ("event_time", "bid", "bid_quantity", "ask", "ask_quantity")
_RESTING_TIF = frozenset({TimeInForce.GTC.value, TimeInForce.POST_ONLY.value})
_TERMINAL = frozenset({EventType.CANCEL.value, EventType.EXPIRE.value, EventType.REJECT.value})
_EPS = 1e-12


def top_of_book(orders: pd.DataFrame, accounts: Collection[str] | None = None) -> pd.DataFrame:
    """Best bid and ask (price and quantity) after every engine time stamp.

    Parameters
    ----------
    orders
        One symbol's order journal (contract columns), any order; it is replayed in
        ``seq`` order.
    accounts
        When given, only these accounts' orders are on the book: their own quotes.

    Returns
    -------
    DataFrame with ``TOP_COLUMNS``: one row per distinct event time at which the best
    levels changed; NaN where a side is empty.
    """
    frame = orders.sort_values(Orders.seq, kind="stable")
    if accounts is not None:
        frame = frame[frame[Orders.account_id].isin(list(accounts))]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in TOP_COLUMNS}).assign(
            event_time=pd.Series(dtype="datetime64[ns, UTC]")
        )
    levels: dict[str, dict[float, float]] = {Side.BUY.value: {}, Side.SELL.value: {}}
    heaps: dict[str, list[float]] = {Side.BUY.value: [], Side.SELL.value: []}
    resting: dict[str, tuple[str, float, float]] = {}
    times = (
        pd.to_datetime(frame[Orders.event_time], utc=True)
        .astype("datetime64[ns, UTC]")
        .dt.tz_localize(None)
        .to_numpy()
    )
    order_ids = frame[Orders.order_id].to_numpy(dtype=object)
    sides = frame[Orders.side].to_numpy(dtype=object)
    prices = frame[Orders.price].to_numpy(dtype="float64", na_value=np.nan)
    leaves = frame[Orders.leaves_quantity].to_numpy(dtype="float64", na_value=0.0)
    events = frame[Orders.event_type].to_numpy(dtype=object)
    tifs = frame[Orders.time_in_force].to_numpy(dtype=object)
    kinds = frame[Orders.order_type].to_numpy(dtype=object)
    out_time: list[object] = []
    out_rows: list[tuple[float, float, float, float]] = []
    last: tuple[float, float, float, float] | None = None
    n = len(frame)
    for i in range(n):
        oid = order_ids[i]
        old = resting.pop(oid, None)
        if old is not None:
            side, price, qty = old
            level = levels[side]
            level[price] = level.get(price, 0.0) - qty
        can_rest = (
            kinds[i] == "LIMIT"
            and tifs[i] in _RESTING_TIF
            and events[i] not in _TERMINAL
            and leaves[i] > _EPS
            and not np.isnan(prices[i])
        )
        if can_rest:
            side, price = sides[i], float(prices[i])
            level = levels[side]
            if level.get(price, 0.0) <= _EPS:
                heapq.heappush(heaps[side], -price if side == "BUY" else price)
            level[price] = level.get(price, 0.0) + float(leaves[i])
            resting[oid] = (side, price, float(leaves[i]))
        if i + 1 < n and times[i + 1] == times[i]:
            continue
        row = (*_best(levels, heaps, "BUY"), *_best(levels, heaps, "SELL"))
        if row != last:
            out_time.append(times[i])
            out_rows.append(row)
            last = row
    result = pd.DataFrame(out_rows, columns=list(TOP_COLUMNS[1:]), dtype="float64")
    # Keep nanoseconds: engine times are ns and inference from objects would round to us.
    stamps = np.array(out_time, dtype="datetime64[ns]")
    result.insert(0, "event_time", pd.Series(stamps).dt.tz_localize("UTC"))
    return result


def _best(
    levels: dict[str, dict[float, float]], heaps: dict[str, list[float]], side: str
) -> tuple[float, float]:
    heap, level = heaps[side], levels[side]
    while heap:
        price = -heap[0] if side == "BUY" else heap[0]
        qty = level.get(price, 0.0)
        if qty > _EPS:
            return price, qty
        heapq.heappop(heap)
        level.pop(price, None)
    return float("nan"), float("nan")


def state_at(top: pd.DataFrame, times: pd.Series, *, strictly_before: bool = False) -> pd.DataFrame:
    """The top of book in force at each of ``times`` (as of the last change at or before).

    ``strictly_before`` reads the state just before each time: what a client saw when
    its order arrived, before the order itself changed the book.
    """
    stamps = pd.to_datetime(times, utc=True).to_numpy(dtype="datetime64[ns]")
    keys = top["event_time"].to_numpy(dtype="datetime64[ns]")
    index = (
        np.searchsorted(keys, stamps, side="left")
        if strictly_before
        else np.searchsorted(keys, stamps, side="right")
    ) - 1
    values = top[list(TOP_COLUMNS[1:])].to_numpy(dtype="float64")
    padded = np.vstack([np.full((1, values.shape[1]), np.nan), values])
    picked = padded[index + 1]
    return pd.DataFrame(picked, columns=list(TOP_COLUMNS[1:]), index=times.index)


def mid(top: pd.DataFrame) -> pd.Series:
    """Mid price of a top-of-book frame; NaN when a side is empty."""
    return (top["bid"] + top["ask"]) / 2.0


#: Columns of :func:`load_top`: market best levels, then the AMM's own.
BOOK_COLUMNS = (
    "event_time",
    "bid",
    "bid_quantity",
    "ask",
    "ask_quantity",
    "amm_bid",
    "amm_bid_quantity",
    "amm_ask",
    "amm_ask_quantity",
)


def load_top(
    lake: Lake, day: dt.date, symbol: str, amm_accounts: Collection[str]
) -> tuple[pd.DataFrame, str]:
    """The day's top of book for ``symbol`` (market and AMM levels) and where it came from.

    The book stage's ``top`` output is used when the lake has it (it is the pipeline's
    reference replay); otherwise the curated order journal is replayed here. Returns an
    empty frame and a note when neither exists.
    """
    uri = lake.book(Top.name, day, symbol)
    if storage.exists(uri):
        table = storage.read_table(
            uri,
            columns=[
                Top.event_time,
                Top.seq,
                Top.best_bid,
                Top.best_bid_qty,
                Top.best_ask,
                Top.best_ask_qty,
                Top.amm_best_bid,
                Top.amm_best_bid_qty,
                Top.amm_best_ask,
                Top.amm_best_ask_qty,
            ],
        )
        frame = table.to_pandas().sort_values(Top.seq, kind="stable")
        # Several rows may share an engine time; the book after the last one is the state.
        frame = frame.drop_duplicates(Top.event_time, keep="last")
        top = pd.DataFrame(
            {
                "event_time": pd.to_datetime(frame[Top.event_time], utc=True),
                "bid": frame[Top.best_bid].astype("float64"),
                "bid_quantity": frame[Top.best_bid_qty].astype("float64"),
                "ask": frame[Top.best_ask].astype("float64"),
                "ask_quantity": frame[Top.best_ask_qty].astype("float64"),
                "amm_bid": frame[Top.amm_best_bid].astype("float64"),
                "amm_bid_quantity": frame[Top.amm_best_bid_qty].astype("float64"),
                "amm_ask": frame[Top.amm_best_ask].astype("float64"),
                "amm_ask_quantity": frame[Top.amm_best_ask_qty].astype("float64"),
            }
        ).reset_index(drop=True)
        # AMM quantities are 0 (not null) when it has no quote: make them comparable.
        for side in ("bid", "ask"):
            empty = top[f"amm_{side}"].isna()
            top.loc[empty, f"amm_{side}_quantity"] = np.nan
            top.loc[top[side].isna(), f"{side}_quantity"] = np.nan
        return top, f"book stage output {uri}"
    orders_uri = lake.curated(Orders.name, day, symbol)
    if not storage.exists(orders_uri):
        return _empty_book(), f"absent: neither {uri} nor {orders_uri} exists"
    orders = storage.read_table(orders_uri).to_pandas()
    market = top_of_book(orders)
    own = top_of_book(orders, amm_accounts)
    times = pd.concat([market["event_time"], own["event_time"]]).drop_duplicates()
    frame = pd.DataFrame({"event_time": times.sort_values().reset_index(drop=True)})
    left = state_at(market, frame["event_time"])
    right = state_at(own, frame["event_time"])
    right.columns = ["amm_bid", "amm_bid_quantity", "amm_ask", "amm_ask_quantity"]
    result = pd.concat([frame, left, right], axis=1)
    return result[list(BOOK_COLUMNS)], f"replayed from the order journal {orders_uri}"


def _empty_book() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in BOOK_COLUMNS[1:]})
    frame.insert(0, "event_time", pd.Series(dtype="datetime64[ns, UTC]"))
    return frame
