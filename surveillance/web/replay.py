"""The market replay of a case's window: book, orders, cancels and fills, from the lake.

An analyst judges an alert by looking at what the market did around it: where the
best bid and ask were, what the affiliated market maker (AMM) and the clients sent,
what they cancelled and where they were filled. This module reads those from the
curated lake (``orders``, ``accounts``) and the book stage's ``top`` output for the
alert window plus a margin, and returns them as one time-ordered series the case
page's chart draws, plus the rows of the orders and trades the case's alerts name.

It reads only: a missing partition (a day not yet through the book stage) gives an
empty series and a message saying so, never an error page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from surveillance.book.schema import Top
from surveillance.contract import Accounts, EventType, Orders, Role, Trades
from surveillance.days import day_range
from surveillance.storage import Lake, exists, read_table

#: Marker series of the chart, in legend order: (key, party, event kinds).
EVENT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("amm_order", "amm", "order"),
    ("amm_cancel", "amm", "cancel"),
    ("amm_fill", "amm", "fill"),
    ("client_order", "client", "order"),
    ("client_cancel", "client", "cancel"),
    ("client_fill", "client", "fill"),
    ("other_event", "other", "*"),
)
_KIND = {
    EventType.NEW: "order",
    EventType.REPLACE: "order",
    EventType.CANCEL: "cancel",
    EventType.EXPIRE: "cancel",
    EventType.FILL: "fill",
}
_ORDER_COLUMNS = [
    Orders.event_time,
    Orders.seq,
    Orders.order_id,
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.price,
    Orders.quantity,
    Orders.leaves_quantity,
    Orders.fill_price,
    Orders.fill_quantity,
    Orders.trade_id,
    Orders.liquidity,
]
_TRADE_COLUMNS = [
    Trades.event_time,
    Trades.trade_id,
    Trades.price,
    Trades.quantity,
    Trades.aggressor_side,
    Trades.buy_order_id,
    Trades.sell_order_id,
    Trades.buy_account_id,
    Trades.sell_account_id,
]
_TOP_COLUMNS = [Top.event_time, Top.seq, Top.best_bid, Top.best_ask, Top.mid]


class ReplayData(BaseModel):
    """What the chart draws (JSON): one row per book update or order event, by time.

    ``range`` is the span these rows cover; ``full_range`` the case's whole window
    with its margins (a zoomed request covers less); ``flag`` is the case's flagged
    span and ``windows`` each alert's window; ``thinned`` says rows were left out
    (the chart then asks for a zoomed span again at full detail).
    ``t`` is UTC seconds since the epoch; ``bid``/``ask``/``mid`` are set on book rows
    and null on event rows; each ``events[key]`` holds a price on the rows of that
    marker series and null elsewhere; ``info`` describes event rows; ``in_case`` is
    1 on events of orders or trades the case's alerts name.
    """

    symbol: str
    range: tuple[float, float]
    full_range: tuple[float, float]
    flag: tuple[float, float]
    windows: list[tuple[float, float]]
    thinned: bool = False
    t: list[float]
    bid: list[float | None]
    ask: list[float | None]
    mid: list[float | None]
    events: dict[str, list[float | None]]
    info: list[str | None]
    in_case: list[int]
    message: str | None = None


@dataclass
class Replay:
    """A case window's market data, ready for the page and the chart (``data`` is None
    when only the tables were asked for)."""

    data: ReplayData | None
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    orders_total: int = 0
    trades_total: int = 0


def _read(uri: str, columns: Sequence[str]) -> pd.DataFrame | None:
    if not exists(uri):
        return None
    return read_table(uri, columns=columns).to_pandas()


def _roles(lake: Lake, days: Iterable[dt.date]) -> dict[str, str]:
    """account_id -> contract role, from each day's accounts snapshot (later days win)."""
    roles: dict[str, str] = {}
    for day in days:
        frame = _read(lake.curated("accounts", day), [Accounts.account_id, Accounts.role])
        if frame is not None:
            roles.update(zip(frame[Accounts.account_id], frame[Accounts.role], strict=True))
    return roles


