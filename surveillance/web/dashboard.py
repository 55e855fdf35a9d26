"""The AMM conduct dashboard's figures: quoting obligations by day, alerts over time.

Obligations come from the book stage's ``top`` output and the instruments'
reference data (``mm_max_spread_bps``, ``mm_min_quote_quantity``,
``mm_min_uptime``). A row of ``top`` describes the book from its event until the
next one, so every figure is time-weighted over the UTC day:

- *uptime*: the fraction of the day during which the affiliated market maker (AMM)
  rested quotes on both sides, no wider than the maximum spread and no smaller
  than the minimum size on either side (before the day's first book event the AMM
  is not quoting);
- *AMM spread*: its own best ask minus best bid, in basis points of their mean,
  averaged over the time it quoted both sides;
- *AMM size*: the smaller of its two best-level quantities, averaged likewise;
- *market spread*: the whole book's spread in basis points.

Alert and disposition counts come from the case store (:mod:`surveillance.web.store`).
Figures of a (day, symbol) are cached per ``top`` file, keyed by its modification
time, so the dashboard stays quick and still sees a rebuilt book.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveillance.book.schema import Top
from surveillance.contract import Instruments
from surveillance.days import day_bounds
from surveillance.storage import Lake, exists, filesystem, read_table
from surveillance.web.replay import epoch_ns

_TOP = [
    Top.event_time,
    Top.spread_bps,
    Top.amm_best_bid,
    Top.amm_best_bid_qty,
    Top.amm_best_ask,
    Top.amm_best_ask_qty,
]


@dataclass(frozen=True)
class ObligationDay:
    """One symbol's quoting figures for one day."""

    day: dt.date
    symbol: str
    uptime: float | None
    required_uptime: float | None
    amm_spread_bps: float | None
    max_spread_bps: float | None
    amm_size: float | None
    min_size: float | None
    market_spread_bps: float | None

    @property
    def breached(self) -> bool:
        return (
            self.uptime is not None
            and self.required_uptime is not None
            and self.uptime < self.required_uptime
        )


def _mtime(uri: str) -> float:
    fs, path = filesystem(uri)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return 0.0
    value = info.get("mtime") or info.get("LastModified") or 0
    return float(value.timestamp() if isinstance(value, dt.datetime) else value)


class _Cache:
    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[tuple[str, float, tuple[float | None, ...]], ObligationDay] = (
            OrderedDict()
        )
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, float, tuple[float | None, ...]]) -> ObligationDay | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, float, tuple[float | None, ...]], value: ObligationDay) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE = _Cache()


def _instrument_terms(lake: Lake, day: dt.date) -> dict[str, tuple[float | None, ...]]:
    uri = lake.curated("instruments", day)
    if not exists(uri):
        return {}
    frame = read_table(uri).to_pandas()
    terms: dict[str, tuple[float | None, ...]] = {}
    for row in frame.to_dict(orient="records"):

        def value(name: str, row: dict[str, object] = row) -> float | None:
            raw = row.get(name)
            if raw is None or (isinstance(raw, float) and np.isnan(raw)):
                return None
            return float(raw)  # type: ignore[arg-type]

        terms[str(row[Instruments.symbol])] = (
            value(Instruments.mm_max_spread_bps),
            value(Instruments.mm_min_quote_quantity),
            value(Instruments.mm_min_uptime),
        )
    return terms


def obligation_day(
    lake: Lake,
    day: dt.date,
    symbol: str,
    terms: tuple[float | None, ...] = (None, None, None),
) -> ObligationDay | None:
    """The AMM's quoting figures for ``symbol`` on ``day``; None without book states."""
    uri = lake.book("top", day, symbol)
    if not exists(uri):
        return None
    key = (uri, _mtime(uri), terms)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    max_spread, min_size, min_uptime = terms
    top = read_table(uri, columns=_TOP).to_pandas()
    start, end = day_bounds(day)
    result = _figures(top, start, end)
    figures = ObligationDay(
        day=day,
        symbol=symbol,
        uptime=_uptime(top, start, end, max_spread, min_size),
        required_uptime=min_uptime,
        amm_spread_bps=result[0],
        max_spread_bps=max_spread,
        amm_size=result[1],
        min_size=min_size,
        market_spread_bps=result[2],
    )
    _CACHE.put(key, figures)
    return figures


def _durations(top: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Seconds each row's book state lasted, clipped to the day."""
    if top.empty:
        return np.zeros(0)
    ns = epoch_ns(top[Top.event_time])
    ns = np.clip(ns, start.value, end.value)
    following = np.append(ns[1:], end.value)
    return np.maximum(following - ns, 0) / 1e9


def _amm_quotes(top: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bid = top[Top.amm_best_bid].to_numpy(dtype=float, na_value=np.nan)
    ask = top[Top.amm_best_ask].to_numpy(dtype=float, na_value=np.nan)
    bid_qty = top[Top.amm_best_bid_qty].to_numpy(dtype=float, na_value=0.0)
    ask_qty = top[Top.amm_best_ask_qty].to_numpy(dtype=float, na_value=0.0)
    two_sided = ~np.isnan(bid) & ~np.isnan(ask) & (bid_qty > 0) & (ask_qty > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_bps = (ask - bid) / ((ask + bid) / 2) * 10_000
    size = np.minimum(bid_qty, ask_qty)
    return two_sided, spread_bps, size


def _weighted(values: np.ndarray, weights: np.ndarray) -> float | None:
    ok = ~np.isnan(values) & (weights > 0)
    total = float(weights[ok].sum())
    if total <= 0:
        return None
    return float((values[ok] * weights[ok]).sum() / total)


def _figures(
    top: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[float | None, float | None, float | None]:
    weights = _durations(top, start, end)
    if not len(weights):
        return None, None, None
    two_sided, spread_bps, size = _amm_quotes(top)
    quoted = np.where(two_sided, weights, 0.0)
    market = top[Top.spread_bps].to_numpy(dtype=float, na_value=np.nan)
    return _weighted(spread_bps, quoted), _weighted(size, quoted), _weighted(market, weights)


def _uptime(
    top: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    max_spread: float | None,
    min_size: float | None,
) -> float | None:
    weights = _durations(top, start, end)
    day_s = (end - start).total_seconds()
    if not len(weights) or day_s <= 0:
        return None
    two_sided, spread_bps, size = _amm_quotes(top)
    ok = two_sided.copy()
    if max_spread is not None:
        ok &= spread_bps <= max_spread + 1e-9
    if min_size is not None:
        ok &= size >= min_size - 1e-12
    return float(weights[ok].sum() / day_s)


def obligations(lake: Lake, days: list[dt.date]) -> list[ObligationDay]:
    """Figures for every symbol with book states on each of ``days``, by day then symbol."""
    rows: list[ObligationDay] = []
    for day in days:
        terms = _instrument_terms(lake, day)
        symbols = _book_symbols(lake, day)
        for symbol in symbols:
            figures = obligation_day(lake, day, symbol, terms.get(symbol, (None, None, None)))
            if figures is not None:
                rows.append(figures)
    return rows


def _book_symbols(lake: Lake, day: dt.date) -> list[str]:
    """Symbols traded on ``day`` whose book states exist."""
    return [s for s in lake.curated_symbols("orders", day) if exists(lake.book("top", day, s))]


def book_days(lake: Lake) -> list[dt.date]:
    """Days the book stage has written ``top`` states for."""
    return lake.days("book", "top")
