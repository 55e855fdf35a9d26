"""One symbol's trading day as the feature functions see it.

Every feature is a function of a :class:`SymbolDay`: the curated orders and trades
of one (day, symbol), the reference snapshots, the external reference prices when
the venue sent them, and the book outputs when the book stage has run. The derived
views that several features share (who is an AMM, per-order summaries, the
taker/maker view of each trade) are computed once here, vectorised, and cached, so
that eleven detectors do not each re-derive them.

Times are kept as ``int64`` nanoseconds since the epoch in the derived views:
window arithmetic (``searchsorted`` over sorted times) is then plain integer work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

import numpy as np
import pandas as pd

from surveillance.contract import (
    DEFAULT_ORIGIN,
    Accounts,
    EventType,
    Instruments,
    Liquidity,
    Orders,
    ReferencePrices,
    Role,
    Side,
    Trades,
)
from surveillance.storage import Lake, exists, read_table

#: Roles of the operator's group: an AMM trading with one of these is not a change
#: of beneficial ownership at group level.
GROUP_ROLES = frozenset({Role.AFFILIATED_MM.value, Role.HOUSE.value})
NS = 1_000_000_000


def to_ns(values: pd.Series | pd.Index) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds; nulls become ``iinfo(int64).min``."""
    series = pd.Series(values)
    out = np.full(len(series), np.iinfo(np.int64).min, dtype=np.int64)
    mask = series.notna().to_numpy()
    if mask.any():
        stamps = pd.to_datetime(series[mask], utc=True)
        out[mask] = (
            stamps.astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").view(np.int64)
        )
    return out


@overload
def from_ns(values: int | np.integer) -> pd.Timestamp: ...
@overload
def from_ns(values: np.ndarray) -> pd.DatetimeIndex: ...
def from_ns(values: np.ndarray | int | np.integer) -> pd.DatetimeIndex | pd.Timestamp:
    """Inverse of :func:`to_ns`: one UTC timestamp for a scalar, an index for an array."""
    if np.ndim(values) == 0:
        return pd.Timestamp(int(values), unit="ns", tz="UTC")
    return pd.DatetimeIndex(np.asarray(values, dtype="datetime64[ns]"), tz="UTC")


def side_sign(sides: pd.Series) -> np.ndarray:
    """+1 for BUY, -1 for SELL."""
    return np.where(sides.to_numpy(dtype=object) == Side.BUY.value, 1, -1).astype(np.int8)


