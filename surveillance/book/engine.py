"""Drive the compiled replay over a symbol's journal, chunk by chunk, and build the outputs.

This is the vectorised half of the book stage. For each chunk of journal rows it
turns strings into integers with Arrow kernels (event types, sides, flags; orders
into slots of the open-order table, by the ingest's ``order_key`` when the partition
has it, else by hashing ids; accounts into codes), has
:func:`surveillance.book.replay.prepare` turn prices into integer ticks and
quantities into integer lots in one compiled pass, runs
:func:`surveillance.book.replay.replay` over the chunk and wraps its outputs as Arrow
batches in the schemas of :mod:`surveillance.book.schema` (``top`` comes out of the
loop as its final columns; ``queue`` and ``findings`` rows are converted back from
integers). Between chunks only the open orders
are kept (their ids, slots and state), so memory follows the open book, not the
length of the day. No Python code runs per event.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from surveillance.book import replay as rp
from surveillance.book.schema import (
    FindingKind,
    Findings,
    OpenOrders,
    Queue,
    Top,
    depth_column,
    findings_schema,
    open_orders_schema,
    queue_schema,
    top_schema,
)
from surveillance.contract import EventType, Liquidity, Orders, OrderType, Side, TimeInForce
from surveillance.errors import InputError

#: Schema metadata key of an ``open`` table: whether its crossed book was already reported.
CROSSED_REPORTED = b"crossed_reported"

#: Low-cardinality string columns read dictionary-encoded (no per-row strings built).
DICTIONARY_COLUMNS: tuple[str, ...] = (
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.time_in_force,
    Orders.liquidity,
)

#: Lake-only column of curated orders: per (date, symbol) partition, a dense int64 code of
#: ``order_id`` in order of first appearance (written by the ingest stage). When present the
#: replay keys orders by it instead of hashing the id strings.
ORDER_KEY = "order_key"

#: Journal columns the replay reads (and :data:`ORDER_KEY` when the partition has it).
REPLAY_COLUMNS: tuple[str, ...] = (
    Orders.event_time,
    Orders.seq,
    Orders.order_id,
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.time_in_force,
    Orders.price,
    Orders.quantity,
    Orders.leaves_quantity,
    Orders.fill_price,
    Orders.fill_quantity,
    Orders.trade_id,
    Orders.liquidity,
)

_KINDS = list(FindingKind)
# the codes of replay.py, spelt through the contract enums (a renamed value fails here)
_EVENT_TYPES = pa.array([EventType(v).value for v in rp.EVENT_TYPES])
_SIDES = pa.array([Side(v).value for v in rp.SIDES])
_LIQUIDITY = pa.array([Liquidity.MAKER.value, Liquidity.TAKER.value])
_NS = pa.timestamp("ns", tz="UTC")


@functools.lru_cache(maxsize=64)
def grid_decimals(step: float) -> int:
    """Decimals that represent multiples of ``step`` exactly (e.g. 2 for 0.01, 0 for 5)."""
    for d in range(13):
        scaled = step * 10**d
        if abs(scaled - round(scaled)) < 1e-9 * max(1.0, scaled):
            return d
    return 12


def to_units(counts: np.ndarray, step: float) -> np.ndarray:
    """Integer ticks or lots as prices or quantities: the nearest float to the decimal.

    With ``step = k / 10**d`` exactly, ``counts * k`` is an exact integer and one
    division by ``10**d`` rounds once, so ``6000001`` ticks of ``0.01`` is the float
    of ``60000.01`` the journal holds, not ``60000.010000000002``.
    """
    k, scale = _grid_fraction(step)
    return (np.asarray(counts, dtype=np.int64) * k) / scale


def _grid_fraction(step: float) -> tuple[int, float]:
    """``step`` as ``k / scale`` with ``scale`` a power of ten (see :func:`to_units`)."""
    d = grid_decimals(step)
    return round(step * 10**d), float(10**d)


def to_counts(values: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Values on a grid as integer multiples of ``step``, and a mask of off-grid values.

    NaN (null) values give 0 and are not off-grid.
    """
    ratio = values / step
    nan = np.isnan(ratio)
    rounded = np.rint(np.where(nan, 0.0, ratio))
    off = ~nan & (np.abs(ratio - rounded) > 1e-6 + 1e-12 * np.abs(ratio))
    return rounded.astype(np.int64), off


@dataclass(frozen=True)
class ReplayParams:
    """What the replay of one symbol needs besides the journal."""

    symbol: str
    tick_size: float
    lot_size: float
    amm_accounts: frozenset[str]
    depth_bps: tuple[int, ...]
    max_ahead: int = 100
    buffer_rows: int = 65_536

    def __post_init__(self) -> None:
        if not (self.tick_size > 0 and math.isfinite(self.tick_size)):
            raise InputError(
                f"instrument {self.symbol}: tick_size must be a positive number, "
                f"found {self.tick_size!r}; fix the instruments snapshot"
            )
        if not (self.lot_size > 0 and math.isfinite(self.lot_size)):
            raise InputError(
                f"instrument {self.symbol}: lot_size must be a positive number, "
                f"found {self.lot_size!r}; fix the instruments snapshot"
            )


@dataclass
class SymbolBook:
    """The outputs of one symbol's replay, and how many events it applied.

    ``top`` and ``queue`` are empty when they were streamed to sinks instead of
    kept (see :class:`BookReplayer`); ``top_rows`` and ``queue_rows`` count them
    either way.
    """

    top: pa.Table
    queue: pa.Table
    findings: pa.Table
    events: int
    top_rows: int = 0
    queue_rows: int = 0
    #: Seconds spent inside the compiled loop.
    replay_seconds: float = 0.0

    def finding_counts(self) -> dict[str, int]:
        """Findings per kind (kinds with none left out)."""
        if self.findings.num_rows == 0:
            return {}
        counts = self.findings.column(Findings.kind).value_counts()
        return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist() if v["counts"]}


