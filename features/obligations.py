"""The AMM's market-making obligations: one measure, for the detector and the day's figures.

The contract's obligation (``mm_max_spread_bps``, ``mm_min_quote_quantity``,
``mm_min_uptime`` in the instruments reference data) is a two-sided quote of at least
the minimum size on each side, no wider than the maximum spread, kept for the
required share of the day. A market maker meets it with its whole resting ladder,
not only its best level, so it is measured by replaying the AMM's own orders from
the journal (all its accounts together): :func:`obligation_timeline` gives its quote
after each of its events with a compliance flag. The rule detector
``obligation_breach`` alerts on the timeline's long non-compliant spans
(:func:`non_compliant_spans`); the day's figures shown wherever obligations are
reported (the nightly run report, the web app's conduct dashboard, the independent
review report) summarise the same timeline, so an uptime below the obligation and
the detector's view of the day always agree. Every figure is time-weighted over the
UTC day, each state lasting until the AMM's next event:

- *uptime*: the fraction of the day the quote was compliant (before the AMM's first
  event of the day it is not quoting); the detector's ``day_uptime``;
- *two-sided share*: the fraction of the day with any AMM order resting on each side;
- *AMM spread*: the obligation spread (between the prices at which each side's size,
  counted from its best price outwards, reaches the minimum size; the best-level
  spread while a side holds less), in basis points of their mid, averaged over the
  two-sided time;
- *AMM size*: the most the ladder quotes on both sides at once within the maximum
  spread (the minimum size fits exactly when it is at least that size), averaged
  likewise;
- *market spread*: the whole book's spread in basis points (the book stage's ``top``),
  averaged over the day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.book import rest_order
from features.data import SymbolDay, to_ns
from surveillance.book.schema import Top
from surveillance.contract import Accounts, EventType, Instruments, Orders, Role, Side
from surveillance.days import day_bounds
from surveillance.errors import InputError
from surveillance.storage import Lake, exists, read_table

#: The ``top`` columns the market spread needs.
TOP_COLUMNS = [Top.event_time, Top.spread_bps]

#: The journal columns the AMM's ladder replay reads (:func:`journal_events`).
JOURNAL_COLUMNS = [
    Orders.seq,
    Orders.event_time,
    Orders.order_id,
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.time_in_force,
    Orders.price,
    Orders.leaves_quantity,
]
#: Its low-cardinality string columns, read dictionary-encoded.
_CODED = [
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.time_in_force,
]


@dataclass(frozen=True)
class ObligationTerms:
    """An instrument's market-making obligations; ``None`` imposes no constraint."""

    max_spread_bps: float | None = None
    min_quote_quantity: float | None = None
    min_uptime: float | None = None

    @classmethod
    def of(cls, instrument: Mapping[str, Any]) -> ObligationTerms:
        """The terms in an instrument reference row."""
        return cls(
            _number(instrument.get(Instruments.mm_max_spread_bps)),
            _number(instrument.get(Instruments.mm_min_quote_quantity)),
            _number(instrument.get(Instruments.mm_min_uptime)),
        )


@dataclass(frozen=True)
class ObligationDay:
    """One symbol's quoting figures for one trading day."""

    day: dt.date
    symbol: str
    uptime: float | None
    two_sided_share: float | None
    amm_spread_bps: float | None
    amm_size: float | None
    market_spread_bps: float | None
    terms: ObligationTerms

    @property
    def required_uptime(self) -> float | None:
        return self.terms.min_uptime

    @property
    def max_spread_bps(self) -> float | None:
        return self.terms.max_spread_bps

    @property
    def min_size(self) -> float | None:
        return self.terms.min_quote_quantity

    @property
    def breached(self) -> bool:
        """Whether the day's uptime fell short of the required uptime."""
        return (
            self.uptime is not None
            and self.required_uptime is not None
            and self.uptime < self.required_uptime
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "symbol": self.symbol,
            "uptime": self.uptime,
            "required_uptime": self.required_uptime,
            "two_sided_share": self.two_sided_share,
            "amm_spread_bps": self.amm_spread_bps,
            "max_spread_bps": self.max_spread_bps,
            "amm_size": self.amm_size,
            "min_size": self.min_size,
            "market_spread_bps": self.market_spread_bps,
            "breached": self.breached,
        }