@dataclass
class SymbolDay:
    """The inputs of every feature for one (day, symbol).

    ``top`` and ``queue`` are the book stage's outputs (``surveillance.book.schema``);
    they are ``None`` when the book has not been built, and the features that need
    them then report that instead of guessing.
    """

    day: dt.date
    symbol: str
    orders: pd.DataFrame
    trades: pd.DataFrame
    accounts: pd.DataFrame
    instrument: dict[str, Any] = field(default_factory=dict)
    reference_prices: pd.DataFrame | None = None
    top: pd.DataFrame | None = None
    queue: pd.DataFrame | None = None

    # ------------------------------------------------------------------ accounts
    @cached_property
    def role_of(self) -> dict[str, str]:
        return dict(
            zip(self.accounts[Accounts.account_id], self.accounts[Accounts.role], strict=True)
        )

    @cached_property
    def entity_of(self) -> dict[str, str]:
        return dict(
            zip(self.accounts[Accounts.account_id], self.accounts[Accounts.entity_id], strict=True)
        )

    def accounts_with_role(self, role: Role) -> list[str]:
        return sorted(a for a, r in self.role_of.items() if r == role.value)

    @cached_property
    def amm_accounts(self) -> list[str]:
        return self.accounts_with_role(Role.AFFILIATED_MM)

    @cached_property
    def external_mm_accounts(self) -> list[str]:
        return self.accounts_with_role(Role.EXTERNAL_MM)

    def roles(self, accounts: pd.Series) -> np.ndarray:
        return accounts.map(self.role_of).fillna("").to_numpy(dtype=object)

    # -------------------------------------------------------------- instrument
    @property
    def tick_size(self) -> float:
        return float(self.instrument.get(Instruments.tick_size) or 0.0)

    # ------------------------------------------------------------------ orders
    @cached_property
    def events(self) -> pd.DataFrame:
        """The order journal with int64 times, role and a signed side, sorted by seq."""
        o = self.orders.sort_values(Orders.seq, kind="stable").reset_index(drop=True)
        out = pd.DataFrame(
            {
                "seq": o[Orders.seq].to_numpy(dtype=np.int64),
                "t": to_ns(o[Orders.event_time]),
                "gw": to_ns(o[Orders.gateway_time])
                if Orders.gateway_time in o
                else np.full(len(o), np.iinfo(np.int64).min, dtype=np.int64),
                "order_id": o[Orders.order_id].astype(object).to_numpy(),
                "account_id": o[Orders.account_id].astype(object).to_numpy(),
                "event_type": o[Orders.event_type].astype(object).to_numpy(),
                "side": o[Orders.side].astype(object).to_numpy(),
                "order_type": o[Orders.order_type].astype(object).to_numpy(),
                "tif": o[Orders.time_in_force].astype(object).to_numpy(),
                "price": o[Orders.price].to_numpy(dtype=float, na_value=np.nan),
                "quantity": o[Orders.quantity].to_numpy(dtype=float, na_value=np.nan),
                "leaves": o[Orders.leaves_quantity].to_numpy(dtype=float, na_value=np.nan),
                "fill_price": o[Orders.fill_price].to_numpy(dtype=float, na_value=np.nan),
                "fill_qty": o[Orders.fill_quantity].to_numpy(dtype=float, na_value=np.nan),
                "trade_id": o[Orders.trade_id].astype(object).to_numpy(),
                "liquidity": o[Orders.liquidity].astype(object).to_numpy(),
                "origin": (
                    o[Orders.origin].astype(object).fillna(DEFAULT_ORIGIN.value).to_numpy()
                    if Orders.origin in o
                    else np.full(len(o), DEFAULT_ORIGIN.value, dtype=object)
                ),
            }
        )
        out["role"] = self.roles(out["account_id"])
        out["sign"] = side_sign(out["side"])
        return out

    @cached_property
    def order_summary(self) -> pd.DataFrame:
        """One row per order: who, what, when it arrived and how it ended.

        ``first_*`` describe the order's first event (NEW or REJECT); ``filled`` is the
        executed quantity, ``end_type``/``end_t`` the terminal event if any (the order
        is still open at the day's end otherwise), ``taker_qty`` what it executed as
        the incoming order.
        """
        ev = self.events
        if ev.empty:
            return pd.DataFrame(
                columns=[
                    "order_id",
                    "account_id",
                    "role",
                    "side",
                    "sign",
                    "order_type",
                    "tif",
                    "origin",
                    "price",
                    "quantity",
                    "seq",
                    "t",
                    "gw",
                    "filled",
                    "taker_qty",
                    "n_fills",
                    "end_type",
                    "end_t",
                    "end_seq",
                    "max_quantity",
                ]
            )
        grouped = ev.groupby("order_id", sort=False)
        first = grouped.head(1).set_index("order_id")
        fills = ev[ev["event_type"] == EventType.FILL.value]
        filled = fills.groupby("order_id", sort=False)["fill_qty"].sum()
        n_fills = fills.groupby("order_id", sort=False).size()
        taker = fills[fills["liquidity"] == Liquidity.TAKER.value]
        taker_qty = taker.groupby("order_id", sort=False)["fill_qty"].sum()
        last = grouped.tail(1).set_index("order_id").reindex(first.index)
        terminal = (last["leaves"] <= 0) | last["event_type"].isin(
            [EventType.CANCEL.value, EventType.EXPIRE.value, EventType.REJECT.value]
        )
        summary = pd.DataFrame(
            {
                "account_id": first["account_id"],
                "role": first["role"],
                "side": first["side"],
                "sign": first["sign"],
                "order_type": first["order_type"],
                "tif": first["tif"],
                "origin": first["origin"],
                "price": first["price"],
                "quantity": first["quantity"],
                "seq": first["seq"],
                "t": first["t"],
                "gw": first["gw"],
                "max_quantity": grouped["quantity"].max(),
            }
        )
        summary["filled"] = filled.reindex(summary.index).fillna(0.0)
        summary["taker_qty"] = taker_qty.reindex(summary.index).fillna(0.0)
        summary["n_fills"] = n_fills.reindex(summary.index).fillna(0).astype(np.int64)
        term = terminal.to_numpy(dtype=bool)
        summary["end_type"] = np.where(term, last["event_type"].to_numpy(dtype=object), "")
        summary["end_t"] = np.where(term, last["t"].to_numpy(), np.iinfo(np.int64).max)
        summary["end_seq"] = np.where(term, last["seq"].to_numpy(), np.iinfo(np.int64).max)
        return summary.reset_index().rename(columns={"index": "order_id"})

    # ------------------------------------------------------------------ trades
    @cached_property
    def trade_view(self) -> pd.DataFrame:
        """Trades with taker and maker sides resolved, roles and entities, times in ns.

        ``seq`` is the engine sequence number of the trade's taker fill, so a trade
        can be joined as-of to the book it met.
        """
        tr = self.trades
        buy_acc = tr[Trades.buy_account_id].astype(object)
        sell_acc = tr[Trades.sell_account_id].astype(object)
        aggr_buy = tr[Trades.aggressor_side].astype(object).to_numpy() == Side.BUY.value
        out = pd.DataFrame(
            {
                "trade_id": tr[Trades.trade_id].astype(object).to_numpy(),
                "t": to_ns(tr[Trades.event_time]),
                "price": tr[Trades.price].to_numpy(dtype=float),
                "qty": tr[Trades.quantity].to_numpy(dtype=float),
                "taker_sign": np.where(aggr_buy, 1, -1).astype(np.int8),
                "buy_account": buy_acc.to_numpy(),
                "sell_account": sell_acc.to_numpy(),
                "buy_order": tr[Trades.buy_order_id].astype(object).to_numpy(),
                "sell_order": tr[Trades.sell_order_id].astype(object).to_numpy(),
            }
        )
        out["taker_account"] = np.where(aggr_buy, out["buy_account"], out["sell_account"])
        out["maker_account"] = np.where(aggr_buy, out["sell_account"], out["buy_account"])
        out["taker_order"] = np.where(aggr_buy, out["buy_order"], out["sell_order"])
        out["maker_order"] = np.where(aggr_buy, out["sell_order"], out["buy_order"])
        out["buy_role"] = self.roles(out["buy_account"])
        out["sell_role"] = self.roles(out["sell_account"])
        out["taker_role"] = self.roles(out["taker_account"])
        out["maker_role"] = self.roles(out["maker_account"])
        out["buy_entity"] = out["buy_account"].map(self.entity_of).fillna("").to_numpy(object)
        out["sell_entity"] = out["sell_account"].map(self.entity_of).fillna("").to_numpy(object)
        ev = self.events
        taker_fills = ev[
            (ev["event_type"] == EventType.FILL.value) & (ev["liquidity"] == Liquidity.TAKER.value)
        ]
        seq_by_trade = dict(zip(taker_fills["trade_id"], taker_fills["seq"], strict=True))
        origin_by_order = dict(zip(ev["order_id"], ev["origin"], strict=False))
        out["seq"] = out["trade_id"].map(seq_by_trade).fillna(-1).astype(np.int64)
        out["taker_origin"] = out["taker_order"].map(origin_by_order).fillna(DEFAULT_ORIGIN.value)
        out["maker_origin"] = out["maker_order"].map(origin_by_order).fillna(DEFAULT_ORIGIN.value)
        return out.sort_values(["t", "seq", "trade_id"], kind="stable").reset_index(drop=True)

    @cached_property
    def mid_series(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, mid) of the book when built, else of trade prices: the public price."""
        if self.top is not None and len(self.top):
            from features.book import top_frame

            top = top_frame(self)
            ok = np.isfinite(top["mid"].to_numpy())
            return top["t"].to_numpy()[ok], top["mid"].to_numpy()[ok]
        tv = self.trade_view
        return tv["t"].to_numpy(), tv["price"].to_numpy()

    def price_at(self, times: np.ndarray) -> np.ndarray:
        """The public price (mid, else last trade) in force at each time (as-of)."""
        t, p = self.mid_series
        if len(t) == 0:
            return np.full(len(times), np.nan)
        idx = np.searchsorted(t, times, side="right") - 1
        out = p[np.clip(idx, 0, None)]
        return np.where(idx >= 0, out, np.nan)


def load_symbol_day(lake: Lake, day: dt.date, symbol: str) -> SymbolDay:
    """Read one (day, symbol) from the curated lake and, when present, the book.

    Raises
    ------
    FileNotFoundError
        If the curated orders, trades or accounts of the day are missing.
    """
    orders = read_table(lake.curated(Orders.name, day, symbol)).to_pandas()
    trades_uri = lake.curated(Trades.name, day, symbol)
    trades = (
        read_table(trades_uri).to_pandas() if exists(trades_uri) else Trades.empty().to_pandas()
    )
    accounts = read_table(lake.curated(Accounts.name, day)).to_pandas()
    instrument: dict[str, Any] = {}
    instruments_uri = lake.curated(Instruments.name, day)
    if exists(instruments_uri):
        inst = read_table(instruments_uri).to_pandas()
        rows = inst[inst[Instruments.symbol] == symbol]
        if len(rows):
            instrument = {k: _plain(v) for k, v in rows.iloc[0].to_dict().items()}
    refs_uri = lake.curated(ReferencePrices.name, day, symbol)
    refs = read_table(refs_uri).to_pandas() if exists(refs_uri) else None
    top_uri = lake.book("top", day, symbol)
    queue_uri = lake.book("queue", day, symbol)
    top = read_table(top_uri).to_pandas() if exists(top_uri) else None
    queue = read_table(queue_uri).to_pandas() if exists(queue_uri) else None
    return SymbolDay(day, symbol, orders, trades, accounts, instrument, refs, top, queue)


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
