"""Every row-level rule of the venue export contract, as a registry of vectorised checks.

Each :class:`Rule` has a stable reason code (``orders.duplicate_seq``), the dataset
whose rows it flags, a one-sentence description (``docs/contract-rules.md`` documents
every code) and a check that returns one violation row per offending row, in the
columns of :data:`VIOLATION_COLUMNS`. A row may violate several rules; a rule flags a
row at most once.

Speed matters: ingest must validate a ten-million-event day in seconds. Every check is
numpy over whole columns; the expensive preparations (enum codes, the engine order by
``(symbol, seq)``, the order-life order by ``(symbol, order_id, seq)``, the join of
FILL rows to trades) are computed once per :class:`LandingDay` and shared by all rules.

Where rules would cascade, the later rule steps aside: a conditional rule skips rows
whose enum or required value is already invalid, trade reconciliation checks prices,
sides and ids only for trades with exactly two fills (the others are flagged by
``trades.fill_count``), and so on. Each defect is reported where it is, once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from surveillance.contract import (
    Accounts,
    Dataset,
    EventType,
    Instruments,
    Liquidity,
    Orders,
    OrderType,
    ReferencePrices,
    Side,
    TimeInForce,
    Trades,
)
from surveillance.days import day_bounds
from surveillance.validate.reader import FILE_COLUMN, ROW_COLUMN, LandingDay

VIOLATION_COLUMNS = [
    "rule",
    "dataset",
    "file",
    "row",
    "column",
    "expected",
    "found",
    "symbol",
    "order_id",
    "trade_id",
    "seq",
]

#: Tick and lot multiples: ``value / increment`` may be off an integer by this many
#: increments plus a relative part, which absorbs binary floating point (0.1 + 0.2)
#: and sums of fills without letting a real half tick through.
MULTIPLE_ATOL = 1e-6
MULTIPLE_RTOL = 1e-12
#: Equality of two quantities or prices that should be the same number (a fill and its
#: trade, leaves before and after a fill): relative tolerance.
EQUAL_RTOL = 1e-9


@dataclass(frozen=True)
class Rule:
    """One contract rule: a stable code, the dataset it flags, what it checks, the check."""

    code: str
    dataset: str
    description: str
    check: Callable[[LandingDay], pd.DataFrame]

    def __call__(self, day: LandingDay) -> pd.DataFrame:
        return self.check(day)


def _violation_template() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in VIOLATION_COLUMNS})
    frame["row"] = frame["row"].astype("int64")
    frame["seq"] = frame["seq"].astype("Int64")
    return frame


_EMPTY = _violation_template()


def _empty_violations() -> pd.DataFrame:
    # Most rules find nothing on most days: copying a template is far cheaper than
    # building an empty frame column by column, dozens of times per day.
    return _EMPTY.copy()


# --------------------------------------------------------------------------------------
# Shared preparation, computed once per day.
# --------------------------------------------------------------------------------------


def _context(day: LandingDay) -> _Context:
    ctx = day._memo.get("rules.context")
    if ctx is None:
        ctx = _Context(day)
        day._memo["rules.context"] = ctx
    return ctx


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of a string column (-1 for null), categorical or not."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    # The categorical's own (int8/int16/int32) codes: a 10-million-row column stays small.
    return np.asarray(series.cat.codes.to_numpy())


def _categories(series: pd.Series) -> pd.Index:
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    return series.cat.categories


def _category_lookup(series: pd.Series, per_category: np.ndarray, missing: Any) -> np.ndarray:
    """``per_category[code]`` for each row, ``missing`` where the value is null."""
    # The missing value goes last, where the null code -1 indexes.
    table = np.append(per_category, np.array([missing], dtype=per_category.dtype))
    return table[_codes(series)]


def _enum_index(series: pd.Series, enum: type[StrEnum]) -> np.ndarray:
    """Position of each value in ``enum`` (int8); -1 for null or not a member."""
    members = [m.value for m in enum]
    cats = _categories(series)
    per_cat = np.array([members.index(c) if c in members else -1 for c in cats], dtype=np.int8)
    return _category_lookup(series, per_cat, -1)


def _membership(series: pd.Series, known: pd.Series) -> np.ndarray:
    """Whether each (non-null) value of ``series`` is among the values of ``known``."""
    cats = _categories(series)
    per_cat = np.asarray(pd.Index(cats).isin(known.dropna().astype("str")), dtype=bool)
    return _category_lookup(series, per_cat, True)


def _floats(series: pd.Series) -> np.ndarray:
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _ints(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values (0 where null) and validity of an integer column."""
    if series.dtype == np.int64:
        values = series.to_numpy()
        return values, np.ones(len(values), dtype=bool)
    valid = ~np.asarray(series.isna().to_numpy(), dtype=bool)
    return np.asarray(series.to_numpy(dtype=np.int64, na_value=0)), valid