def _party(role: str | None) -> str:
    if role == Role.AFFILIATED_MM:
        return "amm"
    if role == Role.CLIENT:
        return "client"
    return "other"


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else None


def _even(n: int, keep: int) -> np.ndarray:
    """Indices of ``keep`` rows spread evenly over ``n`` (first and last included)."""
    if n <= keep:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, keep).round().astype(np.int64))


def _seconds(values: pd.Series) -> np.ndarray:
    return epoch_ns(values) / 1e9


def epoch_ns(values: pd.Series) -> np.ndarray:
    """UTC nanoseconds since the epoch of a tz-aware timestamp column, whatever its unit."""
    stamps = pd.to_datetime(values, utc=True).dt.as_unit("ns")
    return np.asarray(stamps.array.asi8, dtype=np.int64)  # type: ignore[attr-defined]


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:g}"  # NaN is the only value unequal to itself


def build_replay(
    lake: Lake,
    symbol: str,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    *,
    order_ids: Iterable[str] = (),
    trade_ids: Iterable[str] = (),
    margin_s: float = 60.0,
    max_points: int = 5_000,
    max_table_rows: int = 500,
    chart: bool = True,
    view: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    alert_windows: Iterable[tuple[pd.Timestamp, pd.Timestamp]] = (),
) -> Replay:
    """The market around ``[window_start, window_end]`` for ``symbol``, with a margin.

    Parameters
    ----------
    lake
        The lake holding curated orders, trades, accounts and the book's ``top``.
    symbol, window_start, window_end
        The flagged span (the union of the case's alert windows), UTC.
    order_ids, trade_ids
        The orders and trades the case's alerts name: always drawn, drawn larger,
        and listed in the tables.
    margin_s
        Seconds shown before and after the flagged span.
    max_points
        Most book rows and most other events drawn; beyond that they are thinned
        evenly and ``message`` says so.
    max_table_rows
        Most rows of each table.
    chart
        Build the chart's series; ``False`` when only the tables are needed.
    view
        Only this part of the window (a zoomed chart asking for full detail);
        clipped to the window and its margins.
    alert_windows
        Each alert's own span, shaded within the flagged span.
    """
    start = pd.Timestamp(window_start).tz_convert("UTC")
    end = pd.Timestamp(window_end).tz_convert("UTC")
    full_lo = start - pd.Timedelta(seconds=margin_s)
    full_hi = end + pd.Timedelta(seconds=margin_s)
    lo, hi = full_lo, full_hi
    if view is not None:
        lo = max(full_lo, pd.Timestamp(view[0]).tz_convert("UTC"))
        hi = min(full_hi, pd.Timestamp(view[1]).tz_convert("UTC"))
        if hi <= lo:
            lo, hi = full_lo, full_hi
    days = day_range(lo.date(), hi.date())
    case_orders = set(order_ids)
    case_trades = set(trade_ids)
    notes: list[str] = []
    thinned = False

    tops, orders, trades, missing_top = [], [], [], []
    for day in days:
        top = _read(lake.book("top", day, symbol), _TOP_COLUMNS) if chart else None
        if top is None:
            if chart:
                missing_top.append(day.isoformat())
        else:
            times = top[Top.event_time]
            inside = (times >= lo) & (times <= hi)
            before = top[times < lo]
            if not before.empty:
                # The book as it stood when the window opened, drawn from its left edge.
                first = before.iloc[[-1]].copy()
                first[Top.event_time] = lo
                tops.append(first)
            tops.append(top[inside])
        frame = _read(lake.curated("orders", day, symbol), _ORDER_COLUMNS)
        if frame is not None:
            times = frame[Orders.event_time]
            keep = frame[Orders.order_id].isin(case_orders)
            if chart:
                keep |= (times >= lo) & (times <= hi)
            orders.append(frame[keep])
        frame = _read(lake.curated("trades", day, symbol), _TRADE_COLUMNS)
        if frame is not None:
            trades.append(frame[frame[Trades.trade_id].isin(case_trades)])
    if missing_top:
        notes.append(
            f"No book states for {symbol} on {', '.join(missing_top)}: run `mmsurv book` "
            "for that day to see the bid and ask."
        )
    top_frame = _concat(tops)
    order_frame = _concat(orders)
    trade_frame = _concat(trades)
    roles = _roles(lake, days)

    events = pd.DataFrame()
    if chart:
        # Book rows, thinned evenly when the window is long.
        if top_frame is not None:
            top_frame = top_frame.drop_duplicates(subset=[Top.seq], keep="last").sort_values(
                Top.event_time, kind="stable"
            )
            total = len(top_frame)
            top_frame = top_frame.iloc[_even(total, max_points)]
            if len(top_frame) < total:
                thinned = True
                notes.append(f"Book thinned to {len(top_frame):,} of {total:,} updates.")

        # Order events inside the window: all of the case's, then others up to the budget.
        events = pd.DataFrame()
        if order_frame is not None:
            window = order_frame[
                (order_frame[Orders.event_time] >= lo) & (order_frame[Orders.event_time] <= hi)
            ].copy()
            window["kind"] = window[Orders.event_type].map(_KIND)
            window = window[window["kind"].notna()]
            parties = {account: _party(role) for account, role in roles.items()}
            window["party"] = window[Orders.account_id].map(parties).fillna("other").astype(object)
            window["plot_price"] = window[Orders.fill_price].where(
                window["kind"] == "fill", window[Orders.price]
            )
            window["in_case"] = window[Orders.order_id].isin(case_orders) | window[
                Orders.trade_id
            ].isin(case_trades)
            window = window[window["plot_price"].notna()]
            mine = window[window["in_case"]]
            rest = window[~window["in_case"]]
            budget = max(0, max_points - len(mine))
            if len(rest) > budget:
                # Thin other accounts first: the AMM's and clients' conduct is the evidence.
                principal = rest[rest["party"] != "other"]
                others = rest[rest["party"] == "other"]
                keep_p = principal.iloc[_even(len(principal), budget)]
                keep_o = others.iloc[_even(len(others), max(0, budget - len(keep_p)))]
                notes.append(
                    f"Order events thinned to {len(mine) + len(keep_p) + len(keep_o):,} of "
                    f"{len(window):,}; the case's own events are all shown."
                )
                rest = pd.concat([keep_p, keep_o])
                thinned = True
            events = pd.concat([mine, rest]).sort_values(Orders.seq, kind="stable")

    data = None
    if chart:
        data = _rows(symbol, lo, hi, start, end, top_frame, events, roles)
        data.full_range = (full_lo.value / 1e9, full_hi.value / 1e9)
        data.windows = [
            (pd.Timestamp(a).value / 1e9, pd.Timestamp(b).value / 1e9) for a, b in alert_windows
        ]
        data.thinned = thinned
        if not data.t:
            notes.append(f"No book states or order events for {symbol} in this window.")
        data.message = " ".join(notes) or None

    order_rows, orders_total = _order_table(order_frame, case_orders, roles, max_table_rows)
    trade_rows, trades_total = _trade_table(trade_frame, roles, max_table_rows)
    return Replay(data, order_rows, trade_rows, orders_total, trades_total)


