"""Build small, readable order journals (curated ``orders`` tables) for the book tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from surveillance.book.engine import ReplayParams
from surveillance.contract import Orders

DAY = dt.date(2026, 3, 2)
SYMBOL = "BTC-USD"
T0 = pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(hours=9)
AMM = "amm-1"


def params(**overrides: Any) -> ReplayParams:
    """Replay parameters of the test instrument: tick 0.5, lot 0.1, AMM ``amm-1``."""
    values: dict[str, Any] = {
        "symbol": SYMBOL,
        "tick_size": 0.5,
        "lot_size": 0.1,
        "amm_accounts": frozenset({AMM}),
        "depth_bps": (10, 100),
        "max_ahead": 100,
        "buffer_rows": 16,
    }
    values.update(overrides)
    return ReplayParams(**values)


@dataclass
class _Open:
    side: str
    price: float | None
    quantity: float
    leaves: float
    account: str
    order_type: str
    tif: str


class Journal:
    """Append engine events one by one; open quantities are tracked for you."""

    def __init__(self, symbol: str = SYMBOL) -> None:
        self.symbol = symbol
        self.rows: list[dict[str, Any]] = []
        self.open: dict[str, _Open] = {}
        self._trades = 0

    def _row(self, order_id: str, event_type: str, o: _Open, **extra: Any) -> int:
        seq = len(self.rows) + 1
        row = {
            "event_time": T0 + pd.Timedelta(milliseconds=seq),
            "gateway_time": None,
            "seq": seq,
            "symbol": self.symbol,
            "order_id": order_id,
            "account_id": o.account,
            "event_type": event_type,
            "side": o.side,
            "order_type": o.order_type,
            "time_in_force": o.tif,
            "price": o.price,
            "quantity": o.quantity,
            "leaves_quantity": o.leaves,
            "fill_price": None,
            "fill_quantity": None,
            "trade_id": None,
            "liquidity": None,
            "origin": "CLIENT",
        }
        row.update(extra)
        self.rows.append(row)
        return seq

    def new(
        self,
        order_id: str,
        side: str,
        price: float | None,
        quantity: float,
        *,
        account: str = "client-1",
        tif: str = "GTC",
        order_type: str = "LIMIT",
    ) -> int:
        o = _Open(side, price, quantity, quantity, account, order_type, tif)
        self.open[order_id] = o
        return self._row(order_id, "NEW", o)

    def replace(
        self, order_id: str, *, price: float | None = None, quantity: float | None = None
    ) -> int:
        o = self.open[order_id]
        filled = o.quantity - o.leaves
        if price is not None:
            o.price = price
        if quantity is not None:
            o.quantity = quantity
            o.leaves = round(quantity - filled, 10)
        return self._row(order_id, "REPLACE", o)

    def end(self, order_id: str, event_type: str = "CANCEL") -> int:
        o = self.open.pop(order_id)
        o.leaves = 0.0
        return self._row(order_id, event_type, o)

    def fill(
        self, order_id: str, price: float, quantity: float, liquidity: str, trade_id: str
    ) -> int:
        o = self.open[order_id]
        o.leaves = round(o.leaves - quantity, 10)
        seq = self._row(
            order_id,
            "FILL",
            o,
            fill_price=price,
            fill_quantity=quantity,
            trade_id=trade_id,
            liquidity=liquidity,
        )
        if o.leaves <= 0:
            del self.open[order_id]
        return seq

    def trade(self, maker: str, taker: str, price: float, quantity: float) -> int:
        """A match: the maker's FILL row, then the taker's; returns the maker row's seq."""
        self._trades += 1
        trade_id = f"T{self._trades}"
        seq = self.fill(maker, price, quantity, "MAKER", trade_id)
        self.fill(taker, price, quantity, "TAKER", trade_id)
        return seq

    def raw(self, **row: Any) -> int:
        """Append an arbitrary row (for malformed journals); unspecified columns are null."""
        seq = len(self.rows) + 1
        base: dict[str, Any] = {name: None for name in Orders.names()}
        base.update(
            event_time=T0 + pd.Timedelta(milliseconds=seq),
            seq=seq,
            symbol=self.symbol,
            origin="CLIENT",
        )
        base.update(row)
        self.rows.append(base)
        return seq

    def table(self) -> pa.Table:
        return Orders.from_pylist(self.rows)