def instrument_rows(lake: Lake, day: dt.date) -> dict[str, dict[str, Any]]:
    """Each curated instrument's reference row on ``day`` ({} before ingest)."""
    uri = lake.curated(Instruments.name, day)
    if not exists(uri):
        return {}
    frame = read_table(uri).to_pandas()
    return {
        str(row[Instruments.symbol]): {str(k): _plain(v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    }


def instrument_terms(lake: Lake, day: dt.date) -> dict[str, ObligationTerms]:
    """Each curated instrument's obligations on ``day`` ({} before ingest)."""
    return {s: ObligationTerms.of(row) for s, row in instrument_rows(lake, day).items()}


# ------------------------------------------------------------------ the AMM's ladder


@numba.njit(cache=True)
def _within(bid: int, ask: int, max_spread_bps: float) -> bool:
    """Whether a quote from ``bid`` to ``ask`` (ticks) is no wider than the maximum."""
    return (ask - bid) / ((ask + bid) / 2) * 1e4 <= max_spread_bps + 1e-9


@numba.njit(cache=True)
def _obligation_prices(
    order_idx: np.ndarray,
    removes: np.ndarray,
    is_buy: np.ndarray,
    price_ticks: np.ndarray,
    leaves: np.ndarray,
    n_orders: int,
    min_qty: float,
    max_spread_bps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """After each event: best bid/ask, their sizes, the prices holding ``min_qty``, the size.

    The *obligation* bid is the highest price at which the accounts' bids from the
    best down add up to ``min_qty`` (-1 when their whole bid side holds less); the
    obligation ask likewise from the best ask up. The *quoted size* is the most the
    accounts quote on both sides at once within ``max_spread_bps``: the spread
    between the prices at which each side reaches a size only widens as the size
    grows, so the ladders are walked outwards together, always deepening the side
    that holds less, until the next level would breach the spread (0 when even the
    best levels do). The quote is compliant exactly when it is at least ``min_qty``.
    """
    open_qty = np.zeros(n_orders)
    open_price = np.zeros(n_orders, dtype=np.int64)
    bid_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    ask_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    n = len(order_idx)
    bid = np.full(n, -1, dtype=np.int64)
    ask = np.full(n, -1, dtype=np.int64)
    ob_bid = np.full(n, -1, dtype=np.int64)
    ob_ask = np.full(n, -1, dtype=np.int64)
    bid_qty = np.zeros(n)
    ask_qty = np.zeros(n)
    quoted = np.zeros(n)
    for i in range(n):
        levels = bid_levels if is_buy[i] else ask_levels
        rest_order(
            levels, open_qty, open_price, order_idx[i], not removes[i], leaves[i], price_ticks[i]
        )
        bid_sorted = np.empty(0, dtype=np.int64)
        ask_sorted = np.empty(0, dtype=np.int64)
        for side in range(2):
            lv = bid_levels if side == 0 else ask_levels
            m = len(lv)
            if m == 0:
                continue
            prices = np.empty(m, dtype=np.int64)
            for j, p in enumerate(lv):
                prices[j] = p
            prices.sort()
            if side == 0:
                prices = prices[::-1].copy()
            cum = 0.0
            reach = -1
            for j in range(m):
                cum += lv[prices[j]]
                if cum >= min_qty - 1e-12:
                    reach = prices[j]
                    break
            if side == 0:
                bid[i] = prices[0]
                bid_qty[i] = lv[prices[0]]
                ob_bid[i] = reach
                bid_sorted = prices
            else:
                ask[i] = prices[0]
                ask_qty[i] = lv[prices[0]]
                ob_ask[i] = reach
                ask_sorted = prices
        mb, ma = len(bid_sorted), len(ask_sorted)
        if mb == 0 or ma == 0 or not _within(bid_sorted[0], ask_sorted[0], max_spread_bps):
            continue
        ib, ia = 0, 0
        cb, ca = bid_levels[bid_sorted[0]], ask_levels[ask_sorted[0]]
        while True:
            if cb <= ca:
                if ib + 1 >= mb or not _within(bid_sorted[ib + 1], ask_sorted[ia], max_spread_bps):
                    break
                ib += 1
                cb += bid_levels[bid_sorted[ib]]
            else:
                if ia + 1 >= ma or not _within(bid_sorted[ib], ask_sorted[ia + 1], max_spread_bps):
                    break
                ia += 1
                ca += ask_levels[ask_sorted[ia]]
        quoted[i] = min(cb, ca)
    return bid, ask, bid_qty, ask_qty, ob_bid, ob_ask, quoted


def obligation_timeline(
    data: SymbolDay, accounts: list[str], terms: ObligationTerms | None = None
) -> pd.DataFrame:
    """The AMM's own quote after each of its events with a compliance flag.

    The obligation is a two-sided quote of at least ``mm_min_quote_quantity`` on
    each side no wider than ``mm_max_spread_bps`` (``terms``, by default the
    instrument reference data's). A market maker meets it with its whole resting
    ladder, not only its best level: a partial fill that leaves a few lots at the
    best price while the next level holds the size within the spread is still a
    compliant quote. So each side's *obligation price* is the price at which the
    accounts' resting size, counted from their best price outwards, first reaches
    the least size, and the obligation spread is measured between those two prices,
    in basis points of their mid.

    Columns: ``seq``, ``t`` (ns), ``bid``, ``ask``, ``bid_qty``, ``ask_qty`` (best
    levels), ``ob_bid``, ``ob_ask`` (obligation prices, NaN when a side holds less
    than the least size), ``spread_bps`` (obligation spread, else the best-level
    spread), ``quoted_size`` (the most quoted on both sides at once within the
    maximum spread), ``two_sided``, ``spread_ok``, ``size_ok``, ``compliant``.
    Obligation terms that are ``None`` impose no constraint.
    """
    if terms is None:
        terms = ObligationTerms.of(data.instrument)
    ev = data.events
    return ladder_timeline(ev[ev["account_id"].isin(accounts)], data.tick_size, terms)


def ladder_timeline(mine: pd.DataFrame, tick_size: float, terms: ObligationTerms) -> pd.DataFrame:
    """:func:`obligation_timeline` of the AMM's own journal rows ``mine``, in seq order.

    ``mine`` names its columns as ``SymbolDay.events`` does (at least ``seq``, ``t``,
    ``order_id``, ``event_type``, ``sign``, ``order_type``, ``tif``, ``price``,
    ``leaves``); :func:`journal_events` gives them from a curated journal.
    """
    cols = [
        "seq",
        "t",
        "bid",
        "ask",
        "bid_qty",
        "ask_qty",
        "ob_bid",
        "ob_ask",
        "spread_bps",
        "quoted_size",
    ]
    flags = ["two_sided", "spread_ok", "size_ok", "compliant"]
    if mine.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        return frame.assign(**{f: pd.Series(dtype=bool) for f in flags})
    max_spread = terms.max_spread_bps
    min_qty = terms.min_quote_quantity
    tick = tick_size
    prices = mine["price"].to_numpy(dtype=float)
    if not tick or tick <= 0:
        positive = prices[np.isfinite(prices) & (prices > 0)]
        tick = float(np.min(positive)) * 1e-6 if len(positive) else 1.0
    resting = (
        np.isfinite(prices)
        & mine["order_type"].eq("LIMIT").to_numpy(dtype=bool)
        & ~mine["tif"].isin(["IOC", "FOK"]).to_numpy(dtype=bool)
    )
    ticks = np.where(resting, np.round(np.nan_to_num(prices) / tick), -1).astype(np.int64)
    removes = (
        mine["event_type"]
        .isin([EventType.CANCEL.value, EventType.EXPIRE.value, EventType.REJECT.value])
        .to_numpy(dtype=bool)
    )
    codes, uniques = pd.factorize(mine["order_id"])
    least = float(min_qty) if min_qty is not None and float(min_qty) > 0 else 1e-12
    bid, ask, bid_qty, ask_qty, ob_bid, ob_ask, quoted = _obligation_prices(
        codes.astype(np.int64),
        removes,
        mine["sign"].to_numpy() > 0,
        ticks,
        np.nan_to_num(mine["leaves"].to_numpy(dtype=float)),
        len(uniques),
        least,
        np.inf if max_spread is None else float(max_spread),
    )
    as_price = lambda x: np.where(x >= 0, x * tick, np.nan)  # noqa: E731
    two_sided = (bid >= 0) & (ask >= 0)
    size_ok = (ob_bid >= 0) & (ob_ask >= 0)
    lo = np.where(size_ok, as_price(ob_bid), as_price(bid))
    hi = np.where(size_ok, as_price(ob_ask), as_price(ask))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_bps = (hi - lo) / ((hi + lo) / 2) * 1e4
    spread_ok = two_sided & (
        np.ones(len(mine), dtype=bool)
        if max_spread is None
        else np.nan_to_num(spread_bps, nan=np.inf) <= float(max_spread) + 1e-9
    )
    return pd.DataFrame(
        {
            "seq": mine["seq"].to_numpy(),
            "t": mine["t"].to_numpy(),
            "bid": as_price(bid),
            "ask": as_price(ask),
            "bid_qty": bid_qty,
            "ask_qty": ask_qty,
            "ob_bid": as_price(ob_bid),
            "ob_ask": as_price(ob_ask),
            "spread_bps": spread_bps,
            "quoted_size": quoted,
            "two_sided": two_sided,
            "spread_ok": spread_ok,
            "size_ok": size_ok,
            "compliant": two_sided & size_ok & spread_ok,
        }
    )


def non_compliant_spans(timeline: pd.DataFrame, day_start: int, day_end: int) -> pd.DataFrame:
    """Maximal intervals of the day during which the quote was not compliant.

    The quote before the account's first event of the day is unknown; it is taken
    as not compliant (the account had nothing resting that the day's journal shows).
    Columns: ``start``, ``end``, ``duration`` (ns), ``reason`` (the most frequent of
    ``one_sided``, ``spread``, ``size`` during the span), ``worst_spread_bps``.
    """
    t = timeline["t"].to_numpy()
    ok = timeline["compliant"].to_numpy(dtype=bool)
    times = np.concatenate([[day_start], t, [day_end]])
    state = np.concatenate([[False], ok])
    # intervals [times[i], times[i+1]) carry state[i]
    durations = np.diff(times)
    bad = ~state
    change = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts_idx = np.flatnonzero(change == 1)
    ends_idx = np.flatnonzero(change == -1)
    cols = ["start", "end", "duration", "reason", "worst_spread_bps"]
    if len(starts_idx) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    two = np.concatenate([[False], timeline["two_sided"].to_numpy(dtype=bool)])
    sp_ok = np.concatenate([[False], timeline["spread_ok"].to_numpy(dtype=bool)])
    spread = np.concatenate([[np.nan], timeline["spread_bps"].to_numpy(dtype=float)])
    badf = bad.astype(float)
    # Sums over each bad span; good intervals between spans are zeroed by ``badf``.
    one_sided = np.add.reduceat(durations * badf * ~two, starts_idx)
    wide = np.add.reduceat(durations * badf * (two & ~sp_ok), starts_idx)
    small = np.add.reduceat(durations * badf * (two & sp_ok), starts_idx)
    masked = np.where(bad & np.isfinite(spread), spread, -np.inf)
    worst = np.maximum.reduceat(masked, starts_idx)
    reasons = np.array(["one_sided", "spread", "size"], dtype=object)[
        np.argmax(np.vstack([one_sided, wide, small]), axis=0)
    ]
    return pd.DataFrame(
        {
            "start": times[starts_idx],
            "end": times[ends_idx],
            "duration": times[ends_idx] - times[starts_idx],
            "reason": reasons,
            "worst_spread_bps": np.where(np.isfinite(worst), worst, np.nan),
        }
    )


# ------------------------------------------------------------------ the day's figures


@dataclass(frozen=True)
class QuoteStates:
    """The AMM's quote after each of its journal events, in time order, each lasting to
    the next, as :func:`obligation_timeline` measures it (build with :meth:`of`).

    ``two_sided``: orders rest on both sides; ``compliant``: the quote meets the
    obligation; ``spread_bps``: the obligation spread; ``quoted_size``: the most quoted
    on both sides at once within the maximum spread.
    """

    times_ns: np.ndarray
    two_sided: np.ndarray
    compliant: np.ndarray
    spread_bps: np.ndarray
    quoted_size: np.ndarray

    @classmethod
    def of(cls, timeline: pd.DataFrame) -> QuoteStates:
        """The states of an :func:`obligation_timeline`."""
        return cls(
            times_ns=timeline["t"].to_numpy(dtype=np.int64),
            two_sided=timeline["two_sided"].to_numpy(dtype=bool),
            compliant=timeline["compliant"].to_numpy(dtype=bool),
            spread_bps=timeline["spread_bps"].to_numpy(dtype=float),
            quoted_size=timeline["quoted_size"].to_numpy(dtype=float),
        )

    @classmethod
    def empty(cls) -> QuoteStates:
        """No AMM quote all day."""
        none = np.zeros(0)
        return cls(none.astype(np.int64), none.astype(bool), none.astype(bool), none, none)


@dataclass(frozen=True)
class MarketSpread:
    """The whole book's spread in bps after each book event, in time order (NaN: one-sided)."""

    times_ns: np.ndarray
    spread_bps: np.ndarray

    @classmethod
    def of_top(cls, top: pd.DataFrame) -> MarketSpread:
        """From the book stage's ``top`` states (:data:`TOP_COLUMNS`)."""
        return cls(
            top[Top.event_time].to_numpy(dtype="datetime64[ns]").astype(np.int64),
            top[Top.spread_bps].to_numpy(dtype=float, na_value=np.nan),
        )


def obligation_from_quotes(
    quotes: QuoteStates,
    day: dt.date,
    symbol: str,
    terms: ObligationTerms,
    market: MarketSpread | None = None,
) -> ObligationDay:
    """The day's figures from the AMM's quote states (and the market's spread, if known).

    ``quotes`` must have been measured against ``terms`` (:func:`journal_quotes`).
    """
    start, end = day_bounds(day)
    day_seconds = (end - start).total_seconds()
    market_bps = None
    if market is not None and len(market.times_ns):
        market_bps = _weighted(
            market.spread_bps, _durations(market.times_ns, start.value, end.value)
        )
    weights = _durations(quotes.times_ns, start.value, end.value)
    if not len(weights):
        return ObligationDay(day, symbol, 0.0, 0.0, None, None, market_bps, terms)
    quoted = np.where(quotes.two_sided, weights, 0.0)
    return ObligationDay(
        day=day,
        symbol=symbol,
        uptime=float(weights[quotes.compliant].sum() / day_seconds),
        two_sided_share=float(quoted.sum() / day_seconds),
        amm_spread_bps=_weighted(quotes.spread_bps, quoted),
        amm_size=_weighted(quotes.quoted_size, quoted),
        market_spread_bps=market_bps,
        terms=terms,
    )


def journal_quotes(
    orders: pd.DataFrame,
    accounts: Collection[str],
    day: dt.date,
    symbol: str,
    instrument: Mapping[str, Any],
    terms: ObligationTerms | None = None,
) -> QuoteStates:
    """The quote states of ``accounts`` (the AMM) replayed from a curated order journal.

    ``orders`` holds at least :data:`JOURNAL_COLUMNS` (other accounts' rows are
    ignored); ``instrument`` is the symbol's reference row (its tick size, and the
    terms unless ``terms`` is given). ``day`` and ``symbol`` name the journal in errors.
    """
    if not accounts:
        return QuoteStates.empty()
    missing = sorted(set(JOURNAL_COLUMNS) - set(orders.columns))
    if missing:
        raise InputError(
            f"orders of {symbol} on {day}: the AMM's quotes need columns {missing}, "
            f"found only {sorted(orders.columns)}"
        )
    mine = orders[orders[Orders.account_id].isin(list(accounts))]
    tick = float(_number(instrument.get(Instruments.tick_size)) or 0.0)
    timeline = ladder_timeline(journal_events(mine), tick, terms or ObligationTerms.of(instrument))
    return QuoteStates.of(timeline)


def journal_events(orders: pd.DataFrame) -> pd.DataFrame:
    """Curated journal rows in seq order, with the columns :func:`ladder_timeline` reads.

    The names, int64 times and signed side are ``SymbolDay.events``'s, computed for
    these columns only (the AMM's figures of a whole day need no other); string
    columns keep their (dictionary) types, which the replay compares as they are.
    """
    o = orders.sort_values(Orders.seq, kind="stable")
    return pd.DataFrame(
        {
            "seq": o[Orders.seq].to_numpy(dtype=np.int64),
            "t": to_ns(o[Orders.event_time]),
            "order_id": o[Orders.order_id].array,
            "event_type": o[Orders.event_type].array,
            "sign": np.where(o[Orders.side].eq(Side.BUY.value).to_numpy(dtype=bool), 1, -1),
            "order_type": o[Orders.order_type].array,
            "tif": o[Orders.time_in_force].array,
            "price": o[Orders.price].to_numpy(dtype=float, na_value=np.nan),
            "leaves": o[Orders.leaves_quantity].to_numpy(dtype=float, na_value=np.nan),
        }
    )


def amm_accounts(lake: Lake, day: dt.date) -> list[str]:
    """The affiliated market maker's accounts on ``day`` ([] without an accounts snapshot)."""
    uri = lake.curated(Accounts.name, day)
    if not exists(uri):
        return []
    frame = read_table(uri, columns=[Accounts.account_id, Accounts.role]).to_pandas()
    return sorted(frame.loc[frame[Accounts.role] == Role.AFFILIATED_MM.value, Accounts.account_id])


def amm_journal(lake: Lake, day: dt.date, symbol: str, accounts: Collection[str]) -> pd.DataFrame:
    """The rows of ``accounts`` in the curated order journal, :data:`JOURNAL_COLUMNS` only."""
    uri = lake.curated(Orders.name, day, symbol)
    table = read_table(uri, columns=JOURNAL_COLUMNS, dictionary=_CODED)
    wanted = pc.is_in(table[Orders.account_id], value_set=pa.array(sorted(accounts), pa.string()))
    return table.filter(wanted).to_pandas()


def obligation_day(
    lake: Lake, day: dt.date, symbol: str, terms: ObligationTerms | None = None
) -> ObligationDay | None:
    """The figures of ``symbol`` on ``day``; ``None`` when the book has not been built."""
    return _figures(lake, day, symbol, terms, amm_accounts(lake, day), instrument_rows(lake, day))


def obligations(lake: Lake, days: Sequence[dt.date]) -> list[ObligationDay]:
    """Figures for every symbol with book states on each of ``days``, by day then symbol."""
    rows: list[ObligationDay] = []
    for day in days:
        amm, instruments = amm_accounts(lake, day), instrument_rows(lake, day)
        for symbol in lake.curated_symbols(Orders.name, day):
            figures = _figures(lake, day, symbol, None, amm, instruments)
            if figures is not None:
                rows.append(figures)
    return rows


def _figures(
    lake: Lake,
    day: dt.date,
    symbol: str,
    terms: ObligationTerms | None,
    amm: list[str],
    instruments: Mapping[str, Mapping[str, Any]],
) -> ObligationDay | None:
    """One symbol-day's figures: the AMM's journal replayed, the market's spread from ``top``."""
    top_uri = lake.book(Top.name, day, symbol)
    if not exists(top_uri):
        return None
    instrument = instruments.get(symbol, {})
    terms = terms if terms is not None else ObligationTerms.of(instrument)
    orders_uri = lake.curated(Orders.name, day, symbol)
    quotes = (
        journal_quotes(amm_journal(lake, day, symbol, amm), amm, day, symbol, instrument, terms)
        if amm and exists(orders_uri)
        else QuoteStates.empty()
    )
    market = MarketSpread.of_top(read_table(top_uri, columns=TOP_COLUMNS).to_pandas())
    return obligation_from_quotes(quotes, day, symbol, terms, market)


def _durations(times_ns: np.ndarray, start_ns: int, end_ns: int) -> np.ndarray:
    """Seconds each state lasted (until the next one), clipped to the day."""
    if not len(times_ns):
        return np.zeros(0)
    ns = np.clip(times_ns, start_ns, end_ns)
    following = np.append(ns[1:], end_ns)
    return np.maximum(following - ns, 0) / 1e9


def _weighted(values: np.ndarray, weights: np.ndarray) -> float | None:
    ok = ~np.isnan(values) & (weights > 0)
    total = float(weights[ok].sum())
    if total <= 0:
        return None
    return float((values[ok] * weights[ok]).sum() / total)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _plain(value: Any) -> Any:
    """A reference-data value as a plain Python value (NaN: None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