def level_ticks(prices: Iterable[pa.Array | pa.ChunkedArray], tick_size: float) -> np.ndarray:
    """Sorted distinct ticks of every limit price in ``prices`` (the day's price levels)."""
    found: list[np.ndarray] = []
    for array in prices:
        values = _floats(array)
        values = values[~np.isnan(values)]
        if values.size:
            found.append(np.unique(to_counts(values, tick_size)[0]))
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(found))


#: Most price levels spanned densely (every tick between the day's lowest and highest
#: price): 96 bytes of level state each, so at most about 25 MB.
DENSE_LEVELS = 1 << 18


def price_levels(
    prices: Callable[[], Iterable[pa.Array | pa.ChunkedArray]], tick_size: float
) -> np.ndarray:
    """The replay's price levels: every tick from the lowest price to the highest.

    Only the extremes are read (Arrow's min/max, no per-price work), and a level's
    index is then its tick minus the lowest. When the span exceeds
    :data:`DENSE_LEVELS` ticks (a stray price far from the market), the levels are
    the distinct ticks instead (:func:`level_ticks`, a second read of ``prices()``).
    """
    lo = hi = math.nan
    for array in prices():
        extremes = pc.min_max(array).as_py()
        if extremes["min"] is None:
            continue
        lo = extremes["min"] if math.isnan(lo) else min(lo, extremes["min"])
        hi = extremes["max"] if math.isnan(hi) else max(hi, extremes["max"])
    if math.isnan(lo):
        return np.zeros(0, dtype=np.int64)
    if math.isfinite(lo) and math.isfinite(hi):
        # rounding to the grid is monotone: every price's tick lies between these
        first, last = (int(t) for t in to_counts(np.array([lo, hi]), tick_size)[0])
        if last - first < DENSE_LEVELS:
            return np.arange(first, last + 1, dtype=np.int64)
    return level_ticks(prices(), tick_size)


def _floats(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A float column as NumPy, nulls as NaN."""
    if array.type != pa.float64():
        array = array.cast(pa.float64())
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def _indices(array: pa.Array) -> np.ndarray:
    """The integer codes of a dictionary array, -1 for null."""
    if array.null_count:
        array = pc.fill_null(array, -1)
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(array: pa.Array | pa.ChunkedArray, values: pa.Array) -> np.ndarray:
    """Index of each string in ``values``; -1 for null or unknown.

    A dictionary-encoded column is mapped through its (small) dictionary.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array, pa.DictionaryArray):
        mapping = np.append(_codes(array.dictionary, values), -1)
        return mapping[_indices(array.indices)]
    idx = pc.index_in(array, value_set=values)
    return _indices(idx)


