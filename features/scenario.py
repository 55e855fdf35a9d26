"""Hand-built market scenarios: write a few seconds of a venue as code, get a SymbolDay.

Detector tests, and anyone writing a new rule, need small, exact situations ("the
AMM buys 3 BTC two seconds before a client's 25 BTC buy") rather than a simulated
day. :class:`Scenario` writes an order journal and its trades in the contract's
columns from explicit calls (``new``, ``cancel``, ``replace``, ``trade``), assigns
seq numbers in call order, and replays a plain price-time book over it to produce
the book stage's ``top`` and ``queue`` outputs, so every feature sees what the
pipeline would give it. It is deliberately simple and slow: scenarios have tens of
events.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.data import SymbolDay
from surveillance.book.schema import DEFAULT_DEPTH_BPS, Queue, Top, depth_column
from surveillance.contract import Accounts, Orders, Trades
from surveillance.days import day_bounds

#: The default cast: the operator's group (two AMM accounts and HOUSE), two external
#: market makers and five clients.
DEFAULT_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("AMM-1", "ENT-GROUP", "AFFILIATED_MM"),
    ("AMM-2", "ENT-GROUP", "AFFILIATED_MM"),
    ("HOUSE-1", "ENT-GROUP", "HOUSE"),
    ("XMM-1", "ENT-XMM-1", "EXTERNAL_MM"),
    ("XMM-2", "ENT-XMM-2", "EXTERNAL_MM"),
    *((f"CLI-{k}", f"ENT-CLI-{k}", "CLIENT") for k in range(1, 6)),
)


@dataclass
class _Open:
    account: str
    side: str
    price: float
    quantity: float
    leaves: float
    joined_seq: int
    joined_time: int
    order_type: str
    tif: str
    origin: str | None


class Scenario:
    """An explicit journal of one symbol's day; times are seconds after midnight UTC."""

    def __init__(
        self,
        day: dt.date = dt.date(2026, 3, 2),
        symbol: str = "BTC-USD",
        *,
        tick_size: float = 0.1,
        lot_size: float = 0.0001,
        accounts: tuple[tuple[str, str, str], ...] = DEFAULT_ACCOUNTS,
        instrument: dict[str, Any] | None = None,
    ) -> None:
        self.day = day
        self.symbol = symbol
        self.tick_size = tick_size
        self.lot_size = lot_size
        self.accounts = accounts
        self.instrument = {
            "symbol": symbol,
            "base_asset": symbol.split("-")[0],
            "quote_asset": symbol.split("-")[-1],
            "tick_size": tick_size,
            "lot_size": lot_size,
            "mm_max_spread_bps": None,
            "mm_min_quote_quantity": None,
            "mm_min_uptime": None,
            **(instrument or {}),
        }
        self.rows: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.references: list[dict[str, Any]] = []
        self._orders: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(1)
        self._oid = itertools.count(1)
        self._tid = itertools.count(1)
        self._start = day_bounds(day)[0]

    def at(self, seconds: float) -> pd.Timestamp:
        return self._start + pd.Timedelta(seconds=seconds)

    # ----------------------------------------------------------------- events
    def _row(self, seconds: float, order_id: str, event: str, gw_latency: float | None) -> dict:
        o = self._orders[order_id]
        row = {
            Orders.event_time: self.at(seconds),
            Orders.gateway_time: (
                self.at(seconds - gw_latency) if gw_latency is not None else None
            ),
            Orders.seq: next(self._seq),
            Orders.symbol: self.symbol,
            Orders.order_id: order_id,
            Orders.account_id: o["account"],
            Orders.event_type: event,
            Orders.side: o["side"],
            Orders.order_type: o["order_type"],
            Orders.time_in_force: o["tif"],
            Orders.price: o["price"],
            Orders.quantity: o["quantity"],
            Orders.leaves_quantity: o["leaves"],
            Orders.fill_price: None,
            Orders.fill_quantity: None,
            Orders.trade_id: None,
            Orders.liquidity: None,
            Orders.origin: o["origin"],
        }
        self.rows.append(row)
        return row

    def new(
        self,
        seconds: float,
        account: str,
        side: str,
        price: float | None,
        quantity: float,
        *,
        order_type: str = "LIMIT",
        tif: str = "GTC",
        latency: float = 0.001,
        origin: str | None = None,
        order_id: str | None = None,
    ) -> str:
        """A NEW order; returns its id. ``latency`` is gateway-to-engine seconds."""
        oid = order_id or f"O-{next(self._oid)}"
        self._orders[oid] = {
            "account": account,
            "side": side,
            "price": None if order_type == "MARKET" else price,
            "quantity": quantity,
            "leaves": quantity,
            "order_type": order_type,
            "tif": tif,
            "origin": origin,
        }
        self._row(seconds, oid, "NEW", latency)
        return oid

    def cancel(self, seconds: float, order_id: str, *, latency: float = 0.001) -> None:
        self._orders[order_id]["leaves"] = 0.0
        self._row(seconds, order_id, "CANCEL", latency)

    def expire(self, seconds: float, order_id: str) -> None:
        self._orders[order_id]["leaves"] = 0.0
        self._row(seconds, order_id, "EXPIRE", None)

    def replace(
        self,
        seconds: float,
        order_id: str,
        *,
        price: float | None = None,
        quantity: float | None = None,
        latency: float = 0.001,
    ) -> None:
        o = self._orders[order_id]
        if quantity is not None:
            filled = o["quantity"] - o["leaves"]
            o["quantity"] = quantity
            o["leaves"] = quantity - filled
        if price is not None:
            o["price"] = price
        self._row(seconds, order_id, "REPLACE", latency)

    def trade(
        self, seconds: float, taker: str, maker: str, quantity: float, price: float | None = None
    ) -> str:
        """A match: the maker's FILL, then the taker's FILL, and the trade row."""
        tid = f"T-{next(self._tid)}"
        m, t = self._orders[maker], self._orders[taker]
        px = float(price if price is not None else m["price"])
        for oid, liq in ((maker, "MAKER"), (taker, "TAKER")):
            o = self._orders[oid]
            o["leaves"] = round(o["leaves"] - quantity, 12)
            row = self._row(seconds, oid, "FILL", None)
            row.update(
                {
                    Orders.fill_price: px,
                    Orders.fill_quantity: quantity,
                    Orders.trade_id: tid,
                    Orders.liquidity: liq,
                }
            )
        buy, sell = (taker, maker) if t["side"] == "BUY" else (maker, taker)
        self.trades.append(
            {
                Trades.event_time: self.at(seconds),
                Trades.symbol: self.symbol,
                Trades.trade_id: tid,
                Trades.price: px,
                Trades.quantity: quantity,
                Trades.aggressor_side: t["side"],
                Trades.buy_order_id: buy,
                Trades.sell_order_id: sell,
                Trades.buy_account_id: self._orders[buy]["account"],
                Trades.sell_account_id: self._orders[sell]["account"],
                Trades.buy_fee: None,
                Trades.sell_fee: None,
            }
        )
        return tid

    def take(
        self,
        seconds: float,
        account: str,
        side: str,
        makers: list[tuple[str, float]],
        *,
        latency: float = 0.001,
        origin: str | None = None,
    ) -> tuple[str, list[str]]:
        """A marketable IOC order that fills against ``makers`` [(order, qty)] in turn."""
        qty = round(sum(q for _, q in makers), 12)
        worst = [self._orders[m]["price"] for m, _ in makers]
        price = max(worst) if side == "BUY" else min(worst)
        oid = self.new(
            seconds, account, side, price, qty, tif="IOC", latency=latency, origin=origin
        )
        trades = [self.trade(seconds, oid, m, q) for m, q in makers]
        return oid, trades

    def reference(self, seconds: float, price: float) -> None:
        self.references.append(
            {"event_time": self.at(seconds), "symbol": self.symbol, "price": price}
        )

    # ------------------------------------------------------------------ build
    def build(self) -> SymbolDay:
        orders = pd.DataFrame(self.rows, columns=Orders.names())
        trades = pd.DataFrame(self.trades, columns=Trades.names())
        accounts = pd.DataFrame(
            [
                {Accounts.account_id: a, Accounts.entity_id: e, Accounts.role: r}
                for a, e, r in self.accounts
            ]
        )
        top, queue = self._replay(orders)
        refs = pd.DataFrame(self.references) if self.references else None
        return SymbolDay(
            self.day, self.symbol, orders, trades, accounts, dict(self.instrument), refs, top, queue
        )

    def _replay(self, orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        amm = {a for a, _, r in self.accounts if r == "AFFILIATED_MM"}
        book: dict[str, _Open] = {}
        tops: list[dict[str, Any]] = []
        queue: list[dict[str, Any]] = []
        for row in orders.to_dict("records"):
            oid, et = row[Orders.order_id], row[Orders.event_type]
            seq, t = int(row[Orders.seq]), pd.Timestamp(row[Orders.event_time])
            resting = row[Orders.order_type] == "LIMIT" and row[Orders.time_in_force] not in (
                "IOC",
                "FOK",
            )
            if et == "FILL" and row[Orders.liquidity] == "MAKER" and oid in book:
                o = book[oid]
                ahead = sorted(
                    (
                        x
                        for k, x in book.items()
                        if k != oid
                        and x.side == o.side
                        and x.price == o.price
                        and x.joined_seq < o.joined_seq
                    ),
                    key=lambda x: x.joined_seq,
                )
                ahead_ids = [
                    k
                    for k, x in sorted(book.items(), key=lambda kv: kv[1].joined_seq)
                    if x in ahead
                ]
                level = [x for x in book.values() if x.side == o.side and x.price == o.price]
                best = self._best(book, o.side)
                queue.append(
                    {
                        Queue.symbol: self.symbol,
                        Queue.seq: seq,
                        Queue.event_time: t,
                        Queue.trade_id: row[Orders.trade_id],
                        Queue.order_id: oid,
                        Queue.account_id: o.account,
                        Queue.is_amm: o.account in amm,
                        Queue.side: o.side,
                        Queue.price: o.price,
                        Queue.fill_price: row[Orders.fill_price],
                        Queue.fill_quantity: row[Orders.fill_quantity],
                        Queue.leaves_before: o.leaves,
                        Queue.joined_seq: o.joined_seq,
                        Queue.joined_time: pd.Timestamp(o.joined_time, tz="UTC"),
                        Queue.at_best: best == o.price,
                        Queue.queue_position: len(ahead),
                        Queue.level_orders: len(level),
                        Queue.level_quantity: sum(x.leaves for x in level),
                        Queue.ahead_quantity: sum(x.leaves for x in ahead),
                        Queue.ahead_order_ids: ahead_ids,
                        Queue.ahead_account_ids: [x.account for x in ahead],
                        Queue.ahead_quantities: [x.leaves for x in ahead],
                        Queue.ahead_joined_seqs: [x.joined_seq for x in ahead],
                        Queue.ahead_joined_times: [
                            pd.Timestamp(x.joined_time, tz="UTC") for x in ahead
                        ],
                        Queue.ahead_amm: [x.account in amm for x in ahead],
                        Queue.ahead_truncated: False,
                    }
                )
            leaves = float(row[Orders.leaves_quantity])
            if et == "NEW" and resting and leaves > 0:
                book[oid] = _Open(
                    row[Orders.account_id],
                    row[Orders.side],
                    float(row[Orders.price]),
                    float(row[Orders.quantity]),
                    leaves,
                    seq,
                    int(t.value),
                    row[Orders.order_type],
                    row[Orders.time_in_force],
                    row[Orders.origin],
                )
            elif et == "REPLACE" and oid in book:
                o = book[oid]
                new_price = float(row[Orders.price])
                if new_price != o.price or leaves > o.leaves:
                    o.joined_seq, o.joined_time = seq, int(t.value)
                o.price, o.leaves = new_price, leaves
            elif et in ("CANCEL", "EXPIRE", "REJECT"):
                book.pop(oid, None)
            elif et == "FILL" and oid in book:
                book[oid].leaves = leaves
            if oid in book and book[oid].leaves <= 0:
                book.pop(oid)
            tops.append(self._top(book, seq, t, amm))
        top = pd.DataFrame(tops)
        queue_frame = pd.DataFrame(queue, columns=Queue.names())
        return top, queue_frame

    @staticmethod
    def _best(book: dict[str, _Open], side: str) -> float | None:
        prices = [o.price for o in book.values() if o.side == side]
        if not prices:
            return None
        return max(prices) if side == "BUY" else min(prices)

    def _top(self, book: dict[str, _Open], seq: int, t: pd.Timestamp, amm: set[str]) -> dict:
        bid, ask = self._best(book, "BUY"), self._best(book, "SELL")
        at_bid = [o for o in book.values() if o.side == "BUY" and o.price == bid]
        at_ask = [o for o in book.values() if o.side == "SELL" and o.price == ask]
        mid = (bid + ask) / 2 if bid is not None and ask is not None else None
        amm_bids = [o.price for o in book.values() if o.side == "BUY" and o.account in amm]
        amm_asks = [o.price for o in book.values() if o.side == "SELL" and o.account in amm]
        amm_bid = max(amm_bids) if amm_bids else None
        amm_ask = min(amm_asks) if amm_asks else None

        def share(level: list[_Open]) -> float | None:
            total = sum(o.leaves for o in level)
            return sum(o.leaves for o in level if o.account in amm) / total if total else None

        row: dict[str, Any] = {
            Top.symbol: self.symbol,
            Top.seq: seq,
            Top.event_time: t,
            Top.best_bid: bid,
            Top.best_bid_qty: sum(o.leaves for o in at_bid),
            Top.best_bid_orders: len(at_bid),
            Top.best_ask: ask,
            Top.best_ask_qty: sum(o.leaves for o in at_ask),
            Top.best_ask_orders: len(at_ask),
            Top.mid: mid,
            Top.spread: ask - bid if ask is not None and bid is not None else None,
            Top.spread_ticks: (
                round((ask - bid) / self.tick_size) if ask is not None and bid is not None else None
            ),
            Top.spread_bps: (
                (ask - bid) / mid * 1e4 if ask is not None and bid is not None and mid else None
            ),
            Top.amm_bid_share: share(at_bid),
            Top.amm_ask_share: share(at_ask),
            Top.amm_alone_bid: bool(at_bid) and all(o.account in amm for o in at_bid),
            Top.amm_alone_ask: bool(at_ask) and all(o.account in amm for o in at_ask),
            Top.amm_best_bid: amm_bid,
            Top.amm_best_bid_qty: sum(
                o.leaves
                for o in book.values()
                if o.side == "BUY" and o.account in amm and o.price == amm_bid
            ),
            Top.amm_best_ask: amm_ask,
            Top.amm_best_ask_qty: sum(
                o.leaves
                for o in book.values()
                if o.side == "SELL" and o.account in amm and o.price == amm_ask
            ),
        }
        for bps in DEFAULT_DEPTH_BPS:
            for side, name in (("BUY", "bid"), ("SELL", "ask")):
                if mid is None:
                    row[depth_column(name, bps)] = None
                    continue
                bound = mid * (1 - bps / 1e4) if side == "BUY" else mid * (1 + bps / 1e4)
                row[depth_column(name, bps)] = float(
                    np.sum(
                        [
                            o.leaves
                            for o in book.values()
                            if o.side == side
                            and (o.price >= bound if side == "BUY" else o.price <= bound)
                        ]
                    )
                )
        return row
