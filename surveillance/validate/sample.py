"""A small, hand-checked valid venue day, and the same day tiled to any size.

The template exercises every event type, order type and time in force of the contract:
a resting GTC sell partly filled by a MARKET IOC buy, a REPLACE that changes the price
(and later one that only reduces the size), an IOC sell crossing the book, a CANCEL, a
POST_ONLY order REJECTed, and a FOK EXPIREd unfilled for a LIQUIDATION. It is the
baseline that the validator's tests corrupt one rule at a time, and, tiled to millions
of events, the load that times the reader and the rules without waiting for the
simulator. Nothing here is random: the same arguments give the same tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from surveillance import storage
from surveillance.contract import (
    Accounts,
    Instruments,
    Orders,
    ReferencePrices,
    Trades,
)
from surveillance.storage import Landing

SYMBOLS = ("BTC-USD", "ETH-USD")
#: seq numbers one template copy spans; copies never overlap.
SEQ_STRIDE = 100
#: Time one template copy spans, in nanoseconds (its events lie within 20 ms).
TIME_STRIDE_NS = 20_000_000

_INSTRUMENTS: list[dict[str, Any]] = [
    {
        "symbol": "BTC-USD",
        "base_asset": "BTC",
        "quote_asset": "USD",
        "tick_size": 0.01,
        "lot_size": 0.001,
        "mm_max_spread_bps": 20.0,
        "mm_min_quote_quantity": 0.1,
        "mm_min_uptime": 0.9,
    },
    {
        "symbol": "ETH-USD",
        "base_asset": "ETH",
        "quote_asset": "USD",
        "tick_size": 0.01,
        "lot_size": 0.001,
        "mm_max_spread_bps": None,
        "mm_min_quote_quantity": None,
        "mm_min_uptime": None,
    },
]

_ACCOUNTS: list[dict[str, Any]] = [
    {"account_id": "AMM-1", "entity_id": "GROUP", "role": "AFFILIATED_MM", "display_name": "MM"},
    {"account_id": "HOUSE-1", "entity_id": "GROUP", "role": "HOUSE", "display_name": None},
    {"account_id": "EXT-1", "entity_id": "EXTCO", "role": "EXTERNAL_MM", "display_name": None},
    {"account_id": "C-1", "entity_id": "C-1", "role": "CLIENT", "display_name": "client"},
]

# One copy of the template for one symbol: (ms offset, seq, order, account, event, side,
# order type, tif, price, quantity, leaves, fill price, fill qty, trade, liquidity, origin).
_EVENTS: list[tuple[Any, ...]] = [
    (
        1,
        1,
        "o1",
        "AMM-1",
        "NEW",
        "SELL",
        "LIMIT",
        "GTC",
        100.0,
        2.0,
        2.0,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        2,
        2,
        "o2",
        "C-1",
        "NEW",
        "BUY",
        "LIMIT",
        "GTC",
        99.0,
        1.0,
        1.0,
        None,
        None,
        None,
        None,
        "CLIENT",
    ),
    (
        3,
        3,
        "o3",
        "EXT-1",
        "NEW",
        "BUY",
        "MARKET",
        "IOC",
        None,
        0.5,
        0.5,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        3,
        4,
        "o1",
        "AMM-1",
        "FILL",
        "SELL",
        "LIMIT",
        "GTC",
        100.0,
        2.0,
        1.5,
        100.0,
        0.5,
        "t1",
        "MAKER",
        None,
    ),
    (
        3,
        5,
        "o3",
        "EXT-1",
        "FILL",
        "BUY",
        "MARKET",
        "IOC",
        None,
        0.5,
        0.0,
        100.0,
        0.5,
        "t1",
        "TAKER",
        None,
    ),
    (
        5,
        6,
        "o2",
        "C-1",
        "REPLACE",
        "BUY",
        "LIMIT",
        "GTC",
        99.5,
        1.0,
        1.0,
        None,
        None,
        None,
        None,
        "CLIENT",
    ),
    (
        7,
        7,
        "o4",
        "HOUSE-1",
        "NEW",
        "SELL",
        "LIMIT",
        "IOC",
        99.5,
        0.8,
        0.8,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        7,
        8,
        "o2",
        "C-1",
        "FILL",
        "BUY",
        "LIMIT",
        "GTC",
        99.5,
        1.0,
        0.2,
        99.5,
        0.8,
        "t2",
        "MAKER",
        "CLIENT",
    ),
    (
        7,
        9,
        "o4",
        "HOUSE-1",
        "FILL",
        "SELL",
        "LIMIT",
        "IOC",
        99.5,
        0.8,
        0.0,
        99.5,
        0.8,
        "t2",
        "TAKER",
        None,
    ),
    (
        9,
        10,
        "o2",
        "C-1",
        "CANCEL",
        "BUY",
        "LIMIT",
        "GTC",
        99.5,
        1.0,
        0.0,
        None,
        None,
        None,
        None,
        "CLIENT",
    ),
    (
        11,
        11,
        "o5",
        "C-1",
        "REJECT",
        "BUY",
        "LIMIT",
        "POST_ONLY",
        100.0,
        1.0,
        0.0,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        12,
        12,
        "o6",
        "C-1",
        "NEW",
        "BUY",
        "LIMIT",
        "FOK",
        100.0,
        5.0,
        5.0,
        None,
        None,
        None,
        None,
        "LIQUIDATION",
    ),
    (
        12,
        13,
        "o6",
        "C-1",
        "EXPIRE",
        "BUY",
        "LIMIT",
        "FOK",
        100.0,
        5.0,
        0.0,
        None,
        None,
        None,
        None,
        "LIQUIDATION",
    ),
    (
        14,
        14,
        "o1",
        "AMM-1",
        "REPLACE",
        "SELL",
        "LIMIT",
        "GTC",
        100.0,
        1.8,
        1.3,
        None,
        None,
        None,
        None,
        None,
    ),
]
_GATEWAY_EVENTS = {"NEW", "REPLACE", "CANCEL", "REJECT"}
_GATEWAY_LEAD_NS = 250_000

# (ms offset, trade, price, quantity, aggressor, buy order, sell order, buy acct, sell acct)
_TRADES: list[tuple[Any, ...]] = [
    (3, "t1", 100.0, 0.5, "BUY", "o3", "o1", "EXT-1", "AMM-1"),
    (7, "t2", 99.5, 0.8, "SELL", "o2", "o4", "C-1", "HOUSE-1"),
]


def _template_orders(day: dt.date, symbol: str, price_scale: float) -> list[dict[str, Any]]:
    start = pd.Timestamp(day, tz="UTC")
    rows = []
    for (
        ms,
        seq,
        oid,
        acct,
        event,
        side,
        otype,
        tif,
        px,
        qty,
        leaves,
        fpx,
        fqty,
        tid,
        liq,
        org,
    ) in _EVENTS:
        time = start + pd.Timedelta(milliseconds=ms)
        rows.append(
            {
                Orders.event_time: time,
                Orders.gateway_time: time - pd.Timedelta(_GATEWAY_LEAD_NS, "ns")
                if event in _GATEWAY_EVENTS
                else None,
                Orders.seq: seq,
                Orders.symbol: symbol,
                Orders.order_id: oid,
                Orders.account_id: acct,
                Orders.event_type: event,
                Orders.side: side,
                Orders.order_type: otype,
                Orders.time_in_force: tif,
                Orders.price: None if px is None else px * price_scale,
                Orders.quantity: qty,
                Orders.leaves_quantity: leaves,
                Orders.fill_price: None if fpx is None else fpx * price_scale,
                Orders.fill_quantity: fqty,
                Orders.trade_id: tid,
                Orders.liquidity: liq,
                Orders.origin: org,
            }
        )
    return rows


def _template_trades(day: dt.date, symbol: str, price_scale: float) -> list[dict[str, Any]]:
    start = pd.Timestamp(day, tz="UTC")
    return [
        {
            Trades.event_time: start + pd.Timedelta(milliseconds=ms),
            Trades.symbol: symbol,
            Trades.trade_id: tid,
            Trades.price: px * price_scale,
            Trades.quantity: qty,
            Trades.aggressor_side: aggressor,
            Trades.buy_order_id: buy,
            Trades.sell_order_id: sell,
            Trades.buy_account_id: buy_acct,
            Trades.sell_account_id: sell_acct,
            Trades.buy_fee: round(px * price_scale * qty * 0.001, 6),
            Trades.sell_fee: -round(px * price_scale * qty * 0.0001, 6),
        }
        for ms, tid, px, qty, aggressor, buy, sell, buy_acct, sell_acct in _TRADES
    ]


def _tile(table: pa.Table, copies: int, *, id_columns: list[str], seq: bool) -> pa.Table:
    """``copies`` copies of ``table``: ids suffixed ``-k``, seq and times shifted per copy."""
    if copies == 1:
        return table
    n = table.num_rows
    take = pa.array(np.tile(np.arange(n), copies))
    copy = np.repeat(np.arange(copies, dtype=np.int64), n)
    tiled = table.take(take)
    suffix = pc.cast(pa.array(copy), pa.string())
    columns = {}
    for name in tiled.column_names:
        column = tiled.column(name)
        if name in id_columns:
            column = pc.binary_join_element_wise(column, suffix, "-")
        elif name == Orders.seq and seq:
            column = pa.array(column.to_numpy() + copy * SEQ_STRIDE)
        elif pa.types.is_timestamp(column.type):
            nulls = pc.is_null(column).to_numpy(zero_copy_only=False)
            values = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy()
            values = values + copy * TIME_STRIDE_NS
            column = pa.array(values, mask=nulls).cast(column.type)
        columns[name] = column
    return pa.table(columns, schema=table.schema)


def sample_tables(
    day: dt.date, *, copies: int = 1, symbols: tuple[str, ...] = SYMBOLS
) -> dict[str, pa.Table]:
    """The template day, ``copies`` times per symbol, as contract tables by dataset name.

    Orders are in time order, symbols interleaved (each symbol's rows in seq order); one
    copy holds 14 order events and 2 trades per symbol, so ``copies=360_000`` with two symbols is a 10-million-event
    day. ``copies`` must keep the day inside 24 hours (at most 4,320,000).
    """
    if copies * TIME_STRIDE_NS >= 86_400 * 10**9:
        raise ValueError(f"copies={copies} would spill past the end of the day")
    instruments = [i for i in _INSTRUMENTS if i["symbol"] in symbols] or _INSTRUMENTS[:1]
    orders = []
    trades = []
    for number, symbol in enumerate(symbols):
        scale = 1.0 if number % 2 == 0 else 0.5
        one_orders = Orders.from_pylist(_template_orders(day, symbol, scale))
        one_trades = Trades.from_pylist(_template_trades(day, symbol, scale))
        id_orders = [Orders.order_id, Orders.trade_id]
        id_trades = [Trades.trade_id, Trades.buy_order_id, Trades.sell_order_id]
        orders.append(_tile(one_orders, copies, id_columns=id_orders, seq=True))
        trades.append(_tile(one_trades, copies, id_columns=id_trades, seq=False))
    start = pd.Timestamp(day, tz="UTC")
    reference = ReferencePrices.from_pylist(
        [
            {"event_time": start + pd.Timedelta(minutes=m), "symbol": s, "price": 100.0 + m}
            for s in symbols
            for m in (0, 30, 60)
        ]
    )
    # Interleave the symbols in time, as an engine's export of several books does.
    by_time = [("event_time", "ascending"), ("symbol", "ascending")]
    return {
        Orders.name: pa.concat_tables(orders).sort_by([*by_time, ("seq", "ascending")]),
        Trades.name: pa.concat_tables(trades).sort_by([*by_time, ("trade_id", "ascending")]),
        Accounts.name: Accounts.from_pylist(_ACCOUNTS),
        Instruments.name: Instruments.from_pylist(instruments),
        ReferencePrices.name: reference,
    }


def write_day(
    landing: Landing,
    day: dt.date,
    tables: dict[str, pa.Table],
    *,
    files: int = 1,
    mark_ready: bool = True,
) -> dict[str, list[str]]:
    """Write ``tables`` to ``landing`` in the contract layout, each split into ``files`` parts.

    Files split the rows into contiguous slices (so engine order holds within each file).
    Returns the URIs written per dataset.
    """
    written: dict[str, list[str]] = {}
    for name, table in tables.items():
        parts = max(1, min(files, table.num_rows)) if name in (Orders.name, Trades.name) else 1
        bounds = np.linspace(0, table.num_rows, parts + 1).astype(int)
        written[name] = []
        for i in range(parts):
            uri = storage.join(landing.day_dir(name, day), f"part-{i}.parquet")
            storage.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), uri)
            written[name].append(uri)
    if mark_ready:
        landing.mark_ready(day)
    return written


def write_sample_day(
    landing: Landing, day: dt.date, *, copies: int = 1, files: int = 1, mark_ready: bool = True
) -> dict[str, list[str]]:
    """Write the (tiled) template day to ``landing``; see :func:`sample_tables`."""
    return write_day(
        landing, day, sample_tables(day, copies=copies), files=files, mark_ready=mark_ready
    )
