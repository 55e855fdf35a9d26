"""A plain, obviously-correct order book, used only to check the compiled replay.

It follows ``docs/book.md`` line by line with Python dicts and lists: levels are
``{tick: [order ids in time order]}``, every aggregate is recomputed from scratch
after every event, nothing is incremental and nothing is fast. It shares only the
unit conversions (``to_counts``/``to_units``) with the real implementation, so that
both print the same floats for the same integer ticks and lots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from surveillance.book.engine import ReplayParams, to_counts, to_units
from surveillance.book.schema import FindingKind, depth_column

_TERMINAL = ("CANCEL", "EXPIRE", "REJECT")


@dataclass
class _Order:
    order_id: str
    account_id: str
    side: str
    rests: bool
    market: bool
    tick: int | None
    quantity: int
    leaves: int
    amm: bool
    joined_seq: int
    joined_time: Any
    state: str  # "resting" or "in_flight"


def _count(value: float | None, step: float) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(to_counts(np.array([value], dtype=np.float64), step)[0][0])


def _unit(count: int | None, step: float) -> float | None:
    if count is None:
        return None
    return float(to_units(np.array([count], dtype=np.int64), step)[0])


class ReferenceBook:
    """Replays a journal table row by row and collects the three outputs as dicts."""

    def __init__(self, params: ReplayParams) -> None:
        self.p = params
        self.orders: dict[str, _Order] = {}  # live orders only
        self.levels: dict[str, dict[int, list[str]]] = {"BUY": {}, "SELL": {}}
        self.pending: str | None = None
        self.crossed = False
        self.top: list[dict[str, Any]] = []
        self.queue: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self.last_top: tuple[Any, ...] | None = self._top_values()

    # -- book primitives --------------------------------------------------------------
    def best(self, side: str) -> int | None:
        ticks = [t for t, ids in self.levels[side].items() if ids]
        if not ticks:
            return None
        return max(ticks) if side == "BUY" else min(ticks)

    def amm_best(self, side: str) -> int | None:
        ticks = [t for t, ids in self.levels[side].items() if any(self.orders[o].amm for o in ids)]
        if not ticks:
            return None
        return max(ticks) if side == "BUY" else min(ticks)

    def level_qty(self, side: str, tick: int, amm_only: bool = False) -> int:
        return sum(
            self.orders[o].leaves
            for o in self.levels[side].get(tick, [])
            if self.orders[o].amm or not amm_only
        )

    def rest(self, order: _Order) -> None:
        assert order.tick is not None
        order.state = "resting"
        self.levels[order.side].setdefault(order.tick, []).append(order.order_id)

    def remove(self, order_id: str) -> None:
        order = self.orders.pop(order_id)
        if order.state == "resting":
            assert order.tick is not None
            self.levels[order.side][order.tick].remove(order_id)
        if self.pending == order_id:
            self.pending = None

    def crosses(self, order: _Order) -> bool:
        if order.market:
            return True
        opposite = self.best("SELL" if order.side == "BUY" else "BUY")
        if opposite is None or order.tick is None:
            return False
        return order.tick >= opposite if order.side == "BUY" else order.tick <= opposite

    def arrive(self, order: _Order, seq: int, time: Any) -> None:
        order.joined_seq = seq
        order.joined_time = time
        if order.leaves <= 0:
            return
        self.orders[order.order_id] = order
        if order.rests and not self.crosses(order):
            self.rest(order)
        else:
            if self.pending is not None and self.pending != order.order_id:
                self.settle()  # one order in flight at a time
            order.state = "in_flight"
            self.pending = order.order_id

    def settle(self) -> None:
        order_id = self.pending
        if order_id is None:
            return
        self.pending = None
        order = self.orders[order_id]
        if order.rests and order.leaves > 0 and order.tick is not None:
            self.rest(order)
        else:
            del self.orders[order_id]

    # -- outputs -----------------------------------------------------------------------
    def finding(
        self,
        row: dict[str, Any],
        kind: FindingKind,
        price: int | None,
        expected_price: int | None,
        qty: int | None,
        expected_qty: int | None,
    ) -> None:
        self.findings.append(
            {
                "seq": row["seq"],
                "kind": kind.value,
                "order_id": row["order_id"],
                "price": _unit(price, self.p.tick_size),
                "expected_price": _unit(expected_price, self.p.tick_size),
                "quantity": _unit(qty, self.p.lot_size),
                "expected_quantity": _unit(expected_qty, self.p.lot_size),
            }
        )

    def _top_values(self) -> tuple[Any, ...]:
        bid, ask = self.best("BUY"), self.best("SELL")
        amm_bid, amm_ask = self.amm_best("BUY"), self.amm_best("SELL")
        depths: list[int | None] = []
        for bps in self.p.depth_bps:
            if bid is None or ask is None:
                depths += [None, None]
                continue
            two_mid = bid + ask
            depths.append(
                sum(
                    self.level_qty("BUY", t)
                    for t in self.levels["BUY"]
                    if t * 20000 >= two_mid * (10000 - bps)
                )
            )
            depths.append(
                sum(
                    self.level_qty("SELL", t)
                    for t in self.levels["SELL"]
                    if t * 20000 <= two_mid * (10000 + bps)
                )
            )
        return (
            bid,
            self.level_qty("BUY", bid) if bid is not None else 0,
            len(self.levels["BUY"][bid]) if bid is not None else 0,
            self.level_qty("BUY", bid, amm_only=True) if bid is not None else 0,
            ask,
            self.level_qty("SELL", ask) if ask is not None else 0,
            len(self.levels["SELL"][ask]) if ask is not None else 0,
            self.level_qty("SELL", ask, amm_only=True) if ask is not None else 0,
            amm_bid,
            self.level_qty("BUY", amm_bid, amm_only=True) if amm_bid is not None else 0,
            amm_ask,
            self.level_qty("SELL", amm_ask, amm_only=True) if amm_ask is not None else 0,
            tuple(depths),
        )

    def _top_row(self, row: dict[str, Any], values: tuple[Any, ...]) -> dict[str, Any]:
        bid, bid_q, bid_n, amm_q_bid, ask, ask_q, ask_n, amm_q_ask = values[:8]
        amm_bid, amm_bid_q, amm_ask, amm_ask_q, depths = values[8:]
        tick, lot = self.p.tick_size, self.p.lot_size
        best_bid, best_ask = _unit(bid, tick), _unit(ask, tick)
        both = best_bid is not None and best_ask is not None
        mid = (best_bid + best_ask) / 2.0 if both else None  # type: ignore[operator]
        spread = _unit(ask - bid, tick) if both else None
        out = {
            "symbol": self.p.symbol,
            "seq": row["seq"],
            "event_time": row["event_time"],
            "best_bid": best_bid,
            "best_bid_qty": _unit(bid_q, lot),
            "best_bid_orders": bid_n,
            "best_ask": best_ask,
            "best_ask_qty": _unit(ask_q, lot),
            "best_ask_orders": ask_n,
            "mid": mid,
            "spread": spread,
            "spread_ticks": ask - bid if both else None,
            "spread_bps": spread / mid * 10_000.0 if both else None,  # type: ignore[operator]
            "amm_bid_share": amm_q_bid / bid_q if bid is not None else None,
            "amm_ask_share": amm_q_ask / ask_q if ask is not None else None,
            "amm_alone_bid": bid is not None and amm_q_bid == bid_q,
            "amm_alone_ask": ask is not None and amm_q_ask == ask_q,
            "amm_best_bid": _unit(amm_bid, tick),
            "amm_best_bid_qty": _unit(amm_bid_q, lot),
            "amm_best_ask": _unit(amm_ask, tick),
            "amm_best_ask_qty": _unit(amm_ask_q, lot),
        }
        for j, bps in enumerate(self.p.depth_bps):
            out[depth_column("bid", bps)] = _unit(depths[2 * j], lot)
            out[depth_column("ask", bps)] = _unit(depths[2 * j + 1], lot)
        return out

    def queue_row(self, row: dict[str, Any], order: _Order) -> None:
        assert order.tick is not None
        ids = self.levels[order.side][order.tick]
        ahead = ids[: ids.index(order.order_id)]
        shown = [self.orders[o] for o in ahead[: self.p.max_ahead]]
        lot = self.p.lot_size
        self.queue.append(
            {
                "symbol": self.p.symbol,
                "seq": row["seq"],
                "event_time": row["event_time"],
                "trade_id": row["trade_id"],
                "order_id": order.order_id,
                "account_id": order.account_id,
                "is_amm": order.amm,
                "side": order.side,
                "price": _unit(order.tick, self.p.tick_size),
                "fill_price": row["fill_price"],
                "fill_quantity": row["fill_quantity"],
                "leaves_before": _unit(order.leaves, lot),
                "joined_seq": order.joined_seq,
                "joined_time": order.joined_time,
                "at_best": order.tick == self.best(order.side),
                "queue_position": len(ahead),
                "level_orders": len(ids),
                "level_quantity": _unit(self.level_qty(order.side, order.tick), lot),
                "ahead_quantity": _unit(sum(self.orders[o].leaves for o in ahead), lot),
                "ahead_order_ids": [o.order_id for o in shown],
                "ahead_account_ids": [o.account_id for o in shown],
                "ahead_quantities": [_unit(o.leaves, lot) for o in shown],
                "ahead_joined_seqs": [o.joined_seq for o in shown],
                "ahead_joined_times": [o.joined_time for o in shown],
                "ahead_amm": [o.amm for o in shown],
                "ahead_truncated": len(ahead) > len(shown),
            }
        )

    # -- the journal ------------------------------------------------------------------
    def apply(self, row: dict[str, Any]) -> None:
        p = self.p
        et, oid, seq, time = row["event_type"], row["order_id"], row["seq"], row["event_time"]
        tick = _count(row["price"], p.tick_size) if row["order_type"] != "MARKET" else None
        fill_tick = _count(row["fill_price"], p.tick_size)
        qty = _count(row["quantity"], p.lot_size) or 0
        leaves = _count(row["leaves_quantity"], p.lot_size) or 0
        fill_qty = _count(row["fill_quantity"], p.lot_size) or 0
        raw_tick = _count(row["price"], p.tick_size)

        off = [
            _count(row[c], step) is not None
            and abs(row[c] / step - round(row[c] / step)) > 1e-6 + 1e-12 * abs(row[c] / step)
            for c, step in (
                ("price", p.tick_size),
                ("fill_price", p.tick_size),
                ("quantity", p.lot_size),
                ("leaves_quantity", p.lot_size),
                ("fill_quantity", p.lot_size),
            )
        ]
        if any(off):
            self.findings.append({"seq": seq, "kind": FindingKind.OFF_GRID.value})

        if (
            self.pending is not None
            and et != "FILL"
            and time != self.orders[self.pending].joined_time
        ):
            own = oid == self.pending and et in _TERMINAL
            if not own:
                self.settle()

        order = self.orders.get(oid)
        if et == "NEW":
            if order is not None:
                self.finding(row, FindingKind.DUPLICATE_NEW, raw_tick, None, qty, None)
                self.remove(oid)
            self.arrive(
                _Order(
                    order_id=oid,
                    account_id=row["account_id"],
                    side=row["side"],
                    rests=tick is not None and row["time_in_force"] in ("GTC", "POST_ONLY"),
                    market=row["order_type"] == "MARKET",
                    tick=raw_tick,
                    quantity=qty,
                    leaves=leaves,
                    amm=row["account_id"] in p.amm_accounts,
                    joined_seq=seq,
                    joined_time=time,
                    state="",
                ),
                seq,
                time,
            )
        elif et == "REPLACE":
            if order is None:
                self.finding(row, FindingKind.ORDER_NOT_IN_BOOK, raw_tick, None, leaves, None)
            elif leaves <= 0:
                self.remove(oid)
            elif raw_tick == order.tick and qty <= order.quantity:
                order.leaves = leaves
                order.quantity = qty
            else:
                self.remove(oid)
                order.tick = raw_tick
                order.rests = order.rests and tick is not None
                order.quantity = qty
                order.leaves = leaves
                self.arrive(order, seq, time)
        elif et in _TERMINAL:
            if order is not None:
                self.remove(oid)
            elif et != "REJECT":
                self.finding(row, FindingKind.ORDER_NOT_IN_BOOK, raw_tick, None, leaves, None)
        elif et == "FILL":
            if order is None:
                self.finding(row, FindingKind.ORDER_NOT_IN_BOOK, fill_tick, None, fill_qty, None)
            else:
                liquidity = row["liquidity"]
                if liquidity not in ("MAKER", "TAKER"):
                    liquidity = "MAKER" if order.state == "resting" else "TAKER"
                if liquidity == "MAKER":
                    if order.state != "resting":
                        self.finding(
                            row, FindingKind.ORDER_NOT_IN_BOOK, fill_tick, None, fill_qty, None
                        )
                    else:
                        best = self.best(order.side)
                        if fill_tick is not None and fill_tick != best:
                            self.finding(
                                row,
                                FindingKind.MAKER_FILL_NOT_AT_BEST,
                                fill_tick,
                                best,
                                fill_qty,
                                None,
                            )
                        self.queue_row(row, order)
                else:
                    opposite = self.best("SELL" if order.side == "BUY" else "BUY")
                    if fill_tick is not None and opposite is not None:
                        skipped = (
                            fill_tick > opposite if order.side == "BUY" else fill_tick < opposite
                        )
                        if skipped:
                            self.finding(
                                row,
                                FindingKind.TAKER_FILL_SKIPPED_LEVEL,
                                fill_tick,
                                opposite,
                                fill_qty,
                                None,
                            )
                expected = order.leaves - fill_qty
                if leaves != expected:
                    self.finding(
                        row, FindingKind.LEAVES_MISMATCH, fill_tick, None, leaves, expected
                    )
                if leaves <= 0:
                    self.remove(oid)
                else:
                    order.leaves = leaves

        if self.pending is not None:
            order = self.orders[self.pending]
            if order.rests and order.leaves > 0 and not self.crosses(order):
                self.settle()

        bid, ask = self.best("BUY"), self.best("SELL")
        if bid is not None and ask is not None and bid >= ask:
            if not self.crossed:
                self.crossed = True
                self.finding(row, FindingKind.CROSSED_BOOK, bid, ask, None, None)
        else:
            self.crossed = False
        values = self._top_values()
        if values != self.last_top:
            self.last_top = values
            self.top.append(self._top_row(row, values))


def reference_replay(
    orders: pa.Table, params: ReplayParams
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Top rows, queue rows and findings (seq, kind, ids, prices) of a journal table."""
    book = ReferenceBook(params)
    for row in orders.to_pylist():
        book.apply(row)
    return book.top, book.queue, book.findings