def _times(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Nanoseconds since the epoch and validity of a timestamp column.

    Null is the smallest int64 (NaT), so "before" comparisons need the validity mask.
    """
    values = np.asarray(series.to_numpy(dtype="datetime64[ns]")).view(np.int64)
    return values, values != np.iinfo(np.int64).min


def _null_strings(series: pd.Series) -> np.ndarray:
    """Null or empty string: an id that is "" identifies nothing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        per_cat = np.asarray(pd.Series(cats).str.len().to_numpy() == 0, dtype=bool)
        if not per_cat.any():
            return np.asarray(series.cat.codes.to_numpy() < 0)
        return _category_lookup(series, per_cat, True)
    return _null_arrow(_arrow_strings(series))


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Equal within :data:`EQUAL_RTOL`; NaN is close to nothing."""
    # Most pairs are exactly equal: test the tolerance only where they are not.
    close = a == b
    differ = np.flatnonzero(~close)
    if len(differ):
        x, y = a[differ], b[differ]
        close[differ] = np.abs(x - y) <= EQUAL_RTOL * np.maximum(np.abs(x), np.abs(y))
    return close


def _positive(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values > 0)


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Boolean: row starts a new run of equal ``keys`` (keys already sorted)."""
    starts = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        starts[1:] = keys[1:] != keys[:-1]
    return starts


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """Stable permutation sorting non-negative integer ``keys``, fast for common shapes.

    Already sorted (a venue exporting in order) costs one comparison pass; keys below
    64 are gathered key by key, keys below 2**16 use numpy's radix sort; otherwise each key is packed with its position into
    one int64 and sorted by value, which is stable by construction and about twice as
    fast as a stable argsort of ten million keys.
    """
    n = len(keys)
    if n < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return np.arange(n)
    top = int(keys.max())
    if top < 64:
        # A handful of distinct keys (symbols, files): one scan per key beats any sort.
        return np.concatenate([np.flatnonzero(keys == k) for k in range(top + 1)])
    if top < 2**16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    shift = n.bit_length()
    if top.bit_length() + shift <= 63:
        packed = (keys.astype(np.int64) << shift) | np.arange(n, dtype=np.int64)
        packed.sort()
        np.bitwise_and(packed, (1 << shift) - 1, out=packed)
        return packed
    return np.argsort(keys, kind="stable")


class _Context:
    """Arrays derived from a day once and shared by every rule."""

    def __init__(self, day: LandingDay) -> None:
        self.day = day
        self.start, self.end = (int(t.value) for t in day_bounds(day.day))

    def frame(self, dataset: str) -> pd.DataFrame:
        return self.day.tables[dataset]

    @cached_property
    def orders(self) -> _OrderArrays:
        return _OrderArrays(self)

    @cached_property
    def fills(self) -> _FillJoin:
        return _FillJoin(self)

    @cached_property
    def instrument_rows(self) -> pd.DataFrame:
        """First row per symbol of the instruments snapshot (duplicates are flagged)."""
        frame = self.frame(Instruments.name)
        frame = frame[frame[Instruments.symbol].notna()]
        return frame.drop_duplicates(subset=Instruments.symbol, keep="first").set_index(
            frame[Instruments.symbol].astype("str").drop_duplicates(keep="first").to_numpy()
        )

    def increments(self, dataset: str, column: str) -> np.ndarray:
        """Per row of ``dataset``, its instrument's tick or lot size (NaN if unknown or
        not positive)."""
        # Not cached: the gather is cheap, and 80 MB per column kept for the day is not.
        symbols = self.frame(dataset)["symbol"]
        per_symbol = self.instrument_rows[column].astype("float64")
        cats = pd.Index(_categories(symbols)).astype("str")
        per_cat = per_symbol.reindex(cats).to_numpy(dtype=np.float64)
        per_cat = np.where(_positive(per_cat), per_cat, np.nan)
        return _category_lookup(symbols, per_cat, np.nan)


class _OrderArrays:
    """The orders journal as numpy arrays, with its two sort orders."""

    def __init__(self, ctx: _Context) -> None:
        frame = ctx.frame(Orders.name)
        self.frame = frame
        self.n = len(frame)
        self.event = _enum_index(frame[Orders.event_type], EventType)
        self.side = _enum_index(frame[Orders.side], Side)
        self.order_type = _enum_index(frame[Orders.order_type], OrderType)
        self.liquidity = _enum_index(frame[Orders.liquidity], Liquidity)
        self.time_in_force = _enum_index(frame[Orders.time_in_force], TimeInForce)
        self.symbol = _codes(frame[Orders.symbol])
        self.account = _codes(frame[Orders.account_id])
        self.seq, self.seq_valid = _ints(frame[Orders.seq])
        self.time, self.time_valid = _times(frame[Orders.event_time])
        self.price = _floats(frame[Orders.price])
        self.quantity = _floats(frame[Orders.quantity])
        self.leaves = _floats(frame[Orders.leaves_quantity])
        self.fill_price = _floats(frame[Orders.fill_price])
        self.fill_quantity = _floats(frame[Orders.fill_quantity])

    @cached_property
    def order_code(self) -> np.ndarray:
        """An integer per distinct ``(symbol, order_id)``; -1 where either is null."""
        encoded = _arrow_strings(self.frame[Orders.order_id]).dictionary_encode()
        codes = np.concatenate(
            [np.zeros(0, dtype=np.int64)]
            + [pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
        ).astype(np.int64)
        del encoded
        pa.default_memory_pool().release_unused()
        n_symbols = max(len(_categories(self.frame[Orders.symbol])), 1)
        valid = (codes >= 0) & (self.symbol >= 0)
        codes *= n_symbols
        codes += self.symbol
        codes[~valid] = -1
        return codes

    @cached_property
    def engine(self) -> np.ndarray:
        """Rows with a symbol and a seq, in engine order: by (symbol, seq), stable."""
        valid = (self.symbol >= 0) & self.seq_valid
        keep = None if valid.all() else np.flatnonzero(valid)
        symbol = self.symbol if keep is None else self.symbol[keep]
        seq = self.seq if keep is None else self.seq[keep]
        # Engines export each symbol's events in seq order, so ordering by symbol alone
        # (a stable gather per symbol) usually yields engine order; verify, and sort
        # fully otherwise.
        perm = _stable_order(symbol)
        by_symbol = symbol[perm]
        in_order = seq[perm]
        same = by_symbol[1:] == by_symbol[:-1]
        #: Whether each symbol's rows were already in seq order across the day's files.
        self.exported_in_engine_order = bool(np.all(~same | (in_order[1:] >= in_order[:-1])))
        if not self.exported_in_engine_order:
            perm = np.lexsort((seq, symbol))
        return perm if keep is None else keep[perm]

    @cached_property
    def life(self) -> np.ndarray:
        """Rows with an order key and a seq, by (symbol, order_id, seq): each order's life."""
        engine = self.engine
        keys = self.order_code[engine]
        valid = keys >= 0
        if not valid.all():
            engine, keys = engine[valid], keys[valid]
        return engine[_stable_order(keys)]

    @cached_property
    def life_first(self) -> np.ndarray:
        """Boolean over ``life``: the row is its order's first event."""
        return _group_starts(self.order_code[self.life])

    @cached_property
    def _previous(self) -> tuple[np.ndarray, np.ndarray]:
        life = self.life
        has_prev = np.flatnonzero(~self.life_first)
        return life[has_prev], life[has_prev - 1]

    def previous_in_life(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows that follow an earlier event of the same order, and that earlier event."""
        return self._previous


class _FillJoin:
    """FILL rows of orders matched to trades on (symbol, trade_id)."""

    def __init__(self, ctx: _Context) -> None:
        orders = ctx.frame(Orders.name)
        trades = ctx.frame(Trades.name)
        o = ctx.orders
        fill_rows = np.flatnonzero((o.event == _FILL) & (o.symbol >= 0))
        o_ids = _arrow_strings(orders[Orders.trade_id], fill_rows)
        usable = ~_null_arrow(o_ids)
        fill_rows, o_ids = fill_rows[usable], o_ids.filter(pa.array(usable))
        t_ids = _arrow_strings(trades[Trades.trade_id])
        t_valid = ~_null_arrow(t_ids)
        # One hash table over both sides gives trade ids a common integer code.
        encoded = pa.chunked_array(t_ids.chunks + o_ids.chunks, t_ids.type).dictionary_encode()
        codes = np.concatenate(
            [
                pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)
                for chunk in encoded.chunks
            ]
            or [np.zeros(0, dtype=np.int32)]
        ).astype(np.int64)
        symbol_index = pd.Index(_categories(orders[Orders.symbol])).get_indexer(
            _categories(trades[Trades.symbol])
        )
        t_symbol = _category_lookup(trades[Trades.symbol], symbol_index.astype(np.int64), -1)
        n_symbols = max(len(_categories(orders[Orders.symbol])), 1) + 1
        # Trades whose symbol never occurs in orders get a symbol slot of their own, so
        # they match no fill.
        t_sym = np.where(t_symbol >= 0, t_symbol, n_symbols - 1)
        self.trade_key = np.where(t_valid, codes[: len(trades)] * n_symbols + t_sym, -1)
        self.fill_rows = fill_rows
        self.fill_key = codes[len(trades) :] * n_symbols + o.symbol[fill_rows]
        order = _stable_order(self.fill_key)
        self.fill_sorted_rows = fill_rows[order]
        fill_sorted_key = self.fill_key[order]
        lo = np.searchsorted(fill_sorted_key, self.trade_key, side="left")
        hi = np.searchsorted(fill_sorted_key, self.trade_key, side="right")
        self.count = np.where(t_valid, hi - lo, -1)
        self.lo = lo
        # Sorted, duplicates kept: membership by binary search needs no more (and
        # np.unique would hash 1.5 million keys first).
        known = np.sort(self.trade_key[t_valid])
        if len(known):
            pos = np.minimum(np.searchsorted(known, self.fill_key), len(known) - 1)
            self.fill_has_trade = known[pos] == self.fill_key
        else:
            self.fill_has_trade = np.zeros(len(fill_rows), dtype=bool)

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trades (rows) with exactly two fills, and their first and second fill rows."""
        trades = np.flatnonzero(self.count == 2)
        first = self.fill_sorted_rows[self.lo[trades]]
        second = self.fill_sorted_rows[self.lo[trades] + 1]
        return trades, first, second


def _arrow_strings(series: pd.Series, rows: np.ndarray | None = None) -> pa.ChunkedArray:
    """The values (at ``rows``) as Arrow large_string chunks, nulls kept, no copy if
    possible: comparisons and hashing then run in Arrow, without a Python object per
    value."""
    taken = series if rows is None else series.iloc[rows]
    array = pa.array(taken)
    chunked = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    if pa.types.is_dictionary(chunked.type):
        chunked = pa.chunked_array(
            [c.dictionary_decode() for c in chunked.chunks], chunked.type.value_type
        )
    return chunked.cast(pa.large_string())


def _null_arrow(array: pa.ChunkedArray) -> np.ndarray:
    """Null or empty, for an Arrow string array."""
    empty = pc.equal(pc.binary_length(array), 0)
    return np.asarray(pc.fill_null(empty, True).to_numpy(zero_copy_only=False), dtype=bool)


def _position(member: StrEnum) -> int:
    """Position of an enum member in its enum: the value :func:`_enum_index` gives it."""
    return [m.value for m in type(member)].index(member.value)


_NEW = _position(EventType.NEW)
_REPLACE = _position(EventType.REPLACE)
_CANCEL = _position(EventType.CANCEL)
_FILL = _position(EventType.FILL)
_EXPIRE = _position(EventType.EXPIRE)
_REJECT = _position(EventType.REJECT)
_EVENT_NAMES = np.array([m.value for m in EventType] + ["invalid"], dtype=object)
_BUY = _position(Side.BUY)
_LIMIT = _position(OrderType.LIMIT)
_MARKET = _position(OrderType.MARKET)
_MAKER = _position(Liquidity.MAKER)
_TAKER = _position(Liquidity.TAKER)
_IOC = _position(TimeInForce.IOC)
_FOK = _position(TimeInForce.FOK)
_POST_ONLY = _position(TimeInForce.POST_ONLY)


# --------------------------------------------------------------------------------------
# Building violation rows.
# --------------------------------------------------------------------------------------


def _text(values: Any) -> np.ndarray:
    """Short human strings for values (floats in shortest round-trip form)."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        out = values.astype(str)
        return np.where(np.isnan(values), "null", out).astype(object)
    series = pd.Series(values, dtype=None)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        text = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        text = series.astype("str")
    return np.asarray(text.to_numpy(dtype=object, na_value="null"), dtype=object)


def _words(*parts: Any) -> np.ndarray:
    """Element-wise concatenation of strings and string arrays (few rows: violations)."""
    arrays = [p for p in parts if not isinstance(p, str)]
    n = len(arrays[0]) if arrays else 1
    columns = [[p] * n if isinstance(p, str) else list(p) for p in parts]
    return np.array(
        ["".join(str(x) for x in row) for row in zip(*columns, strict=True)], dtype=object
    )


def _strings_at(series: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values at ``rows`` as Python strings, ``None`` where null."""
    taken = series.iloc[rows]
    values = np.array(taken.astype(object).to_numpy(), dtype=object)
    missing = np.asarray(taken.isna().to_numpy(), dtype=bool)
    values[missing] = None
    return values


def _hits(
    ctx: _Context,
    dataset: str,
    rows: np.ndarray,
    *,
    column: str | np.ndarray,
    expected: str | np.ndarray,
    found: Any,
    order_rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Violation rows (without ``rule``/``dataset``) for ``rows`` of ``dataset``.

    ``order_rows`` names, for a trades violation, the orders row (a fill) that shows the
    problem, so the violation can carry its order_id and seq.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return _empty_hits()
    frame = ctx.frame(dataset)
    n = len(rows)
    out: dict[str, Any] = {
        "file": _strings_at(frame[FILE_COLUMN], rows),
        "row": frame[ROW_COLUMN].to_numpy()[rows],
        "column": np.full(n, column, dtype=object) if isinstance(column, str) else column,
        "expected": np.full(n, expected, dtype=object) if isinstance(expected, str) else expected,
        "found": np.full(n, found, dtype=object) if isinstance(found, str) else _text(found),
    }
    none = np.full(n, None, dtype=object)
    out["symbol"] = _strings_at(frame["symbol"], rows) if "symbol" in frame.columns and n else none
    if dataset == Orders.name:
        out["order_id"] = _strings_at(frame[Orders.order_id], rows)
        out["trade_id"] = _strings_at(frame[Orders.trade_id], rows)
        out["seq"] = pd.array(frame[Orders.seq].iloc[rows].to_numpy(), dtype="Int64")
    elif dataset == Trades.name:
        out["trade_id"] = _strings_at(frame[Trades.trade_id], rows)
        if order_rows is not None:
            orders = ctx.frame(Orders.name)
            out["order_id"] = _strings_at(orders[Orders.order_id], order_rows)
            out["seq"] = pd.array(orders[Orders.seq].iloc[order_rows].to_numpy(), dtype="Int64")
    result = pd.DataFrame(
        {c: out.get(c, none) for c in VIOLATION_COLUMNS if c not in ("rule", "dataset")}
    )
    if "seq" not in out:
        result["seq"] = pd.array([None] * n, dtype="Int64")
    return result


#: One column check for :func:`_multi`: (column, failing mask, expected, found). Expected
#: and found are a constant string, a full-length array or Series (indexed by the
#: failing rows), or a function of the failing rows' positions: only violations are
#: ever formatted, so a clean ten-million-row day formats nothing.
_ColumnCheck = tuple[str, np.ndarray, Any, Any]


def _resolve(spec: Any, rows: np.ndarray, *, text: bool) -> np.ndarray:
    if isinstance(spec, str):
        return np.full(len(rows), spec, dtype=object)
    if callable(spec):
        return np.asarray(spec(rows), dtype=object)
    if isinstance(spec, pd.Series):
        return _text(spec.iloc[rows])
    values = np.asarray(spec)[rows]
    return values if values.dtype == object and not text else _text(values)


def _failing_columns(failing: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Per row of a (rows x checks) boolean matrix, the failing checks' columns joined."""
    weights = np.int64(1) << np.arange(failing.shape[1], dtype=np.int64)
    pattern = (failing.astype(np.int64) * weights).sum(axis=1)
    unique, inverse = np.unique(pattern, return_inverse=True)
    labels = [
        ", ".join(dict.fromkeys(n for j, n in enumerate(names) if (int(p) >> j) & 1))
        for p in unique
    ]
    return np.array(labels, dtype=object)[inverse]


def _multi(ctx: _Context, dataset: str, checks: Sequence[_ColumnCheck]) -> pd.DataFrame:
    """One violation per row failing any of several column checks.

    A row failing several checks names all their columns in ``column`` and reports the
    first failing check's expected and found values.
    """
    if not checks:
        return _empty_hits()
    rows = np.flatnonzero(np.logical_or.reduce([c[1] for c in checks]))
    if not len(rows):
        return _empty_hits()
    failing = np.column_stack([c[1][rows] for c in checks])
    first = failing.argmax(axis=1)
    expected = np.empty(len(rows), dtype=object)
    found = np.empty(len(rows), dtype=object)
    for j, (_, _, exp, values) in enumerate(checks):
        pick = first == j
        if pick.any():
            expected[pick] = _resolve(exp, rows[pick], text=False)
            found[pick] = _resolve(values, rows[pick], text=True)
    return _hits(
        ctx,
        dataset,
        rows,
        column=_failing_columns(failing, [c[0] for c in checks]),
        expected=expected,
        found=found,
    )


_EMPTY_HITS = _EMPTY.drop(columns=["rule", "dataset"])


def _empty_hits() -> pd.DataFrame:
    # Shared, never mutated: the registry wrapper only adds columns to non-empty hits.
    return _EMPTY_HITS


# --------------------------------------------------------------------------------------
# The registry.
# --------------------------------------------------------------------------------------

_REGISTRY: list[Rule] = []
#: The registry's rules by identity, as functions returning None when they find nothing:
#: find_violations skips building dozens of empty frames on a clean day.
_RUNNERS: dict[int, Callable[[LandingDay], pd.DataFrame | None]] = {}


def _register(
    code: str, dataset: str, description: str
) -> Callable[[Callable[[_Context], pd.DataFrame]], Callable[[_Context], pd.DataFrame]]:
    def decorate(fn: Callable[[_Context], pd.DataFrame]) -> Callable[[_Context], pd.DataFrame]:
        def run(day: LandingDay) -> pd.DataFrame | None:
            ctx = _context(day)
            if not len(ctx.frame(dataset)):
                return None
            hits = fn(ctx)
            if not len(hits):
                return None
            hits.insert(0, "dataset", dataset)
            hits.insert(0, "rule", code)
            return hits[VIOLATION_COLUMNS].reset_index(drop=True)

        def check(day: LandingDay) -> pd.DataFrame:
            found = run(day)
            return _empty_violations() if found is None else found

        check.__name__ = f"check_{code.replace('.', '_')}"
        check.__doc__ = description
        rule = Rule(code, dataset, description, check)
        _REGISTRY.append(rule)
        _RUNNERS[id(rule)] = run
        return fn

    return decorate


# Generic rules: required values and enumerations, for every dataset of the contract.


def _required_rule(dataset: type[Dataset]) -> None:
    specs = [s for s in dataset.columns() if s.required and not s.nullable]

    def check(ctx: _Context) -> pd.DataFrame:
        frame = ctx.frame(dataset.name)
        checks: list[_ColumnCheck] = []
        for spec in specs:
            series = frame[spec.name]
            if pa.types.is_string(spec.type) and spec.allowed is None:
                missing = _null_strings(series)
            else:
                missing = np.asarray(series.isna().to_numpy(), dtype=bool)
            checks.append((spec.name, missing, "a value", "null"))
        return _multi(ctx, dataset.name, checks)

    names = ", ".join(s.name for s in specs)
    _register(
        f"{dataset.name}.null_required",
        dataset.name,
        f"Required values ({names}) are not null, NaN or an empty string.",
    )(check)


def _enum_rule(dataset: type[Dataset], column: str) -> None:
    spec = dataset.spec(column)
    allowed = spec.allowed or ()

    def check(ctx: _Context) -> pd.DataFrame:
        series = ctx.frame(dataset.name)[column]
        cats = _categories(series)
        per_cat = np.asarray(~pd.Index(cats).isin(allowed), dtype=bool)
        bad = _category_lookup(series, per_cat, False)
        rows = np.flatnonzero(bad)
        return _hits(
            ctx,
            dataset.name,
            rows,
            column=column,
            expected="one of " + ", ".join(allowed),
            found=series.iloc[rows],
        )

    _register(
        f"{dataset.name}.invalid_{column}",
        dataset.name,
        f"{column} is one of {', '.join(allowed)}"
        + (" (or null)." if spec.nullable or not spec.required else "."),
    )(check)


for _dataset in (Orders, Trades, Accounts, Instruments, ReferencePrices):
    _required_rule(_dataset)
    for _spec in _dataset.columns():
        if _spec.allowed is not None:
            _enum_rule(_dataset, _spec.name)


# Orders: values by event and order type.


@_register(
    "orders.price_by_order_type",
    Orders.name,
    "price is set for a LIMIT order and null for a MARKET order.",
)
def _price_by_order_type(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    has_price = ~np.isnan(o.price)
    return _multi(
        ctx,
        Orders.name,
        [
            (Orders.price, (o.order_type == _LIMIT) & ~has_price, "set for a LIMIT order", "null"),
            (
                Orders.price,
                (o.order_type == _MARKET) & has_price,
                "null for a MARKET order",
                o.price,
            ),
        ],
    )


@_register(
    "orders.fill_fields",
    Orders.name,
    "fill_price, fill_quantity, trade_id and liquidity are set on FILL events and null on all others.",
)
def _fill_fields(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    frame = ctx.frame(Orders.name)
    is_fill = o.event == _FILL
    other = (o.event >= 0) & ~is_fill
    present = {
        Orders.fill_price: ~np.isnan(o.fill_price),
        Orders.fill_quantity: ~np.isnan(o.fill_quantity),
        Orders.trade_id: ~_null_strings(frame[Orders.trade_id]),
        Orders.liquidity: np.asarray(frame[Orders.liquidity].notna().to_numpy(), dtype=bool),
    }

    def expected_other(rows: np.ndarray) -> np.ndarray:
        return _words("null on ", _EVENT_NAMES[o.event[rows]])

    checks: list[_ColumnCheck] = []
    for column, mask in present.items():
        checks.append((column, is_fill & ~mask, "set on FILL", "null"))
        checks.append((column, other & mask, expected_other, frame[column]))
    return _multi(ctx, Orders.name, checks)


@_register(
    "orders.gateway_time_on_engine_event",
    Orders.name,
    "gateway_time is null on FILL and EXPIRE events (they originate in the engine).",
)
def _gateway_on_engine_event(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    gateway = ctx.frame(Orders.name)[Orders.gateway_time]
    has = np.asarray(gateway.notna().to_numpy(), dtype=bool)
    rows = np.flatnonzero(has & ((o.event == _FILL) | (o.event == _EXPIRE)))
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.gateway_time,
        expected="null on FILL and EXPIRE",
        found=gateway.iloc[rows],
    )


@_register(
    "orders.gateway_after_event",
    Orders.name,
    "gateway_time, when set, is not later than event_time.",
)
def _gateway_after_event(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    gateway, valid = _times(ctx.frame(Orders.name)[Orders.gateway_time])
    rows = np.flatnonzero(valid & o.time_valid & (gateway > o.time))
    event_text = _text(ctx.frame(Orders.name)[Orders.event_time].iloc[rows])
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.gateway_time,
        expected=np.array([f"at or before event_time {t}" for t in event_text], dtype=object),
        found=ctx.frame(Orders.name)[Orders.gateway_time].iloc[rows],
    )


# Orders: positive values, tick and lot multiples.


@_register(
    "orders.nonpositive_price",
    Orders.name,
    "price and fill_price, when set, are finite and greater than 0.",
)
def _orders_nonpositive_price(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    return _multi(
        ctx,
        Orders.name,
        [
            (c, ~np.isnan(v) & ~_positive(v), "> 0", v)
            for c, v in ((Orders.price, o.price), (Orders.fill_price, o.fill_price))
        ],
    )


@_register(
    "orders.nonpositive_quantity",
    Orders.name,
    "quantity and fill_quantity, when set, are finite and greater than 0.",
)
def _orders_nonpositive_quantity(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    return _multi(
        ctx,
        Orders.name,
        [
            (c, ~np.isnan(v) & ~_positive(v), "> 0", v)
            for c, v in ((Orders.quantity, o.quantity), (Orders.fill_quantity, o.fill_quantity))
        ],
    )


@_register(
    "orders.leaves_out_of_range",
    Orders.name,
    "leaves_quantity is finite, at least 0 and at most quantity.",
)
def _leaves_out_of_range(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    leaves, quantity = o.leaves, o.quantity
    above = ~np.isnan(quantity) & (leaves > quantity * (1 + EQUAL_RTOL))
    bad = ~np.isnan(leaves) & (~np.isfinite(leaves) | (leaves < 0) | above)
    rows = np.flatnonzero(bad)
    expected = np.array(
        [f"between 0 and quantity {q}" for q in _text(quantity[rows])], dtype=object
    )
    return _hits(
        ctx, Orders.name, rows, column=Orders.leaves_quantity, expected=expected, found=leaves[rows]
    )


def _off_increment(
    ctx: _Context,
    dataset: str,
    columns: Sequence[tuple[str, np.ndarray]],
    increment_column: str,
) -> pd.DataFrame:
    increment = ctx.increments(dataset, increment_column)

    def expected(rows: np.ndarray) -> np.ndarray:
        return _words(f"multiple of {increment_column} ", _text(increment[rows]))

    checks: list[_ColumnCheck] = []
    for column, values in columns:
        # Unknown symbols and non-positive increments are NaN, null values are NaN, and
        # NaN compares false: such rows are left to their own rules. Non-positive values
        # are excluded explicitly (orders.nonpositive_* flags them).
        ratio = values / increment
        off = np.rint(ratio)
        np.subtract(ratio, off, out=off)
        np.abs(off, out=off)
        ratio *= MULTIPLE_RTOL
        ratio += MULTIPLE_ATOL
        bad = (off > ratio) & (values > 0)
        checks.append((column, bad, expected, values))
    return _multi(ctx, dataset, checks)


@_register(
    "orders.off_tick",
    Orders.name,
    "price and fill_price are multiples of the instrument's tick_size.",
)
def _orders_off_tick(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    return _off_increment(
        ctx,
        Orders.name,
        [(Orders.price, o.price), (Orders.fill_price, o.fill_price)],
        Instruments.tick_size,
    )


@_register(
    "orders.off_lot",
    Orders.name,
    "quantity, leaves_quantity and fill_quantity are multiples of the instrument's lot_size.",
)
def _orders_off_lot(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    return _off_increment(
        ctx,
        Orders.name,
        [
            (Orders.quantity, o.quantity),
            (Orders.leaves_quantity, o.leaves),
            (Orders.fill_quantity, o.fill_quantity),
        ],
        Instruments.lot_size,
    )


# Times.


def _outside_day(ctx: _Context, dataset: str) -> pd.DataFrame:
    series = ctx.frame(dataset)["event_time"]
    times, valid = _times(series)
    rows = np.flatnonzero(valid & ((times < ctx.start) | (times >= ctx.end)))
    day = ctx.day.day.isoformat()
    return _hits(
        ctx,
        dataset,
        rows,
        column="event_time",
        expected=f"within {day} UTC",
        found=series.iloc[rows],
    )


def _outside_day_rule(dataset: type[Dataset]) -> None:
    def check(ctx: _Context) -> pd.DataFrame:
        return _outside_day(ctx, dataset.name)

    _register(
        f"{dataset.name}.event_time_outside_day",
        dataset.name,
        "event_time lies within the partition's UTC day [00:00, 24:00).",
    )(check)


for _dataset in (Orders, Trades, ReferencePrices):
    _outside_day_rule(_dataset)


# Orders: sequence numbers.


@_register(
    "orders.duplicate_seq",
    Orders.name,
    "seq is unique within (symbol, day); every repeat after the first occurrence is flagged.",
)
def _duplicate_seq(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    engine = o.engine
    same = np.zeros(len(engine), dtype=bool)
    if len(engine) > 1:
        same[1:] = (o.symbol[engine[1:]] == o.symbol[engine[:-1]]) & (
            o.seq[engine[1:]] == o.seq[engine[:-1]]
        )
    positions = np.flatnonzero(same)
    # The first occurrence of each run of equal (symbol, seq) is where the run starts.
    run_start = np.maximum.accumulate(np.where(~same, np.arange(len(engine)), 0))
    rows = engine[positions]
    firsts = engine[run_start[positions]]
    frame = ctx.frame(Orders.name)
    where = [
        f"seq {s} already at {f} row {r}"
        for s, f, r in zip(
            o.seq[rows],
            _strings_at(frame[FILE_COLUMN], firsts),
            frame[ROW_COLUMN].to_numpy()[firsts],
            strict=True,
        )
    ]
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.seq,
        expected="unique within symbol and day",
        found=np.array(where, dtype=object),
    )


@_register(
    "orders.event_time_decreasing",
    Orders.name,
    "event_time does not decrease in seq order within a symbol.",
)
def _event_time_decreasing(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    engine = o.engine
    if len(engine) < 2:
        return _empty_hits()
    cur, prev = engine[1:], engine[:-1]
    bad = (
        (o.symbol[cur] == o.symbol[prev])
        & o.time_valid[cur]
        & o.time_valid[prev]
        & (o.time[cur] < o.time[prev])
    )
    rows, before = cur[bad], prev[bad]
    frame = ctx.frame(Orders.name)
    prev_text = _text(frame[Orders.event_time].iloc[before])
    expected = np.array(
        [f"at or after {t} (seq {s})" for t, s in zip(prev_text, o.seq[before], strict=True)],
        dtype=object,
    )
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.event_time,
        expected=expected,
        found=frame[Orders.event_time].iloc[rows],
    )


@_register(
    "orders.seq_not_increasing_in_file",
    Orders.name,
    "Within each file, a symbol's seq strictly increases in file order (the engine's order).",
)
def _seq_in_file(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    files = _codes(ctx.frame(Orders.name)[FILE_COLUMN])
    engine = o.engine
    if o.exported_in_engine_order:
        # Each symbol's rows are in seq order across the files, so in engine order a row
        # of the same symbol and file follows its predecessor in the file: only a repeat
        # of the predecessor's seq can break the rule.
        perm = engine
        key = files[perm].astype(np.int64) * (int(o.symbol.max(initial=0)) + 1) + o.symbol[perm]
    else:
        keep = np.sort(engine)
        key = files[keep].astype(np.int64) * (int(o.symbol.max(initial=0)) + 1) + o.symbol[keep]
        # Rows are in file order; a stable sort by (file, symbol) keeps that order
        # within each symbol of each file.
        order = _stable_order(key)
        perm, key = keep[order], key[order]
    if len(perm) < 2:
        return _empty_hits()
    cur, prev = perm[1:], perm[:-1]
    bad = (key[1:] == key[:-1]) & (o.seq[cur] <= o.seq[prev])
    rows, before = cur[bad], prev[bad]
    expected = _words("greater than ", o.seq[before], " (the previous row)")
    return _hits(
        ctx, Orders.name, rows, column=Orders.seq, expected=expected, found=o.seq[rows].astype(str)
    )


# Orders: each order's life, in (symbol, order_id, seq) order.


@_register(
    "orders.first_event_not_new",
    Orders.name,
    "An order's first event of the day is NEW or REJECT.",
)
def _first_event(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    firsts = o.life[o.life_first]
    event = o.event[firsts]
    rows = firsts[(event >= 0) & (event != _NEW) & (event != _REJECT)]
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.event_type,
        expected="NEW or REJECT as the order's first event",
        found=_EVENT_NAMES[o.event[rows]],
    )


@_register(
    "orders.event_after_terminal",
    Orders.name,
    "No event follows an order's terminal event (CANCEL, EXPIRE, REJECT, or any event "
    "leaving leaves_quantity 0).",
)
def _after_terminal(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    life = o.life
    event = o.event[life]
    terminal = (event == _CANCEL) | (event == _EXPIRE) | (event == _REJECT) | (o.leaves[life] == 0)
    positions = np.arange(len(life))
    # Position of the latest terminal event at or before each row, within its order.
    last_terminal = np.maximum.accumulate(np.where(terminal, positions, -1))
    group_start = np.maximum.accumulate(np.where(o.life_first, positions, 0))
    prior = np.zeros(len(life), dtype=np.int64) - 1
    if len(life) > 1:
        prior[1:] = last_terminal[:-1]
    after = (prior >= group_start) & (prior >= 0)
    pos = np.flatnonzero(after)
    if not len(pos):
        return _empty_hits()
    rows = life[pos]
    # Name the order's first terminal event: the first one at or after its start.
    first_terminal = _first_true_per_group(terminal, o.life_first)[pos]
    term_rows = life[first_terminal]
    found = np.array(
        [
            f"{e} at seq {s} after {t} at seq {ts}"
            for e, s, t, ts in zip(
                _EVENT_NAMES[o.event[rows]],
                o.seq[rows],
                _EVENT_NAMES[o.event[term_rows]],
                o.seq[term_rows],
                strict=True,
            )
        ],
        dtype=object,
    )
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.event_type,
        expected="no event after the order's terminal event",
        found=found,
    )


def _first_true_per_group(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each position, the position of the first ``True`` of its group (or -1)."""
    positions = np.arange(len(mask))
    group = np.cumsum(starts) - 1
    candidate = np.where(mask, positions, len(mask))
    start_pos = np.flatnonzero(starts)
    if not len(start_pos):
        return np.zeros(0, dtype=np.int64)
    first = np.minimum.reduceat(candidate, start_pos)
    result = first[group]
    return np.where(result < len(mask), result, -1)


def _immediate(o: _OrderArrays) -> np.ndarray:
    """Rows of orders that never rest on the book: IOC, FOK and MARKET."""
    tif = o.time_in_force
    return (tif == _IOC) | (tif == _FOK) | (o.order_type == _MARKET)


def _last_of_life(o: _OrderArrays) -> tuple[np.ndarray, np.ndarray]:
    """Each order's first and last position in ``life``."""
    starts = np.flatnonzero(o.life_first)
    ends = np.append(starts[1:], len(o.life)) - 1
    return starts, ends


@_register(
    "orders.immediate_order_rests",
    Orders.name,
    "An IOC, FOK or MARKET order does not rest: its last event leaves leaves_quantity 0 "
    "(the unfilled rest is EXPIREd).",
)
def _immediate_rests(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    _, ends = _last_of_life(o)
    last = o.life[ends]
    # A CANCEL, EXPIRE or REJECT leaving quantity open is orders.terminal_leaves_nonzero.
    event = o.event[last]
    open_end = (event != _CANCEL) & (event != _EXPIRE) & (event != _REJECT) & (o.leaves[last] > 0)
    rows = last[_immediate(o)[last] & open_end]
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.leaves_quantity,
        expected="0 at the order's last event (the unfilled rest is EXPIREd)",
        found=o.leaves[rows],
    )


@_register(
    "orders.immediate_order_maker_fill",
    Orders.name,
    "A FILL of an IOC, FOK or MARKET order is TAKER (such an order never rests to be hit).",
)
def _immediate_maker(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    rows = np.flatnonzero((o.event == _FILL) & (o.liquidity == _MAKER) & _immediate(o))
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.liquidity,
        expected="TAKER for an IOC, FOK or MARKET order",
        found="MAKER",
    )


@_register(
    "orders.post_only_taker_fill",
    Orders.name,
    "A FILL of a POST_ONLY order is MAKER (a post-only order never takes liquidity).",
)
def _post_only_taker(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    taker = (o.event == _FILL) & (o.liquidity == _TAKER) & (o.time_in_force == _POST_ONLY)
    rows = np.flatnonzero(taker)
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.liquidity,
        expected="MAKER for a POST_ONLY order",
        found="TAKER",
    )


@_register(
    "orders.fok_partial_fill",
    Orders.name,
    "A FOK order is filled completely or not at all; its last event is flagged otherwise.",
)
def _fok_partial(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    starts, ends = _last_of_life(o)
    if not len(starts):
        return _empty_hits()
    life = o.life
    fills = np.where(o.event[life] == _FILL, np.nan_to_num(o.fill_quantity[life]), 0.0)
    filled = np.add.reduceat(fills, starts)
    last = life[ends]
    quantity = o.quantity[last]
    partial = (o.time_in_force[last] == _FOK) & (filled > 0) & ~_close(filled, quantity)
    partial &= filled < quantity
    rows = last[partial]
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.fill_quantity,
        expected=_words("all of quantity ", _text(quantity[partial]), " or nothing"),
        found=_words("filled ", _text(filled[partial])),
    )


@_register(
    "orders.terminal_leaves_nonzero",
    Orders.name,
    "leaves_quantity is 0 after CANCEL, EXPIRE and REJECT.",
)
def _terminal_leaves(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    terminal = (o.event == _CANCEL) | (o.event == _EXPIRE) | (o.event == _REJECT)
    rows = np.flatnonzero(terminal & ~np.isnan(o.leaves) & (o.leaves != 0))
    expected = np.array([f"0 after {e}" for e in _EVENT_NAMES[o.event[rows]]], dtype=object)
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.leaves_quantity,
        expected=expected,
        found=o.leaves[rows],
    )


@_register(
    "orders.new_leaves_not_quantity",
    Orders.name,
    "On NEW, leaves_quantity equals quantity (nothing has executed yet).",
)
def _new_leaves(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    both = ~np.isnan(o.leaves) & ~np.isnan(o.quantity)
    rows = np.flatnonzero((o.event == _NEW) & both & ~_close(o.leaves, o.quantity))
    expected = np.array([f"quantity {q}" for q in _text(o.quantity[rows])], dtype=object)
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.leaves_quantity,
        expected=expected,
        found=o.leaves[rows],
    )


@_register(
    "orders.leaves_increased",
    Orders.name,
    "leaves_quantity never increases from one event of an order to the next, except on REPLACE.",
)
def _leaves_increased(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    cur, prev = o.previous_in_life()
    grew = o.leaves[cur] > o.leaves[prev] * (1 + EQUAL_RTOL)
    bad = grew & (o.event[cur] != _REPLACE) & (o.event[cur] >= 0)
    rows, before = cur[bad], prev[bad]
    expected = np.array(
        [
            f"at most {v} (seq {s})"
            for v, s in zip(_text(o.leaves[before]), o.seq[before], strict=True)
        ],
        dtype=object,
    )
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.leaves_quantity,
        expected=expected,
        found=o.leaves[rows],
    )


@_register(
    "orders.fill_leaves_mismatch",
    Orders.name,
    "A FILL reduces leaves_quantity by exactly its fill_quantity.",
)
def _fill_leaves(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    cur, prev = o.previous_in_life()
    fills = (o.event[cur] == _FILL) & ~np.isnan(o.fill_quantity[cur])
    cur, prev = cur[fills], prev[fills]
    want = o.leaves[prev] - o.fill_quantity[cur]
    scale = np.maximum(np.abs(o.quantity[cur]), np.abs(o.leaves[prev]))
    bad = ~(np.abs(o.leaves[cur] - want) <= EQUAL_RTOL * np.nan_to_num(scale, nan=0.0) + 1e-12)
    bad &= ~np.isnan(o.leaves[cur]) & ~np.isnan(o.leaves[prev])
    rows, before = cur[bad], prev[bad]
    expected = np.array(
        [
            f"{w} (leaves {lv} at seq {s} minus fill_quantity {f})"
            for w, lv, s, f in zip(
                _text(want[bad]),
                _text(o.leaves[before]),
                o.seq[before],
                _text(o.fill_quantity[rows]),
                strict=True,
            )
        ],
        dtype=object,
    )
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.leaves_quantity,
        expected=expected,
        found=o.leaves[rows],
    )


@_register(
    "orders.quantity_changed",
    Orders.name,
    "An order's quantity changes only on REPLACE.",
)
def _quantity_changed(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    cur, prev = o.previous_in_life()
    both = ~np.isnan(o.quantity[cur]) & ~np.isnan(o.quantity[prev])
    bad = (
        both
        & (o.event[cur] >= 0)
        & (o.event[cur] != _REPLACE)
        & ~_close(o.quantity[cur], o.quantity[prev])
    )
    rows, before = cur[bad], prev[bad]
    expected = np.array(
        [
            f"{q} (as at seq {s})"
            for q, s in zip(_text(o.quantity[before]), o.seq[before], strict=True)
        ],
        dtype=object,
    )
    return _hits(
        ctx, Orders.name, rows, column=Orders.quantity, expected=expected, found=o.quantity[rows]
    )


@_register(
    "orders.attribute_changed",
    Orders.name,
    "account_id, side and order_type stay the same over an order's life.",
)
def _attribute_changed(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    frame = ctx.frame(Orders.name)
    cur, prev = o.previous_in_life()
    before = np.full(o.n, -1, dtype=np.int64)
    before[cur] = prev
    checks: list[_ColumnCheck] = []
    for column, codes in (
        (Orders.account_id, o.account),
        (Orders.side, o.side),
        (Orders.order_type, o.order_type),
    ):
        changed = np.zeros(o.n, dtype=bool)
        changed[cur] = (codes[cur] != codes[prev]) & (codes[cur] >= 0) & (codes[prev] >= 0)

        def expected(rows: np.ndarray, column: str = column) -> np.ndarray:
            earlier = before[rows]
            values = _strings_at(frame[column], earlier)
            return _words(values, " (as at seq ", o.seq[earlier], ")")

        checks.append((column, changed, expected, frame[column]))
    return _multi(ctx, Orders.name, checks)


# References to the snapshots.


def _unknown(
    ctx: _Context, dataset: str, columns: Sequence[str], known: pd.Series, what: str
) -> pd.DataFrame:
    frame = ctx.frame(dataset)
    checks: list[_ColumnCheck] = []
    for column in columns:
        series = frame[column]
        bad = ~_membership(series, known)
        checks.append((column, bad, f"an {what} listed in the day's snapshot", series))
    return _multi(ctx, dataset, checks)


def _known_accounts(ctx: _Context) -> pd.Series:
    return ctx.frame(Accounts.name)[Accounts.account_id]


def _known_symbols(ctx: _Context) -> pd.Series:
    return ctx.frame(Instruments.name)[Instruments.symbol]


@_register(
    "orders.unknown_account",
    Orders.name,
    "account_id exists in the day's accounts snapshot.",
)
def _orders_unknown_account(ctx: _Context) -> pd.DataFrame:
    return _unknown(ctx, Orders.name, [Orders.account_id], _known_accounts(ctx), "account")


@_register(
    "orders.unknown_symbol",
    Orders.name,
    "symbol exists in the day's instruments snapshot.",
)
def _orders_unknown_symbol(ctx: _Context) -> pd.DataFrame:
    return _unknown(ctx, Orders.name, [Orders.symbol], _known_symbols(ctx), "instrument")


@_register(
    "trades.unknown_account",
    Trades.name,
    "buy_account_id and sell_account_id exist in the day's accounts snapshot.",
)
def _trades_unknown_account(ctx: _Context) -> pd.DataFrame:
    return _unknown(
        ctx,
        Trades.name,
        [Trades.buy_account_id, Trades.sell_account_id],
        _known_accounts(ctx),
        "account",
    )


@_register(
    "trades.unknown_symbol",
    Trades.name,
    "symbol exists in the day's instruments snapshot.",
)
def _trades_unknown_symbol(ctx: _Context) -> pd.DataFrame:
    return _unknown(ctx, Trades.name, [Trades.symbol], _known_symbols(ctx), "instrument")


@_register(
    "reference_prices.unknown_symbol",
    ReferencePrices.name,
    "symbol exists in the day's instruments snapshot.",
)
def _reference_unknown_symbol(ctx: _Context) -> pd.DataFrame:
    return _unknown(
        ctx, ReferencePrices.name, [ReferencePrices.symbol], _known_symbols(ctx), "instrument"
    )


# Trades: values and reconciliation with the FILL rows of orders.


@_register(
    "orders.fill_without_trade",
    Orders.name,
    "A FILL's (symbol, trade_id) exists in trades.",
)
def _fill_without_trade(ctx: _Context) -> pd.DataFrame:
    join = ctx.fills
    rows = join.fill_rows[~join.fill_has_trade]
    return _hits(
        ctx,
        Orders.name,
        rows,
        column=Orders.trade_id,
        expected="a trade_id present in trades for the symbol",
        found=ctx.frame(Orders.name)[Orders.trade_id].iloc[rows],
    )


@_register(
    "trades.nonpositive_price",
    Trades.name,
    "price is finite and greater than 0.",
)
def _trades_nonpositive_price(ctx: _Context) -> pd.DataFrame:
    price = _floats(ctx.frame(Trades.name)[Trades.price])
    return _multi(
        ctx, Trades.name, [(Trades.price, ~np.isnan(price) & ~_positive(price), "> 0", price)]
    )


@_register(
    "trades.nonpositive_quantity",
    Trades.name,
    "quantity is finite and greater than 0.",
)
def _trades_nonpositive_quantity(ctx: _Context) -> pd.DataFrame:
    qty = _floats(ctx.frame(Trades.name)[Trades.quantity])
    return _multi(
        ctx, Trades.name, [(Trades.quantity, ~np.isnan(qty) & ~_positive(qty), "> 0", qty)]
    )


@_register(
    "trades.off_tick",
    Trades.name,
    "price is a multiple of the instrument's tick_size.",
)
def _trades_off_tick(ctx: _Context) -> pd.DataFrame:
    price = _floats(ctx.frame(Trades.name)[Trades.price])
    return _off_increment(ctx, Trades.name, [(Trades.price, price)], Instruments.tick_size)


@_register(
    "trades.off_lot",
    Trades.name,
    "quantity is a multiple of the instrument's lot_size.",
)
def _trades_off_lot(ctx: _Context) -> pd.DataFrame:
    qty = _floats(ctx.frame(Trades.name)[Trades.quantity])
    return _off_increment(ctx, Trades.name, [(Trades.quantity, qty)], Instruments.lot_size)


@_register(
    "trades.duplicate_trade_id",
    Trades.name,
    "trade_id is unique within symbol and day; every repeat after the first is flagged.",
)
def _duplicate_trade(ctx: _Context) -> pd.DataFrame:
    key = ctx.fills.trade_key
    valid = key >= 0
    dup = np.zeros(len(key), dtype=bool)
    dup[valid] = pd.Series(key[valid]).duplicated(keep="first").to_numpy()
    rows = np.flatnonzero(dup)
    return _hits(
        ctx,
        Trades.name,
        rows,
        column=Trades.trade_id,
        expected="unique within symbol and day",
        found=ctx.frame(Trades.name)[Trades.trade_id].iloc[rows],
    )


@_register(
    "trades.without_fills",
    Trades.name,
    "A trade has FILL rows in orders (a trade with none is flagged here).",
)
def _trade_without_fills(ctx: _Context) -> pd.DataFrame:
    rows = np.flatnonzero(ctx.fills.count == 0)
    return _hits(
        ctx,
        Trades.name,
        rows,
        column=Trades.trade_id,
        expected="2 FILL rows in orders",
        found="0 FILL rows",
    )


@_register(
    "trades.fill_count",
    Trades.name,
    "A trade with fills has exactly two FILL rows in orders (one or three or more are flagged).",
)
def _trade_fill_count(ctx: _Context) -> pd.DataFrame:
    count = ctx.fills.count
    rows = np.flatnonzero((count > 0) & (count != 2))
    found = np.array([f"{c} FILL rows" for c in count[rows]], dtype=object)
    return _hits(
        ctx,
        Trades.name,
        rows,
        column=Trades.trade_id,
        expected="2 FILL rows in orders",
        found=found,
    )


#: One reconciliation check of :func:`_pair_check`: (column, failing mask over the pairs,
#: describe) where ``describe(sel)`` gives expected, found and the fill row to name for
#: the selected pairs only (violations are few; formatting every trade would not be).
_PairCheck = tuple[
    str, np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
]


def _pair_check(
    ctx: _Context,
    build: Callable[[np.ndarray, np.ndarray, np.ndarray], list[_PairCheck]],
) -> pd.DataFrame:
    """Checks over trades with exactly two fills (the others are ``trades.fill_count``).

    ``build(trades, first, second)`` gets the trades rows and their two fill rows and
    returns the checks; one violation per failing trade, naming every failing column and
    the first failing check's expected, found and fill.
    """
    trades, first, second = ctx.fills.pairs()
    if not len(trades):
        return _empty_hits()
    checks = build(trades, first, second)
    masks = np.column_stack([c[1] for c in checks])
    hit = np.flatnonzero(masks.any(axis=1))
    if not len(hit):
        return _empty_hits()
    failing = masks[hit]
    which = failing.argmax(axis=1)
    expected = np.empty(len(hit), dtype=object)
    found = np.empty(len(hit), dtype=object)
    fill_rows = np.zeros(len(hit), dtype=np.int64)
    for j, (_, _, describe) in enumerate(checks):
        pick = which == j
        if pick.any():
            expected[pick], found[pick], fill_rows[pick] = describe(hit[pick])
    return _hits(
        ctx,
        Trades.name,
        trades[hit],
        column=_failing_columns(failing, [c[0] for c in checks]),
        expected=expected,
        found=found,
        order_rows=fill_rows,
    )


@_register(
    "trades.fill_mismatch",
    Trades.name,
    "Both FILL rows of a trade carry the trade's price (fill_price) and quantity (fill_quantity).",
)
def _fill_mismatch(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    frame = ctx.frame(Trades.name)
    price = _floats(frame[Trades.price])
    qty = _floats(frame[Trades.quantity])

    def build(trades: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[_PairCheck]:
        out: list[_PairCheck] = []
        for column, trade_all, fill_all in (
            (Trades.price, price, o.fill_price),
            (Trades.quantity, qty, o.fill_quantity),
        ):
            want = trade_all[trades]
            v1, v2 = fill_all[first], fill_all[second]
            # Non-positive or null values are flagged by their own rules; compare the rest.
            comparable = _positive(want)
            bad1 = comparable & _positive(v1) & ~_close(v1, want)
            bad2 = comparable & _positive(v2) & ~_close(v2, want)

            def describe(
                sel: np.ndarray,
                want: np.ndarray = want,
                v1: np.ndarray = v1,
                v2: np.ndarray = v2,
                bad1: np.ndarray = bad1,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                on_first = bad1[sel]
                values = np.where(on_first, v1[sel], v2[sel])
                fills = np.where(on_first, first[sel], second[sel])
                return (
                    _words(_text(want[sel]), " on both fills"),
                    _words("fill ", _text(values)),
                    fills,
                )

            out.append((column, bad1 | bad2, describe))
        return out

    return _pair_check(ctx, build)


_SIDE_NAMES = np.array([m.value for m in Side] + ["invalid"], dtype=object)
_LIQUIDITY_NAMES = np.array([m.value for m in Liquidity] + ["null"], dtype=object)


@_register(
    "trades.fill_sides",
    Trades.name,
    "A trade's two FILL rows are one BUY and one SELL.",
)
def _fill_sides(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders

    def build(trades: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[_PairCheck]:
        s1, s2 = o.side[first], o.side[second]
        # An invalid or null side is flagged by orders.invalid_side / null_required.
        bad = (s1 >= 0) & (s2 >= 0) & (s1 == s2)

        def describe(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            found = _words(_SIDE_NAMES[s1[sel]], " and ", _SIDE_NAMES[s2[sel]])
            return np.full(len(sel), "one BUY and one SELL fill", dtype=object), found, first[sel]

        return [("side", bad, describe)]

    return _pair_check(ctx, build)


def _buy_sell_fills(
    ctx: _Context, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BUY fill and the SELL fill of each pair, and whether the pair has one of each."""
    o = ctx.orders
    s1, s2 = o.side[first], o.side[second]
    ok = (s1 >= 0) & (s2 >= 0) & (s1 != s2)
    buy = np.where(s1 == _BUY, first, second)
    sell = np.where(s1 == _BUY, second, first)
    return buy, sell, ok


@_register(
    "trades.fill_ids_mismatch",
    Trades.name,
    "The BUY fill's order_id and account_id equal buy_order_id and buy_account_id, and the "
    "SELL fill's equal sell_order_id and sell_account_id.",
)
def _fill_ids(ctx: _Context) -> pd.DataFrame:
    orders = ctx.frame(Orders.name)
    frame = ctx.frame(Trades.name)

    def build(trades: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[_PairCheck]:
        buy, sell, ok = _buy_sell_fills(ctx, first, second)
        out: list[_PairCheck] = []
        for column, fills, source in (
            (Trades.buy_order_id, buy, Orders.order_id),
            (Trades.sell_order_id, sell, Orders.order_id),
            (Trades.buy_account_id, buy, Orders.account_id),
            (Trades.sell_account_id, sell, Orders.account_id),
        ):
            want = _arrow_strings(frame[column], trades)
            have = _arrow_strings(orders[source], fills)
            # A null on either side is flagged by null_required; compare the rest.
            same = pc.fill_null(pc.equal(want, have), True).to_numpy(zero_copy_only=False)
            bad = ok & ~np.asarray(same, dtype=bool)

            def describe(
                sel: np.ndarray,
                want: pa.Array = want,
                have: pa.Array = have,
                fills: np.ndarray = fills,
                source: str = source,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                picked = pa.array(sel)
                expected = np.array(want.take(picked).to_pylist(), dtype=object)
                found = _words(f"fill {source} ", have.take(picked).to_pylist())
                return expected, found, fills[sel]

            out.append((column, bad, describe))
        return out

    return _pair_check(ctx, build)


@_register(
    "trades.fill_liquidity",
    Trades.name,
    "A trade's two FILL rows are one MAKER and one TAKER.",
)
def _fill_liquidity(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders

    def build(trades: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[_PairCheck]:
        l1, l2 = o.liquidity[first], o.liquidity[second]
        # A null or invalid liquidity is flagged by orders.fill_fields / invalid_liquidity.
        bad = (l1 >= 0) & (l2 >= 0) & (l1 == l2)

        def describe(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            found = _words(_LIQUIDITY_NAMES[l1[sel]], " and ", _LIQUIDITY_NAMES[l2[sel]])
            return (
                np.full(len(sel), "one MAKER and one TAKER fill", dtype=object),
                found,
                first[sel],
            )

        return [("liquidity", bad, describe)]

    return _pair_check(ctx, build)


@_register(
    "trades.aggressor_mismatch",
    Trades.name,
    "aggressor_side equals the side of the trade's TAKER fill.",
)
def _aggressor(ctx: _Context) -> pd.DataFrame:
    o = ctx.orders
    aggressor = _enum_index(ctx.frame(Trades.name)[Trades.aggressor_side], Side)

    def build(trades: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[_PairCheck]:
        l1, l2 = o.liquidity[first], o.liquidity[second]
        s1, s2 = o.side[first], o.side[second]
        one_each = (l1 >= 0) & (l2 >= 0) & (l1 != l2) & (s1 >= 0) & (s2 >= 0) & (s1 != s2)
        taker = np.where(l1 == _TAKER, first, second)
        side = o.side[taker]
        given = aggressor[trades]
        bad = one_each & (given >= 0) & (side != given)

        def describe(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            expected = _words(_SIDE_NAMES[side[sel]], " (the TAKER fill's side)")
            return expected, _SIDE_NAMES[given[sel]], taker[sel]

        return [(Trades.aggressor_side, bad, describe)]

    return _pair_check(ctx, build)


# Reference snapshots.


def _duplicates(ctx: _Context, dataset: str, column: str) -> pd.DataFrame:
    series = ctx.frame(dataset)[column]
    dup = np.asarray(series.duplicated(keep="first").to_numpy(), dtype=bool) & np.asarray(
        series.notna().to_numpy(), dtype=bool
    )
    rows = np.flatnonzero(dup)
    return _hits(
        ctx,
        dataset,
        rows,
        column=column,
        expected="unique in the snapshot",
        found=series.iloc[rows],
    )


@_register(
    "accounts.duplicate_account_id",
    Accounts.name,
    "account_id is unique in the accounts snapshot; every repeat after the first is flagged.",
)
def _duplicate_account(ctx: _Context) -> pd.DataFrame:
    return _duplicates(ctx, Accounts.name, Accounts.account_id)


@_register(
    "instruments.duplicate_symbol",
    Instruments.name,
    "symbol is unique in the instruments snapshot; every repeat after the first is flagged.",
)
def _duplicate_symbol(ctx: _Context) -> pd.DataFrame:
    return _duplicates(ctx, Instruments.name, Instruments.symbol)


@_register(
    "instruments.nonpositive_increment",
    Instruments.name,
    "tick_size and lot_size are finite and greater than 0.",
)
def _nonpositive_increment(ctx: _Context) -> pd.DataFrame:
    frame = ctx.frame(Instruments.name)
    checks: list[_ColumnCheck] = []
    for column in (Instruments.tick_size, Instruments.lot_size):
        values = _floats(frame[column])
        checks.append((column, ~np.isnan(values) & ~_positive(values), "> 0", values))
    return _multi(ctx, Instruments.name, checks)


@_register(
    "instruments.obligation_out_of_range",
    Instruments.name,
    "Market-maker obligations, when set, are in range: mm_max_spread_bps > 0, "
    "mm_min_quote_quantity > 0, mm_min_uptime within [0, 1].",
)
def _obligations(ctx: _Context) -> pd.DataFrame:
    frame = ctx.frame(Instruments.name)
    spread = _floats(frame[Instruments.mm_max_spread_bps])
    size = _floats(frame[Instruments.mm_min_quote_quantity])
    uptime = _floats(frame[Instruments.mm_min_uptime])
    return _multi(
        ctx,
        Instruments.name,
        [
            (Instruments.mm_max_spread_bps, ~np.isnan(spread) & ~_positive(spread), "> 0", spread),
            (Instruments.mm_min_quote_quantity, ~np.isnan(size) & ~_positive(size), "> 0", size),
            (
                Instruments.mm_min_uptime,
                ~np.isnan(uptime) & ~((uptime >= 0) & (uptime <= 1)),
                "within [0, 1]",
                uptime,
            ),
        ],
    )


@_register(
    "reference_prices.nonpositive_price",
    ReferencePrices.name,
    "price is finite and greater than 0.",
)
def _reference_nonpositive(ctx: _Context) -> pd.DataFrame:
    price = _floats(ctx.frame(ReferencePrices.name)[ReferencePrices.price])
    return _multi(
        ctx,
        ReferencePrices.name,
        [(ReferencePrices.price, ~np.isnan(price) & ~_positive(price), "> 0", price)],
    )


_DATASET_ORDER = [Orders.name, Trades.name, Accounts.name, Instruments.name, ReferencePrices.name]
#: The registry: every rule, grouped by the dataset it flags (then in definition order).
RULES: tuple[Rule, ...] = tuple(sorted(_REGISTRY, key=lambda r: _DATASET_ORDER.index(r.dataset)))
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def find_violations(day: LandingDay, rules: Sequence[Rule] = RULES) -> pd.DataFrame:
    """Every violation of ``rules`` (default: the whole registry) in ``day``.

    Returns
    -------
    pandas.DataFrame
        One row per (rule, offending row), columns :data:`VIOLATION_COLUMNS`, ordered
        by rule registry order, then dataset file and row. Empty (with those columns)
        for a valid day.
    """
    frames = []
    for rule in rules:
        run = _RUNNERS.get(id(rule))
        found = run(day) if run is not None else rule.check(day)
        if found is not None and len(found):
            frames.append(found)
    if not frames:
        return _empty_violations()
    return pd.concat(frames, ignore_index=True)


#: Memo key of the rule results being computed in the background, by rule code.
_BACKGROUND = "rules.background"


def prepare_in_background(day: LandingDay, rules: Sequence[Rule] = ()) -> threading.Thread:
    """Start deriving the rules' shared arrays, then running ``rules``, in a second thread.

    The order codes (one hash of every order id), the engine and order-life sort
    orders, the join of FILL rows to trades and the rules themselves are numpy and
    Arrow work that mostly releases the GIL, so a caller with other work to do
    meanwhile (the ingest gate runs its column expectations) gets them on the other
    core. :func:`rule_violations` then hands each rule's result over, waiting for it
    if need be; a rule that raised raises there. Shared arrays are computed once,
    each under its own lock, whoever asks first. The returned thread may be joined.
    """
    ctx = _context(day)  # made here, in the caller's thread: one context per day
    pending: dict[str, concurrent.futures.Future[pd.DataFrame]] = {
        rule.code: concurrent.futures.Future() for rule in rules
    }
    day._memo[_BACKGROUND] = pending

    def derive() -> None:
        # A failure here is left for the rule that needs the array to meet and report.
        with contextlib.suppress(Exception):
            ctx.orders.previous_in_life()
            if len(ctx.frame(Trades.name)):
                _ = ctx.fills
        for rule in rules:
            future = pending[rule.code]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(rule.check(day))
            except BaseException as exc:  # handed to the caller of rule_violations
                future.set_exception(exc)

    thread = threading.Thread(target=derive, name="mmsurv-rules", daemon=True)
    thread.start()
    return thread


def rule_violations(day: LandingDay, code: str) -> pd.DataFrame:
    """The violations of the rule ``code`` in ``day`` (its ``check``).

    Taken from :func:`prepare_in_background` when it was asked to run the rule
    (waiting for it), computed now otherwise. Treat the frame as read-only: it
    may be handed out more than once.
    """
    pending: dict[str, concurrent.futures.Future[pd.DataFrame]] = day._memo.get(_BACKGROUND, {})
    future = pending.get(code)
    if future is not None:
        return future.result()
    return RULES_BY_CODE[code].check(day)


def order_keys(day: LandingDay) -> np.ndarray:
    """One integer per orders row identifying its order, ``(symbol, order_id)``; -1 if null.

    Computed once per day and shared with the rules, so a caller that must act on whole
    orders (ingest quarantines an order with a broken life entirely) does not hash the
    order ids a second time.
    """
    return _context(day).orders.order_code


def trade_keys(day: LandingDay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join keys of trades and FILL rows on ``(symbol, trade_id)``.

    Returns ``(trade_key, fill_rows, fill_key)``: one key per trades row (-1 if null),
    the orders rows that are FILLs with a trade_id, and their keys in the same space, so
    ``fill_key == trade_key`` matches a fill to its trade.
    """
    join = _context(day).fills
    return join.trade_key, join.fill_rows, join.fill_key
