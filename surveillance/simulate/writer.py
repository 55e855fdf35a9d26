"""Turning a symbol's journal arrays into contract tables, in bulk.

Prices leave the engine as integer ticks and become ``round(ticks * tick_size, d)``
with ``d`` the tick's decimals, so every price is the float nearest a multiple of
the tick; quantities likewise with the lot. Codes become strings through one
``take`` per column. Nothing here iterates over rows in Python.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from surveillance.contract import Orders, Trades
from surveillance.simulate.engine import (
    EVENT_TYPES,
    LIQUIDITY,
    ORDER_TYPES,
    ORIGINS,
    SIDES,
    TIME_IN_FORCE,
    Journal,
)
from surveillance.simulate.venue import InstrumentSpec

TS = pa.timestamp("ns", tz="UTC")

# Fees in basis points of notional: the taker pays, the maker earns a rebate.
TAKER_FEE_BPS = 2.0
MAKER_FEE_BPS = -0.5


def _np(buf: array, lo: int, hi: int, dtype: type = np.int64) -> np.ndarray:
    return np.frombuffer(buf, dtype=dtype)[lo:hi]


def _times(values: np.ndarray, day_ns: int) -> pa.Array:
    mask = values < 0
    return pa.array(values + day_ns, type=TS, mask=mask if mask.any() else None)


def _scaled(values: np.ndarray, step: float, decimals: int) -> pa.Array:
    mask = values < 0
    out = np.round(values.astype(np.float64) * step, decimals)
    return pa.array(out, type=pa.float64(), mask=mask if mask.any() else None)


def _codes(values: np.ndarray, names: Sequence[str]) -> pa.Array:
    idx = values.astype(np.int32)
    mask = idx < 0
    indices = pa.array(idx, type=pa.int32(), mask=mask if mask.any() else None)
    return pc.take(pa.array(list(names), type=pa.string()), indices)


def _ids(values: np.ndarray, prefix: str) -> pa.Array:
    mask = values < 0
    text = pc.cast(pa.array(values, type=pa.int64()), pa.string())
    out = pc.binary_join_element_wise(pa.scalar(prefix), text, "")
    if mask.any():
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def order_prefix(spec: InstrumentSpec) -> str:
    return f"{spec.base}-O"


def trade_prefix(spec: InstrumentSpec) -> str:
    return f"{spec.base}-T"


def orders_table(
    j: Journal,
    lo: int,
    hi: int,
    spec: InstrumentSpec,
    day_ns: int,
    accounts: Sequence[str],
) -> pa.Table:
    """Journal rows ``lo:hi`` of one symbol as an ``orders`` table in contract order."""
    n = hi - lo
    pd_, qd = spec.price_decimals, spec.qty_decimals
    tick, lot = spec.tick_size, spec.lot_size
    cols = {
        Orders.event_time: _times(_np(j.t, lo, hi), day_ns),
        Orders.gateway_time: _times(_np(j.gw, lo, hi), day_ns),
        Orders.seq: pa.array(np.arange(lo + 1, hi + 1, dtype=np.int64)),
        Orders.symbol: pc.take(pa.array([spec.symbol]), pa.array(np.zeros(n, np.int32))),
        Orders.order_id: _ids(_np(j.oid, lo, hi), order_prefix(spec)),
        Orders.account_id: _codes(_np(j.acct, lo, hi, np.int32), accounts),
        Orders.event_type: _codes(_np(j.etype, lo, hi, np.int8), EVENT_TYPES),
        Orders.side: _codes(_np(j.side, lo, hi, np.int8), SIDES),
        Orders.order_type: _codes(_np(j.otype, lo, hi, np.int8), ORDER_TYPES),
        Orders.time_in_force: _codes(_np(j.tif, lo, hi, np.int8), TIME_IN_FORCE),
        Orders.price: _scaled(_np(j.price, lo, hi), tick, pd_),
        Orders.quantity: _scaled(_np(j.qty, lo, hi), lot, qd),
        Orders.leaves_quantity: _scaled(_np(j.leaves, lo, hi), lot, qd),
        Orders.fill_price: _scaled(_np(j.fill_price, lo, hi), tick, pd_),
        Orders.fill_quantity: _scaled(_np(j.fill_qty, lo, hi), lot, qd),
        Orders.trade_id: _ids(_np(j.trade_id, lo, hi), trade_prefix(spec)),
        Orders.liquidity: _codes(_np(j.liquidity, lo, hi, np.int8), LIQUIDITY),
        Orders.origin: _codes(_np(j.origin, lo, hi, np.int8), ORIGINS),
    }
    schema = Orders.schema()
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def trades_table(
    j: Journal,
    lo: int,
    hi: int,
    spec: InstrumentSpec,
    day_ns: int,
    accounts: Sequence[str],
    fee_bps: np.ndarray,
) -> pa.Table:
    """Trades ``lo:hi`` of one symbol; ``fee_bps[account]`` overrides the maker rebate."""
    n = hi - lo
    pd_, qd = spec.price_decimals, spec.qty_decimals
    price = np.round(_np(j.tr_price, lo, hi).astype(np.float64) * spec.tick_size, pd_)
    qty = np.round(_np(j.tr_qty, lo, hi).astype(np.float64) * spec.lot_size, qd)
    notional = price * qty
    aggr = _np(j.tr_aggr, lo, hi, np.int8)
    buy_acct = _np(j.tr_buy_acct, lo, hi, np.int32)
    sell_acct = _np(j.tr_sell_acct, lo, hi, np.int32)
    buy_rate = np.where(aggr == 0, TAKER_FEE_BPS, fee_bps[buy_acct])
    sell_rate = np.where(aggr == 1, TAKER_FEE_BPS, fee_bps[sell_acct])
    cols = {
        Trades.event_time: _times(_np(j.tr_t, lo, hi), day_ns),
        Trades.symbol: pc.take(pa.array([spec.symbol]), pa.array(np.zeros(n, np.int32))),
        Trades.trade_id: _ids(_np(j.tr_id, lo, hi), trade_prefix(spec)),
        Trades.price: pa.array(price),
        Trades.quantity: pa.array(qty),
        Trades.aggressor_side: _codes(aggr, SIDES),
        Trades.buy_order_id: _ids(_np(j.tr_buy_oid, lo, hi), order_prefix(spec)),
        Trades.sell_order_id: _ids(_np(j.tr_sell_oid, lo, hi), order_prefix(spec)),
        Trades.buy_account_id: _codes(buy_acct, accounts),
        Trades.sell_account_id: _codes(sell_acct, accounts),
        Trades.buy_fee: pa.array(np.round(notional * buy_rate * 1e-4, 8)),
        Trades.sell_fee: pa.array(np.round(notional * sell_rate * 1e-4, 8)),
    }
    schema = Trades.schema()
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


TRUTH_SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("seq", pa.int64()),
        ("best_bid", pa.float64()),
        ("best_bid_qty", pa.float64()),
        ("best_ask", pa.float64()),
        ("best_ask_qty", pa.float64()),
    ]
)


def truth_table(j: Journal, spec: InstrumentSpec) -> pa.Table:
    """The engine's best bid/ask after every row; NaN where a side is empty."""
    n = len(j.bb)

    def scaled(buf: array, step: float, decimals: int) -> pa.Array:
        v = np.frombuffer(buf, dtype=np.int64).astype(np.float64)
        out = np.round(v * step, decimals)
        out[v < 0] = np.nan
        return pa.array(out)

    cols = [
        pc.take(pa.array([spec.symbol]), pa.array(np.zeros(n, np.int32))),
        pa.array(np.arange(1, n + 1, dtype=np.int64)),
        scaled(j.bb, spec.tick_size, spec.price_decimals),
        scaled(j.bbq, spec.lot_size, spec.qty_decimals),
        scaled(j.ba, spec.tick_size, spec.price_decimals),
        scaled(j.baq, spec.lot_size, spec.qty_decimals),
    ]
    return pa.Table.from_arrays(cols, schema=TRUTH_SCHEMA)