def _strings(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if array.type == pa.string() else array.cast(pa.string())


@dataclass
class _Buffers:
    top_i: np.ndarray
    top_f: np.ndarray
    top_b: np.ndarray
    queue: np.ndarray
    ahead: np.ndarray
    findings: np.ndarray


@dataclass
class _Pieces:
    top: list[pa.RecordBatch] = field(default_factory=list)
    queue: list[pa.RecordBatch] = field(default_factory=list)
    findings: list[pa.RecordBatch] = field(default_factory=list)


class BookReplayer:
    """Replays one symbol's journal, fed chunk by chunk in seq order.

    Parameters
    ----------
    params
        Instrument grid, AMM accounts and output settings.
    ticks
        Sorted distinct ticks of every limit price the journal holds (see
        :func:`level_ticks`); a price not among them is an error.
    top_sink, queue_sink
        Called with each batch of ``top`` or ``queue`` rows as soon as it is made
        (for example a Parquet writer's ``write_batch``), so that a long day's
        outputs never sit in memory; without a sink the batches are kept and
        :meth:`finish` returns them as tables. Findings are always kept: they are
        few, and :meth:`finish` orders them by seq.
    sink_consumes
        ``top_sink`` is done with a batch when it returns (a Parquet writer encodes
        it then): the ``top`` buffers the batch wraps are then reused for the next
        rows. Otherwise (the default, and always without a sink) each batch keeps
        its buffers and the loop gets fresh ones.
    """

    def __init__(
        self,
        params: ReplayParams,
        ticks: np.ndarray,
        *,
        top_sink: Callable[[pa.RecordBatch], object] | None = None,
        queue_sink: Callable[[pa.RecordBatch], object] | None = None,
        sink_consumes: bool = False,
    ) -> None:
        self.top_sink = top_sink
        self.queue_sink = queue_sink
        self.reuse_top_buffers = sink_consumes and top_sink is not None
        self.top_rows = 0
        self.queue_rows = 0
        self.params = params
        self.ticks = np.ascontiguousarray(ticks, dtype=np.int64)
        self.bps = np.asarray(params.depth_bps, dtype=np.int64)
        #: Every tick from the lowest level to the highest: a level is its tick's offset.
        self.dense = bool(len(self.ticks)) and int(self.ticks[-1] - self.ticks[0]) + 1 == len(
            self.ticks
        )
        k = len(params.depth_bps)
        state = rp.new_state(len(self.ticks), k, 1024)
        self.slots = state["slots"]
        self.levels = state["levels"]
        self.sc = state["sc"]
        self.dep = state["dep"]
        self.prev = state["prev"]
        self.free = np.arange(self.slots.shape[0] - 1, -1, -1, dtype=np.int64)
        self.open_ids = pa.array([], pa.string())
        self.open_slots = np.zeros(0, dtype=np.int64)
        #: With :data:`ORDER_KEY`: the open orders' keys (sorted, aligned with their ids
        #: and slots) and the highest key seen; ``key_mode`` is settled by the first chunk.
        self.open_keys = np.zeros(0, dtype=np.int64)
        self.max_key = -1
        self.key_mode: bool | None = None
        self.accounts = pa.array([], pa.string())
        self.acct_amm = np.zeros(0, dtype=np.int64)
        self.last_seq: int | None = None
        self.events = 0
        #: CPU seconds spent inside the compiled loop (the rest is Arrow conversion and I/O).
        self.replay_seconds = 0.0
        rows = max(params.buffer_rows, 16)
        self._top_rows_cap = rows
        top_i, top_f, top_b = self._top_buffers()
        self.buf = _Buffers(
            top_i=top_i,
            top_f=top_f,
            top_b=top_b,
            queue=np.zeros((rows, rp.N_Q_FIELDS), dtype=np.int64),
            ahead=np.zeros((max(rows, 4 * params.max_ahead + 1), rp.N_A_FIELDS), dtype=np.int64),
            findings=np.zeros((rows, rp.N_F_FIELDS), dtype=np.int64),
        )
        self.pieces = _Pieces()
        self._schema_top = top_schema(params.depth_bps)
        self._schema_queue = queue_schema()
        self._schema_findings = findings_schema()
        self._symbol = pa.array([params.symbol], pa.string())
        #: The symbol repeated for a whole top buffer: top batches slice it (no copy).
        self._symbols = self._symbol.take(pa.array(np.zeros(rows, dtype=np.int32)))
        self._units = (
            *_grid_fraction(params.tick_size),
            *_grid_fraction(params.lot_size),
        )

    def _top_buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fresh ``top`` output buffers (the loop fills them column by column)."""
        rows = self._top_rows_cap
        k = len(self.params.depth_bps)
        return (
            np.empty((rp.N_TI_FIELDS, rows), dtype=np.int64),
            np.empty((rp.n_top_float_fields(k), rows), dtype=np.float64),
            np.empty((rp.N_TB_FIELDS, rows), dtype=np.uint8),
        )

    # -- ids -------------------------------------------------------------------------

    def _slots_for(self, order_ids: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
        """Slot of every row's order; the ids and slots known during this chunk."""
        encoded = pc.dictionary_encode(order_ids)
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        uniques = _strings(encoded.dictionary)
        pos = _codes(uniques, self.open_ids)
        known = pos >= 0
        uniq_slot = np.empty(len(uniques), dtype=np.int64)
        uniq_slot[known] = self.open_slots[pos[known]]
        fresh = self._fresh(int((~known).sum()))
        uniq_slot[~known] = fresh
        lookup_ids = pa.concat_arrays([self.open_ids, uniques.filter(pa.array(~known))])
        lookup_slots = np.concatenate([self.open_slots, fresh])
        return uniq_slot[codes], lookup_ids, lookup_slots

    def _fresh(self, n: int) -> np.ndarray:
        if n > len(self.free):
            self._grow(n - len(self.free))
        fresh = self.free[len(self.free) - n :][::-1].copy()
        self.free = self.free[: len(self.free) - n]
        return fresh

    def _slots_for_keys(
        self, keys: np.ndarray, order_ids: pa.Array
    ) -> tuple[np.ndarray, pa.Array, np.ndarray, np.ndarray]:
        """As :meth:`_slots_for`, from :data:`ORDER_KEY`: integer work, no string hashing.

        Keys above the highest seen are new orders; their ids are taken from their first
        rows (needed only to name orders in the outputs). Other keys are looked up among
        the open orders' sorted keys; one not open (an order already gone) gets a fresh
        slot, dead, as an unknown id does. Also returns the keys aligned with the lookup.
        """
        base = self.max_key + 1
        row_slot = np.empty(len(keys), dtype=np.int64)
        new = keys >= base
        hi = int(keys.max()) if len(keys) else self.max_key
        size = max(hi - self.max_key, 0)
        new_rows = np.flatnonzero(new)
        if size <= 2 * len(keys) + 1024:  # dense, as the ingest writes them: no sort
            first = rp.first_rows(keys, base, size)
            present = first >= 0
            new_keys = np.arange(base, base + size, dtype=np.int64)[present]
            first = first[present]
            compact = np.cumsum(present) - 1
            new_index = compact[keys[new_rows] - base]
        else:
            new_keys, at, new_index = np.unique(
                keys[new_rows], return_index=True, return_inverse=True
            )
            first = new_rows[at]
        new_slots = self._fresh(len(new_keys))
        row_slot[new_rows] = new_slots[new_index]
        old_rows = np.flatnonzero(~new)
        lookup_keys = [self.open_keys, new_keys]
        lookup_ids = [self.open_ids, order_ids.take(pa.array(first))]
        lookup_slots = [self.open_slots, new_slots]
        if len(old_rows):
            old_keys = keys[old_rows]
            pos = np.searchsorted(self.open_keys, old_keys)
            found = pos < len(self.open_keys)
            found[found] = self.open_keys[pos[found]] == old_keys[found]
            row_slot[old_rows[found]] = self.open_slots[pos[found]]
            if not found.all():
                gone_rows = old_rows[~found]
                gone_keys, at, gone_index = np.unique(
                    keys[gone_rows], return_index=True, return_inverse=True
                )
                gone_slots = self._fresh(len(gone_keys))
                row_slot[gone_rows] = gone_slots[gone_index]
                lookup_keys.append(gone_keys)
                lookup_ids.append(order_ids.take(pa.array(gone_rows[at])))
                lookup_slots.append(gone_slots)
        all_keys = np.concatenate(lookup_keys)
        all_ids = pa.concat_arrays(lookup_ids)
        all_slots = np.concatenate(lookup_slots)
        if len(lookup_keys) > 2:  # keys of gone orders sit below the new ones: re-sort
            order = np.argsort(all_keys, kind="stable")
            all_keys, all_slots = all_keys[order], all_slots[order]
            all_ids = all_ids.take(pa.array(order))
        self.max_key = max(self.max_key, hi)
        return row_slot, all_ids, all_slots, all_keys

    def _order_keys(self, batch: pa.RecordBatch, source: str) -> np.ndarray:
        if ORDER_KEY not in batch.schema.names:
            raise InputError(
                f"{source}: column {ORDER_KEY!r} of symbol {self.params.symbol} is missing from "
                "a later chunk though the first had it; re-run mmsurv ingest for the day"
            )
        column = batch.column(ORDER_KEY)
        if column.null_count:
            raise InputError(
                f"{source}: column {ORDER_KEY!r} of symbol {self.params.symbol} must not be "
                f"null, found {column.null_count} null(s) (rows without an order_id); "
                "re-run mmsurv ingest for the day"
            )
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)

    def _grow(self, extra: int) -> None:
        old = self.slots.shape[0]
        new_cap = max(old * 2, old + extra)
        self.slots = np.concatenate([self.slots, rp.new_slots(new_cap - old)])
        added = np.arange(new_cap - 1, old - 1, -1, dtype=np.int64)
        self.free = np.concatenate([added, self.free])

    def _retire(
        self, lookup_ids: pa.Array, lookup_slots: np.ndarray, lookup_keys: np.ndarray | None = None
    ) -> None:
        """Keep only the live orders' ids (and keys); free the slots of the rest."""
        live = self.slots[lookup_slots, rp.S_STATE] != rp.DEAD
        self.open_ids = lookup_ids.filter(pa.array(live))
        self.open_slots = lookup_slots[live]
        if lookup_keys is not None:
            self.open_keys = lookup_keys[live]
        self.free = np.concatenate([self.free, lookup_slots[~live]])

    def _account_codes(self, accounts: pa.Array) -> np.ndarray:
        encoded = (
            accounts if isinstance(accounts, pa.DictionaryArray) else pc.dictionary_encode(accounts)
        )
        uniques = _strings(encoded.dictionary)
        pos = _codes(uniques, self.accounts)
        new = pos < 0
        if new.any():
            added = uniques.filter(pa.array(new))
            pos[new] = np.arange(len(self.accounts), len(self.accounts) + len(added))
            self.accounts = pa.concat_arrays([self.accounts, added])
            amm = pc.is_in(added, value_set=pa.array(sorted(self.params.amm_accounts), pa.string()))
            self.acct_amm = np.concatenate(
                [self.acct_amm, np.asarray(amm.to_numpy(zero_copy_only=False), dtype=np.int64)]
            )
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return pos[codes]

    # -- chunks ----------------------------------------------------------------------

    def feed(self, batch: pa.RecordBatch | pa.Table, source: str = "orders") -> None:
        """Apply the next chunk of the journal (rows sorted by seq, continuing the last)."""
        if isinstance(batch, pa.Table):
            batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
        if batch is None or batch.num_rows == 0:
            return
        p = self.params
        seq = np.asarray(batch.column(Orders.seq).to_numpy(zero_copy_only=False), dtype=np.int64)
        self._check_sorted(seq, source)
        times = np.asarray(
            batch.column(Orders.event_time)
            .cast(_NS)
            .cast(pa.int64())
            .to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        e_type = _codes(batch.column(Orders.event_type), _EVENT_TYPES)
        e_side = _codes(batch.column(Orders.side), _SIDES)
        e_liq = _codes(batch.column(Orders.liquidity), _LIQUIDITY)
        is_market = _codes(batch.column(Orders.order_type), pa.array([OrderType.MARKET.value])) == 0
        tif_rests = (
            _codes(
                batch.column(Orders.time_in_force),
                pa.array([TimeInForce.GTC.value, TimeInForce.POST_ONLY.value]),
            )
            >= 0
        )
        price = _floats(batch.column(Orders.price))
        fill_price = _floats(batch.column(Orders.fill_price))
        qty = _floats(batch.column(Orders.quantity))
        leaves = _floats(batch.column(Orders.leaves_quantity))
        fill_qty = _floats(batch.column(Orders.fill_quantity))
        n = len(seq)
        e_tick, e_fill_tick, e_qty, e_leaves, e_fill_qty, e_flags, e_level = (
            np.empty(n, dtype=np.int64) for _ in range(7)
        )
        off_rows, missing = rp.prepare(
            price,
            fill_price,
            qty,
            leaves,
            fill_qty,
            is_market,
            tif_rests,
            p.tick_size,
            p.lot_size,
            self.ticks,
            self.dense,
            e_tick,
            e_fill_tick,
            e_qty,
            e_leaves,
            e_fill_qty,
            e_flags,
            e_level,
        )
        if missing:
            raise InputError(
                f"{source}: price level table misses a price of symbol {p.symbol}; "
                "build it from every price of the journal (price_levels)"
            )
        order_ids = _strings(batch.column(Orders.order_id))
        accounts = batch.column(Orders.account_id)
        if not isinstance(accounts, pa.DictionaryArray):
            accounts = _strings(accounts)
        if self.key_mode is None:
            self.key_mode = ORDER_KEY in batch.schema.names
        lookup_keys: np.ndarray | None = None
        if self.key_mode:
            keys = self._order_keys(batch, source)
            e_slot, lookup_ids, lookup_slots, lookup_keys = self._slots_for_keys(keys, order_ids)
        else:
            e_slot, lookup_ids, lookup_slots = self._slots_for(order_ids)
        e_acct = self._account_codes(accounts)
        if off_rows:  # rare: the masks per column, as the findings name the columns
            self._off_grid_findings(
                batch,
                seq,
                times,
                to_counts(price, p.tick_size)[1],
                to_counts(fill_price, p.tick_size)[1],
                to_counts(qty, p.lot_size)[1],
                to_counts(leaves, p.lot_size)[1],
                to_counts(fill_qty, p.lot_size)[1],
            )

        ctx = _Chunk(batch, seq, times, order_ids, accounts, lookup_ids, lookup_slots)
        start = 0
        while start < n:
            began = time.process_time()
            start, nt, nq, na, nf = rp.replay(
                start,
                e_type,
                e_side,
                e_flags,
                e_liq,
                e_slot,
                e_acct,
                e_level,
                e_tick,
                e_fill_tick,
                e_qty,
                e_leaves,
                e_fill_qty,
                seq,
                times,
                self.acct_amm,
                self.ticks,
                self.bps,
                p.max_ahead,
                *self._units,
                self.slots,
                self.levels,
                self.sc,
                self.dep,
                self.prev,
                self.buf.top_i,
                self.buf.top_f,
                self.buf.top_b,
                self.buf.queue,
                self.buf.ahead,
                self.buf.findings,
            )
            self.replay_seconds += time.process_time() - began
            self._flush(ctx, nt, nq, na, nf)
        self._retire(lookup_ids, lookup_slots, lookup_keys)
        self.events += n

    def _check_sorted(self, seq: np.ndarray, source: str) -> None:
        bad = np.flatnonzero(np.diff(seq) <= 0)
        if self.last_seq is not None and len(seq) and seq[0] <= self.last_seq:
            found = f"seq {seq[0]} after {self.last_seq}"
        elif bad.size:
            found = f"seq {seq[bad[0] + 1]} after {seq[bad[0]]}"
        else:
            if len(seq):
                self.last_seq = int(seq[-1])
            return
        raise InputError(
            f"{source}: column 'seq' of symbol {self.params.symbol} must be strictly increasing, "
            f"found {found}; curated orders are sorted by seq: re-run mmsurv ingest"
        )

    # -- outputs ---------------------------------------------------------------------

    def _flush(self, ctx: _Chunk, nt: int, nq: int, na: int, nf: int) -> None:
        # Arrow wraps contiguous NumPy memory without copying, and the buffers are
        # overwritten by the next call of the loop: queue and findings rows are copied;
        # the top batch wraps the top buffers themselves, which are then replaced by
        # fresh ones (the batch keeps the old ones alive as long as it lives), unless
        # the sink is done with the batch when it returns.
        if nt:
            top = self._top_batch(nt)
            if not self.reuse_top_buffers:
                self.buf.top_i, self.buf.top_f, self.buf.top_b = self._top_buffers()
            self.top_rows += nt
            if self.top_sink is not None:
                self.top_sink(top)
            else:
                self.pieces.top.append(top)
        if nq:
            queue = self._queue_batch(ctx, self.buf.queue[:nq].copy(), self.buf.ahead[:na].copy())
            self.queue_rows += nq
            if self.queue_sink is not None:
                self.queue_sink(queue)
            else:
                self.pieces.queue.append(queue)
        if nf:
            self.pieces.findings.append(self._findings_batch(ctx, self.buf.findings[:nf].copy()))

    def _price(self, ticks: np.ndarray) -> pa.Array:
        missing = ticks == rp.NA
        if not missing.any():
            return pa.array(to_units(ticks, self.params.tick_size), pa.float64())
        values = to_units(np.where(missing, 0, ticks), self.params.tick_size)
        return pa.array(values, pa.float64(), mask=missing)

    def _qty(self, lots: np.ndarray) -> pa.Array:
        missing = lots == rp.NA
        if not missing.any():
            return pa.array(to_units(lots, self.params.lot_size), pa.float64())
        values = to_units(np.where(missing, 0, lots), self.params.lot_size)
        return pa.array(values, pa.float64(), mask=missing)

    def _symbol_col(self, n: int) -> pa.Array:
        if n <= len(self._symbols):
            return self._symbols.slice(0, n)
        return self._symbol.take(pa.array(np.zeros(n, dtype=np.int32)))

    def _top_batch(self, nt: int) -> pa.RecordBatch:
        """The first ``nt`` rows of the top buffers as a batch: the loop wrote the final
        columns, so Arrow wraps them (no copy) and only null masks are made, when a
        row lacks a price (an empty side: rare)."""
        p = self.params
        k = len(p.depth_bps)
        ints = self.buf.top_i[:, :nt]
        floats = self.buf.top_f[:, :nt]
        present = self.buf.top_b[rp.TB_PRESENT, :nt]
        no_bid = no_ask = not_both = no_ammb = no_amma = None
        if int(present.min()) != rp.P_ALL:
            no_bid = (present & rp.P_BID) == 0
            no_ask = (present & rp.P_ASK) == 0
            not_both = no_bid | no_ask
            no_ammb = (present & rp.P_AMMB) == 0
            no_amma = (present & rp.P_AMMA) == 0

        def col(values: np.ndarray, mask: np.ndarray | None, kind: pa.DataType) -> pa.Array:
            if mask is None or not mask.any():
                return pa.array(values, kind)
            return pa.array(values, kind, mask=mask)

        f64 = pa.float64()
        i64 = pa.int64()
        cols: dict[str, pa.Array] = {
            Top.symbol: self._symbol_col(nt),
            Top.seq: pa.array(ints[rp.TI_SEQ], i64),
            Top.event_time: pa.array(ints[rp.TI_TIME], _NS),
            Top.best_bid: col(floats[rp.TF_BID], no_bid, f64),
            Top.best_bid_qty: pa.array(floats[rp.TF_BIDQ], f64),
            Top.best_bid_orders: pa.array(ints[rp.TI_BIDN], i64),
            Top.best_ask: col(floats[rp.TF_ASK], no_ask, f64),
            Top.best_ask_qty: pa.array(floats[rp.TF_ASKQ], f64),
            Top.best_ask_orders: pa.array(ints[rp.TI_ASKN], i64),
            Top.mid: col(floats[rp.TF_MID], not_both, f64),
            Top.spread: col(floats[rp.TF_SPREAD], not_both, f64),
            Top.spread_ticks: col(ints[rp.TI_SPREAD], not_both, i64),
            Top.spread_bps: col(floats[rp.TF_BPS], not_both, f64),
            Top.amm_bid_share: col(floats[rp.TF_SHARE_B], no_bid, f64),
            Top.amm_ask_share: col(floats[rp.TF_SHARE_A], no_ask, f64),
            Top.amm_alone_bid: pa.array(self.buf.top_b[rp.TB_ALONE_B, :nt].view(np.bool_)),
            Top.amm_alone_ask: pa.array(self.buf.top_b[rp.TB_ALONE_A, :nt].view(np.bool_)),
            Top.amm_best_bid: col(floats[rp.TF_AMMB], no_ammb, f64),
            Top.amm_best_bid_qty: pa.array(floats[rp.TF_AMMBQ], f64),
            Top.amm_best_ask: col(floats[rp.TF_AMMA], no_amma, f64),
            Top.amm_best_ask_qty: pa.array(floats[rp.TF_AMMAQ], f64),
        }
        for j, bps in enumerate(p.depth_bps):
            cols[depth_column("bid", bps)] = col(floats[rp.TF_DEPTH + j], not_both, f64)
            cols[depth_column("ask", bps)] = col(floats[rp.TF_DEPTH + k + j], not_both, f64)
        return pa.RecordBatch.from_pydict(cols, schema=self._schema_top)

    def _ids_of_slots(self, ctx: _Chunk, slots: np.ndarray) -> pa.Array:
        return ctx.lookup_ids.take(pa.array(ctx.position_of_slot(slots)))

    def _queue_batch(self, ctx: _Chunk, rows: np.ndarray, ahead: np.ndarray) -> pa.RecordBatch:
        ev = rows[:, rp.Q_EV]
        take = pa.array(ev)
        offsets = pa.array(
            np.append(rows[:, rp.Q_AHSTART], len(ahead)).astype(np.int32), pa.int32()
        )

        def lists(values: pa.Array) -> pa.Array:
            return pa.ListArray.from_arrays(offsets, values)

        cols: dict[str, pa.Array] = {
            Queue.symbol: self._symbol_col(len(rows)),
            Queue.seq: pa.array(ctx.seq[ev]),
            Queue.event_time: pa.array(ctx.times[ev], _NS),
            Queue.trade_id: _strings(ctx.batch.column(Orders.trade_id)).take(take),
            Queue.order_id: ctx.order_ids.take(take),
            Queue.account_id: self.accounts.take(pa.array(rows[:, rp.Q_ACCT])),
            Queue.is_amm: pa.array(rows[:, rp.Q_AMM] == 1),
            Queue.side: _SIDES.take(pa.array(rows[:, rp.Q_SIDE])),
            Queue.price: self._price(rows[:, rp.Q_TICK]),
            Queue.fill_price: ctx.batch.column(Orders.fill_price).take(take),
            Queue.fill_quantity: ctx.batch.column(Orders.fill_quantity).take(take),
            Queue.leaves_before: self._qty(rows[:, rp.Q_LEAVES]),
            Queue.joined_seq: pa.array(rows[:, rp.Q_JSEQ]),
            Queue.joined_time: pa.array(rows[:, rp.Q_JTIME], _NS),
            Queue.at_best: pa.array(rows[:, rp.Q_ATBEST] == 1),
            Queue.queue_position: pa.array(rows[:, rp.Q_POS]),
            Queue.level_orders: pa.array(rows[:, rp.Q_LVLN]),
            Queue.level_quantity: self._qty(rows[:, rp.Q_LVLQ]),
            Queue.ahead_quantity: self._qty(rows[:, rp.Q_AHEADQ]),
            Queue.ahead_order_ids: lists(self._ids_of_slots(ctx, ahead[:, rp.A_SLOT])),
            Queue.ahead_account_ids: lists(self.accounts.take(pa.array(ahead[:, rp.A_ACCT]))),
            Queue.ahead_quantities: lists(self._qty(ahead[:, rp.A_QTY])),
            Queue.ahead_joined_seqs: lists(pa.array(ahead[:, rp.A_JSEQ])),
            Queue.ahead_joined_times: lists(pa.array(ahead[:, rp.A_JTIME], _NS)),
            Queue.ahead_amm: lists(pa.array(ahead[:, rp.A_AMM] == 1)),
            Queue.ahead_truncated: pa.array(rows[:, rp.Q_TRUNC] == 1),
        }
        return pa.RecordBatch.from_pydict(cols, schema=self._schema_queue)

    def _findings_batch(self, ctx: _Chunk, rows: np.ndarray) -> pa.RecordBatch:
        ev = rows[:, rp.FD_EV]
        kinds = [_KINDS[int(c)] for c in rows[:, rp.FD_KIND]]
        return self._finding_rows(
            ctx.batch,
            ctx.seq,
            ctx.times,
            ev,
            kinds,
            price=self._price(rows[:, rp.FD_PRICE]),
            expected_price=self._price(rows[:, rp.FD_EXPPRICE]),
            quantity=self._qty(rows[:, rp.FD_QTY]),
            expected_quantity=self._qty(rows[:, rp.FD_EXPQTY]),
        )

    def _finding_rows(
        self,
        batch: pa.RecordBatch,
        seq: np.ndarray,
        times: np.ndarray,
        ev: np.ndarray,
        kinds: Sequence[FindingKind],
        *,
        price: pa.Array,
        expected_price: pa.Array,
        quantity: pa.Array,
        expected_quantity: pa.Array,
        details: Sequence[str] | None = None,
    ) -> pa.RecordBatch:
        take = pa.array(ev)
        event_types = _strings(batch.column(Orders.event_type)).take(take)
        order_ids = _strings(batch.column(Orders.order_id)).take(take)
        if details is None:
            details = [
                _detail(kind, et, oid, pr, ep, q, eq)
                for kind, et, oid, pr, ep, q, eq in zip(
                    kinds,
                    event_types.to_pylist(),
                    order_ids.to_pylist(),
                    price.to_pylist(),
                    expected_price.to_pylist(),
                    quantity.to_pylist(),
                    expected_quantity.to_pylist(),
                    strict=True,
                )
            ]
        cols: dict[str, pa.Array] = {
            Findings.symbol: self._symbol_col(len(ev)),
            Findings.seq: pa.array(seq[ev]),
            Findings.event_time: pa.array(times[ev], _NS),
            Findings.kind: pa.array([k.value for k in kinds], pa.string()),
            Findings.event_type: event_types,
            Findings.order_id: order_ids,
            Findings.account_id: _strings(batch.column(Orders.account_id)).take(take),
            Findings.trade_id: _strings(batch.column(Orders.trade_id)).take(take),
            Findings.side: _strings(batch.column(Orders.side)).take(take),
            Findings.price: price,
            Findings.expected_price: expected_price,
            Findings.quantity: quantity,
            Findings.expected_quantity: expected_quantity,
            Findings.detail: pa.array(list(details), pa.string()),
        }
        return pa.RecordBatch.from_pydict(cols, schema=self._schema_findings)

    def _off_grid_findings(
        self,
        batch: pa.RecordBatch,
        seq: np.ndarray,
        times: np.ndarray,
        off_p: np.ndarray,
        off_fp: np.ndarray,
        off_q: np.ndarray,
        off_l: np.ndarray,
        off_fq: np.ndarray,
    ) -> None:
        p = self.params
        masks = {
            Orders.price: off_p,
            Orders.fill_price: off_fp,
            Orders.quantity: off_q,
            Orders.leaves_quantity: off_l,
            Orders.fill_quantity: off_fq,
        }
        ev = np.flatnonzero(off_p | off_fp | off_q | off_l | off_fq)
        take = pa.array(ev)
        prices = np.where(
            off_fp[ev],
            _floats(batch.column(Orders.fill_price))[ev],
            _floats(batch.column(Orders.price))[ev],
        )
        quantities = np.where(
            off_fq[ev],
            _floats(batch.column(Orders.fill_quantity))[ev],
            np.where(
                off_l[ev],
                _floats(batch.column(Orders.leaves_quantity))[ev],
                _floats(batch.column(Orders.quantity))[ev],
            ),
        )
        details = []
        for i in ev:
            bad = [name for name, mask in masks.items() if mask[i]]
            details.append(
                f"column(s) {', '.join(bad)} off the instrument grid (tick_size {p.tick_size}, "
                f"lot_size {p.lot_size}); the replay rounded to the nearest multiple"
            )
        del take
        nan_p = np.isnan(prices)
        nan_q = np.isnan(quantities)
        price_arr = pa.array(prices, pa.float64(), mask=nan_p)
        qty_arr = pa.array(quantities, pa.float64(), mask=nan_q)
        exp_price = pa.array(
            to_units(to_counts(np.where(nan_p, 0.0, prices), p.tick_size)[0], p.tick_size),
            pa.float64(),
            mask=nan_p,
        )
        exp_qty = pa.array(
            to_units(to_counts(np.where(nan_q, 0.0, quantities), p.lot_size)[0], p.lot_size),
            pa.float64(),
            mask=nan_q,
        )
        self.pieces.findings.append(
            self._finding_rows(
                batch,
                seq,
                times,
                ev,
                [FindingKind.OFF_GRID] * len(ev),
                price=price_arr,
                expected_price=exp_price,
                quantity=qty_arr,
                expected_quantity=exp_qty,
                details=details,
            )
        )

    # -- days --------------------------------------------------------------------------

    def seed(self, opening: pa.Table) -> None:
        """Start from the previous day's resting orders (an ``open`` table), before any feed.

        The orders join their levels in the table's order, which is their priority.
        Their prices must be among the level ticks given to the constructor.

        Raises
        ------
        InputError
            If events were fed already, or a price is not a known level.
        """
        if self.events:
            raise InputError(
                f"symbol {self.params.symbol}: the opening book must be seeded before the "
                "first journal chunk is fed"
            )
        if opening.num_rows == 0:
            return
        # carried orders have no key in this day's numbering: match them by id string
        self.key_mode = False
        p = self.params
        ids = _strings(opening.column(OpenOrders.order_id))
        slots, lookup_ids, lookup_slots = self._slots_for(ids)
        accts = self._account_codes(_strings(opening.column(OpenOrders.account_id)))
        sides = _codes(opening.column(OpenOrders.side), _SIDES)
        ticks = to_counts(_floats(opening.column(OpenOrders.price)), p.tick_size)[0]
        levels = np.searchsorted(self.ticks, ticks)
        if (levels >= len(self.ticks)).any() or (
            self.ticks[np.minimum(levels, len(self.ticks) - 1)] != ticks
        ).any():
            raise InputError(
                f"symbol {p.symbol}: an opening order's price is not among the level ticks; "
                "build them from the journal's and the opening book's prices"
            )
        leaves = to_counts(_floats(opening.column(OpenOrders.leaves_quantity)), p.lot_size)[0]
        qty = to_counts(_floats(opening.column(OpenOrders.quantity)), p.lot_size)[0]
        jseq = np.asarray(opening.column(OpenOrders.joined_seq).to_numpy(), dtype=np.int64)
        jtime = np.asarray(
            opening.column(OpenOrders.joined_time).cast(_NS).cast(pa.int64()).to_numpy(),
            dtype=np.int64,
        )
        s = self.slots
        for k in range(opening.num_rows):  # once a day, per open order: not the hot path
            o = int(slots[k])
            s[o, rp.S_FLAGS] = rp.FLAG_RESTS
            s[o, rp.S_TICK] = ticks[k]
            s[o, rp.S_LEAVES] = leaves[k]
            s[o, rp.S_QTY] = qty[k]
            s[o, rp.S_ACCT] = accts[k]
            s[o, rp.S_AMM] = self.acct_amm[accts[k]]
            s[o, rp.S_JSEQ] = jseq[k]
            s[o, rp.S_JTIME] = jtime[k]
            rp._append(s, self.levels, self.sc, self.dep, o, int(sides[k]), int(levels[k]))
        rp._move_boundaries(self.levels, self.sc, self.dep, self.ticks, self.bps)
        metadata = opening.schema.metadata or {}
        if self._crossed() and metadata.get(CROSSED_REPORTED) == b"1":
            self.sc[rp.SC_CROSSED] = 1  # reported on the day it crossed: not again
        self._retire(lookup_ids, lookup_slots)

    def open_orders(self) -> pa.Table:
        """The orders resting now, in priority order, as an ``open`` table.

        An order still in flight has its instruction ended first (the journal ended):
        a GTC/POST_ONLY remainder rests, anything else is dropped. ``joined_seq`` is
        shifted into the next day's numbering (see :class:`OpenOrders`).
        """
        reported = bool(self.sc[rp.SC_CROSSED])
        rp._settle(self.slots, self.levels, self.sc, self.dep)
        reported = reported and self._crossed()
        order: list[int] = []
        for side in (0, 1):
            filled = np.flatnonzero(self.levels[side, :, rp.L_CNT] > 0)
            for idx in filled[::-1] if side == 0 else filled:  # best first
                cur = int(self.levels[side, idx, rp.L_HEAD])
                while cur >= 0:
                    order.append(cur)
                    cur = int(self.slots[cur, rp.S_NEXT])
        slots = np.asarray(order, dtype=np.int64)
        rows = self.slots[slots]
        pos = np.full(int(self.slots.shape[0]), -1, dtype=np.int64)
        pos[self.open_slots] = np.arange(len(self.open_slots))
        shift = (self.last_seq or 0) + 1
        p = self.params
        cols = {
            OpenOrders.symbol: self._symbol_col(len(slots)),
            OpenOrders.order_id: self.open_ids.take(pa.array(pos[slots])),
            OpenOrders.account_id: self.accounts.take(pa.array(rows[:, rp.S_ACCT])),
            OpenOrders.side: _SIDES.take(pa.array(rows[:, rp.S_SIDE])),
            OpenOrders.price: pa.array(to_units(rows[:, rp.S_TICK], p.tick_size)),
            OpenOrders.quantity: pa.array(to_units(rows[:, rp.S_QTY], p.lot_size)),
            OpenOrders.leaves_quantity: pa.array(to_units(rows[:, rp.S_LEAVES], p.lot_size)),
            OpenOrders.joined_seq: pa.array(rows[:, rp.S_JSEQ] - shift),
            OpenOrders.joined_time: pa.array(rows[:, rp.S_JTIME], _NS),
        }
        schema = open_orders_schema()
        schema = schema.with_metadata(
            {**(schema.metadata or {}), CROSSED_REPORTED: b"1" if reported else b"0"}
        )
        return pa.Table.from_pydict(cols, schema=schema)

    def _crossed(self) -> bool:
        bid, ask = self.sc[rp.SC_BEST], self.sc[rp.SC_BEST + 1]
        return bool(bid >= 0 and ask >= 0 and self.ticks[bid] >= self.ticks[ask])

    def finish(self) -> SymbolBook:
        """The outputs of everything fed so far (the book state is kept)."""
        top = _table(self.pieces.top, self._schema_top)
        queue = _table(self.pieces.queue, queue_schema())
        findings = _table(self.pieces.findings, findings_schema())
        if findings.num_rows:
            # off-grid findings are made before the loop's: order by seq, then by kind
            # position among the loop's findings of the same row is kept (stable sort)
            seq = np.asarray(findings.column(Findings.seq).to_numpy(), dtype=np.int64)
            is_loop = np.asarray(
                pc.not_equal(findings.column(Findings.kind), FindingKind.OFF_GRID.value).to_numpy(
                    zero_copy_only=False
                ),
                dtype=np.int64,
            )
            order = np.lexsort((np.arange(len(seq)), is_loop, seq))
            findings = findings.take(pa.array(order))
        return SymbolBook(
            top=top,
            queue=queue,
            findings=findings,
            events=self.events,
            top_rows=self.top_rows,
            queue_rows=self.queue_rows,
            replay_seconds=self.replay_seconds,
        )


@dataclass
class _Chunk:
    """One chunk's columns and the id lookup valid while it is replayed."""

    batch: pa.RecordBatch
    seq: np.ndarray
    times: np.ndarray
    order_ids: pa.Array
    accounts: pa.Array
    lookup_ids: pa.Array
    lookup_slots: np.ndarray
    _pos: np.ndarray | None = None

    def position_of_slot(self, slots: np.ndarray) -> np.ndarray:
        if self._pos is None:
            size = int(self.lookup_slots.max()) + 1 if len(self.lookup_slots) else 1
            pos = np.full(size, -1, dtype=np.int64)
            pos[self.lookup_slots] = np.arange(len(self.lookup_slots))
            self._pos = pos
        return self._pos[slots]


def _table(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    if not batches:
        return schema.empty_table()
    return pa.Table.from_batches(batches, schema=schema).combine_chunks()


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:g}"


def _detail(
    kind: FindingKind,
    event_type: str,
    order_id: str,
    price: float | None,
    expected_price: float | None,
    quantity: float | None,
    expected_quantity: float | None,
) -> str:
    if kind is FindingKind.MAKER_FILL_NOT_AT_BEST:
        return (
            f"MAKER fill of order {order_id} at {_fmt(price)} while the best price on its side "
            f"was {_fmt(expected_price)}"
        )
    if kind is FindingKind.TAKER_FILL_SKIPPED_LEVEL:
        return (
            f"TAKER fill of order {order_id} at {_fmt(price)} while a better price, "
            f"{_fmt(expected_price)}, was resting on the opposite side"
        )
    if kind is FindingKind.ORDER_NOT_IN_BOOK:
        return f"{event_type} on order {order_id}, which is not resting in the book; event ignored"
    if kind is FindingKind.DUPLICATE_NEW:
        return f"NEW for order {order_id}, which is still open; the old order was replaced"
    if kind is FindingKind.LEAVES_MISMATCH:
        return (
            f"{event_type} of order {order_id} leaves {_fmt(quantity)} open, the replay expected "
            f"{_fmt(expected_quantity)}; the journal's value was used"
        )
    if kind is FindingKind.CROSSED_BOOK:
        return (
            f"after {event_type} of order {order_id} the best bid {_fmt(price)} is at or above "
            f"the best ask {_fmt(expected_price)}"
        )
    return f"{kind.value} on order {order_id}"


def replay_table(
    orders: pa.Table, params: ReplayParams, *, chunk_rows: int = 262_144
) -> SymbolBook:
    """Replay a whole journal table of one symbol (sorted by seq) in chunks.

    Orders are keyed by :data:`ORDER_KEY` when the table has it, else by hashing ids.
    """
    ticks = price_levels(lambda: [orders.column(Orders.price)], params.tick_size)
    replayer = BookReplayer(params, ticks)
    columns = [*REPLAY_COLUMNS, *([ORDER_KEY] if ORDER_KEY in orders.column_names else [])]
    for batch in orders.select(columns).to_batches(max_chunksize=chunk_rows):
        replayer.feed(batch)
    return replayer.finish()