def _rows(
    symbol: str,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    start: pd.Timestamp,
    end: pd.Timestamp,
    top: pd.DataFrame | None,
    events: pd.DataFrame,
    roles: dict[str, str],
) -> ReplayData:
    n_top = 0 if top is None else len(top)
    n_ev = len(events)
    t = np.empty(n_top + n_ev)
    bid = np.full(n_top + n_ev, np.nan)
    ask = np.full(n_top + n_ev, np.nan)
    mid = np.full(n_top + n_ev, np.nan)
    if top is not None:
        t[:n_top] = _seconds(top[Top.event_time])
        bid[:n_top] = top[Top.best_bid].to_numpy(dtype=float, na_value=np.nan)
        ask[:n_top] = top[Top.best_ask].to_numpy(dtype=float, na_value=np.nan)
        mid[:n_top] = top[Top.mid].to_numpy(dtype=float, na_value=np.nan)
    series = {key: np.full(n_top + n_ev, np.nan) for key, _, _ in EVENT_SERIES}
    info: list[str | None] = [None] * (n_top + n_ev)
    in_case = np.zeros(n_top + n_ev, dtype=np.int64)
    if n_ev:
        t[n_top:] = _seconds(events[Orders.event_time])
        prices = events["plot_price"].to_numpy(dtype=float)
        flags = events["in_case"].to_numpy(dtype=bool)
        in_case[n_top:] = flags
        columns = {
            name: events[name].to_numpy(dtype=object)
            for name in (
                "party",
                "kind",
                Orders.account_id,
                Orders.event_type,
                Orders.side,
                Orders.order_id,
                Orders.trade_id,
            )
        }
        quantity = np.where(
            events["kind"].to_numpy(dtype=object) == "fill",
            events[Orders.fill_quantity].to_numpy(dtype=float, na_value=np.nan),
            events[Orders.quantity].to_numpy(dtype=float, na_value=np.nan),
        )
        parties = columns["party"]
        kinds = columns["kind"]
        for key, party, kind in EVENT_SERIES:
            mask = parties == party
            if kind != "*":
                mask &= kinds == kind
            series[key][n_top:][mask] = prices[mask]
        names = {"amm": "AMM", "client": "client"}
        for offset, (party, kind, account, event, side, oid, tid) in enumerate(
            zip(*columns.values(), strict=True)
        ):
            who = names.get(party) or roles.get(account, "?")
            fill = f", trade {tid}" if kind == "fill" and isinstance(tid, str) else ""
            named = "  named by the case" if flags[offset] else ""
            info[n_top + offset] = (
                f"{who} {account} {event} {side} {_fmt(quantity[offset])} "
                f"@ {_fmt(prices[offset])} (order {oid}{fill}){named}"
            )
    order = np.argsort(t, kind="stable")

    def listed(values: np.ndarray) -> list[float | None]:
        picked = values[order]
        out: list[float | None] = picked.tolist()
        for i in np.flatnonzero(np.isnan(picked)).tolist():
            out[i] = None
        return out

    # Built from arrays of known types: skip re-validating tens of thousands of floats.
    return ReplayData.model_construct(
        symbol=symbol,
        range=(lo.value / 1e9, hi.value / 1e9),
        full_range=(lo.value / 1e9, hi.value / 1e9),
        flag=(start.value / 1e9, end.value / 1e9),
        windows=[],
        t=t[order].tolist(),
        bid=listed(bid),
        ask=listed(ask),
        mid=listed(mid),
        events={key: listed(values) for key, values in series.items()},
        info=[info[i] for i in order],
        in_case=in_case[order].tolist(),
    )


