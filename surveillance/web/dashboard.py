"""The AMM conduct dashboard's obligation figures, cached for quick pages.

The figures themselves are :mod:`features.obligations` (one definition, shared with
the nightly run report, the independent review report and the ``obligation_breach``
detector): uptime, the AMM's spread and size, time-weighted from its ladder replayed
from the order journal against the instruments' terms, and the market's spread from
the book stage's ``top`` states. This module only caches them per ``top`` file, keyed
by its and the journal's modification times, so the dashboard stays quick and still
sees a rebuilt book or a re-ingested day.
Alert and disposition counts come from the case store (:mod:`surveillance.web.store`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from features.obligations import ObligationDay, ObligationTerms, instrument_terms
from features.obligations import obligation_day as compute_obligation_day
from surveillance.storage import Lake, exists, filesystem

__all__ = ["ObligationDay", "book_days", "obligation_day", "obligations"]

_Key = tuple[str, float, float, ObligationTerms]


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
        self._items: OrderedDict[_Key, ObligationDay] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: _Key) -> ObligationDay | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: _Key, value: ObligationDay) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE = _Cache()


def obligation_day(
    lake: Lake, day: dt.date, symbol: str, terms: ObligationTerms | None = None
) -> ObligationDay | None:
    """The AMM's quoting figures for ``symbol`` on ``day``; None without book states."""
    uri = lake.book("top", day, symbol)
    if not exists(uri):
        return None
    terms = (
        terms if terms is not None else instrument_terms(lake, day).get(symbol, ObligationTerms())
    )
    # The AMM's figures replay its orders from the curated journal: a re-ingested day
    # must not be served from the cache either.
    orders = lake.curated("orders", day, symbol)
    key = (uri, _mtime(uri), _mtime(orders), terms)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    figures = compute_obligation_day(lake, day, symbol, terms)
    if figures is not None:
        _CACHE.put(key, figures)
    return figures


def obligations(lake: Lake, days: list[dt.date]) -> list[ObligationDay]:
    """Figures for every symbol with book states on each of ``days``, by day then symbol."""
    rows: list[ObligationDay] = []
    for day in days:
        terms = instrument_terms(lake, day)
        for symbol in _book_symbols(lake, day):
            figures = obligation_day(lake, day, symbol, terms.get(symbol, ObligationTerms()))
            if figures is not None:
                rows.append(figures)
    return rows


def _book_symbols(lake: Lake, day: dt.date) -> list[str]:
    """Symbols traded on ``day`` whose book states exist."""
    return [s for s in lake.curated_symbols("orders", day) if exists(lake.book("top", day, s))]


def book_days(lake: Lake) -> list[dt.date]:
    """Days the book stage has written ``top`` states for."""
    return lake.days("book", "top")
