"""The AMM's market-making obligations, measured per trading day and symbol.

One definition, used wherever obligations are reported (the nightly run report,
the web app's conduct dashboard, the independent review report), so that every
audience sees the same figure. The terms come from the instruments' reference data
(``mm_max_spread_bps``, ``mm_min_quote_quantity``, ``mm_min_uptime``); the quotes
from the book stage's ``top`` output, whose rows each describe the book from their
event until the next one. Every figure is therefore time-weighted over the UTC day:

- *uptime*: the fraction of the day during which the AMM (all its accounts together)
  rested quotes on both sides, no wider than the maximum spread and no smaller than
  the minimum size on either side (before the day's first book event it is not
  quoting);
- *two-sided share*: the fraction of the day with any two-sided AMM quote;
- *AMM spread*: its own best ask minus best bid, in basis points of their mean,
  averaged over the time it quoted both sides;
- *AMM size*: the smaller of its two best-level quantities, averaged likewise;
- *market spread*: the whole book's spread in basis points, averaged over the day.

The rule detector ``obligation_breach`` finds the *spans* of non-compliance from the
order journal; these figures are the day's summary of the same obligations. One
difference: ``top`` holds only the AMM's best level on each side, so the uptime here
counts a quote as too small when its best level holds less than the minimum size,
whereas the detector (``features.integrity.obligation_timeline``) also counts the
deeper levels of the AMM's ladder within the maximum spread, as the obligation reads.
The uptime here is therefore a lower bound of the detector's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surveillance.book.schema import Top
from surveillance.contract import Instruments
from surveillance.days import day_bounds
from surveillance.storage import Lake, exists, read_table

#: The ``top`` columns the figures need.
TOP_COLUMNS = [
    Top.event_time,
    Top.spread_bps,
    Top.amm_best_bid,
    Top.amm_best_bid_qty,
    Top.amm_best_ask,
    Top.amm_best_ask_qty,
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


def instrument_terms(lake: Lake, day: dt.date) -> dict[str, ObligationTerms]:
    """Each curated instrument's obligations on ``day`` ({} before ingest)."""
    uri = lake.curated(Instruments.name, day)
    if not exists(uri):
        return {}
    frame = read_table(uri).to_pandas()
    return {
        str(row[Instruments.symbol]): ObligationTerms.of(row)
        for row in frame.to_dict(orient="records")
    }


def obligation_figures(
    top: pd.DataFrame, day: dt.date, symbol: str, terms: ObligationTerms
) -> ObligationDay:
    """The day's figures from the book's ``top`` states (:data:`TOP_COLUMNS`)."""
    return obligation_from_quotes(
        QuoteStates(
            times_ns=top[Top.event_time].to_numpy(dtype="datetime64[ns]").astype(np.int64),
            bid=top[Top.amm_best_bid].to_numpy(dtype=float, na_value=np.nan),
            ask=top[Top.amm_best_ask].to_numpy(dtype=float, na_value=np.nan),
            bid_qty=top[Top.amm_best_bid_qty].to_numpy(dtype=float, na_value=0.0),
            ask_qty=top[Top.amm_best_ask_qty].to_numpy(dtype=float, na_value=0.0),
            market_spread_bps=top[Top.spread_bps].to_numpy(dtype=float, na_value=np.nan),
        ),
        day,
        symbol,
        terms,
    )


@dataclass(frozen=True)
class QuoteStates:
    """The AMM's best quotes after each book event, in time order (NaN: no quote)."""

    times_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_qty: np.ndarray
    ask_qty: np.ndarray
    market_spread_bps: np.ndarray


def obligation_from_quotes(
    quotes: QuoteStates, day: dt.date, symbol: str, terms: ObligationTerms
) -> ObligationDay:
    """The day's figures from a sequence of AMM quote states (each lasting to the next)."""
    start, end = day_bounds(day)
    weights = _durations(quotes.times_ns, start.value, end.value)
    day_seconds = (end - start).total_seconds()
    if not len(weights):
        return ObligationDay(day, symbol, 0.0, 0.0, None, None, None, terms)
    bid_qty = np.nan_to_num(quotes.bid_qty, nan=0.0)
    ask_qty = np.nan_to_num(quotes.ask_qty, nan=0.0)
    two_sided = ~np.isnan(quotes.bid) & ~np.isnan(quotes.ask) & (bid_qty > 0) & (ask_qty > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_bps = (quotes.ask - quotes.bid) / ((quotes.ask + quotes.bid) / 2) * 10_000
    size = np.minimum(bid_qty, ask_qty)
    compliant = two_sided.copy()
    if terms.max_spread_bps is not None:
        compliant &= np.nan_to_num(spread_bps, nan=np.inf) <= terms.max_spread_bps + 1e-9
    if terms.min_quote_quantity is not None:
        compliant &= size >= terms.min_quote_quantity - 1e-12
    quoted = np.where(two_sided, weights, 0.0)
    return ObligationDay(
        day=day,
        symbol=symbol,
        uptime=float(weights[compliant].sum() / day_seconds),
        two_sided_share=float(weights[two_sided].sum() / day_seconds),
        amm_spread_bps=_weighted(spread_bps, quoted),
        amm_size=_weighted(size, quoted),
        market_spread_bps=_weighted(quotes.market_spread_bps, weights),
        terms=terms,
    )


def obligation_day(
    lake: Lake, day: dt.date, symbol: str, terms: ObligationTerms | None = None
) -> ObligationDay | None:
    """The figures of ``symbol`` on ``day``; ``None`` when the book has not been built."""
    uri = lake.book("top", day, symbol)
    if not exists(uri):
        return None
    if terms is None:
        terms = instrument_terms(lake, day).get(symbol, ObligationTerms())
    top = read_table(uri, columns=TOP_COLUMNS).to_pandas()
    return obligation_figures(top, day, symbol, terms)


def obligations(lake: Lake, days: Sequence[dt.date]) -> list[ObligationDay]:
    """Figures for every symbol with book states on each of ``days``, by day then symbol."""
    rows: list[ObligationDay] = []
    for day in days:
        terms = instrument_terms(lake, day)
        for symbol in lake.curated_symbols("orders", day):
            figures = obligation_day(lake, day, symbol, terms.get(symbol, ObligationTerms()))
            if figures is not None:
                rows.append(figures)
    return rows


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