def _order_table(
    frame: pd.DataFrame | None, case_orders: set[str], roles: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], int]:
    if frame is None or not case_orders:
        return [], 0
    rows = frame[frame[Orders.order_id].isin(case_orders)].sort_values(Orders.seq)
    total = len(rows)
    rows = rows.head(limit).copy()
    rows["role"] = [roles.get(a, "") for a in rows[Orders.account_id]]
    return _records(rows), total


def _trade_table(
    frame: pd.DataFrame | None, roles: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], int]:
    if frame is None or frame.empty:
        return [], 0
    rows = frame.sort_values([Trades.event_time, Trades.trade_id])
    total = len(rows)
    rows = rows.head(limit).copy()
    rows["buy_role"] = [roles.get(a, "") for a in rows[Trades.buy_account_id]]
    rows["sell_role"] = [roles.get(a, "") for a in rows[Trades.sell_account_id]]
    return _records(rows), total


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for record in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, pd.Timestamp):
                clean[str(key)] = value.strftime("%H:%M:%S.%f")[:-3]
            elif (
                value is None
                or (isinstance(value, float) and np.isnan(value))
                or value is pd.NA
                or value is pd.NaT
            ):
                clean[str(key)] = None
            else:
                clean[str(key)] = value
        out.append(clean)
    return out
