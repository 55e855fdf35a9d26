"""Writing the curated lake and the quarantine, whole days at a time.

Each dataset's day folder is staged with :func:`storage.replace_partition` and all
of them are swapped in only after every file is written: a failure part-way (a
full disk, a crash) leaves the previous partitions as they were, and a re-ingest
replaces a day with the same bytes (the Parquet writer's settings are fixed and
rows are sorted by a total order).

Layout (agreed with every later stage):

- ``curated/orders`` and ``curated/trades``: one partition per symbol, every symbol
  with orders having both; all contract columns present (``gateway_time`` null
  when the venue omits it, ``origin`` ``CLIENT`` when absent or null) followed by
  the venue's extra columns; orders sorted by seq, trades by (event_time, trade_id).
  Orders partitions end with the lake-only column ``order_key`` (:data:`ORDER_KEY`).
- ``curated/reference_prices``: per symbol, sorted by event_time, when the venue sent them.
- ``curated/accounts`` and ``curated/instruments``: one partition each.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from surveillance import storage
from surveillance.contract import (
    DEFAULT_ORIGIN,
    Accounts,
    Dataset,
    Instruments,
    Orders,
    ReferencePrices,
    Trades,
)
from surveillance.storage import Lake
from surveillance.validate import FILE_COLUMN, ROW_COLUMN, to_contract_table
from surveillance.validate.reader import HIGH_CARDINALITY

#: Column of the quarantine datasets that lists each row's reason codes.
REASONS_COLUMN = "_reasons"
#: Lake-only extension column of curated orders (not in the venue contract): per
#: (date, symbol) partition, a dense int64 code 0..n-1 of ``order_id`` in order of first
#: appearance in seq order, so the book replay keys orders without hashing strings.
ORDER_KEY = "order_key"

#: Datasets written one partition per symbol, and each one's sort keys within a symbol.
PER_SYMBOL: dict[str, tuple[str, ...]] = {
    Orders.name: (Orders.seq,),
    Trades.name: (Trades.event_time, Trades.trade_id),
    ReferencePrices.name: (ReferencePrices.event_time,),
}
#: Datasets written as one partition for the day, and their sort keys.
WHOLE_DAY: dict[str, tuple[str, ...]] = {
    Accounts.name: (Accounts.account_id,),
    Instruments.name: (Instruments.symbol,),
}

#: Rows per row group of a curated file. A partition is converted and written one row
#: group at a time, so it is never in memory whole as Arrow (pyarrow's default size).
ROW_GROUP_ROWS = 1 << 20


@dataclass(frozen=True)
class Partition:
    """One curated file to write: its schema and its rows, one row group per piece."""

    schema: pa.Schema
    pieces: Iterable[pa.Table]


Part = Callable[[], Partition]
Writer = Callable[[Partition, str], str]


def parquet_options(dataset: str, schema: pa.Schema) -> dict[str, Any]:
    """Parquet settings of a curated file: dictionary pages only where they pay.

    Low-cardinality strings (symbols, accounts, enumerations) and prices and
    quantities (a few thousand ticks and lots) shrink to small dictionaries; ids,
    seq and times are (nearly) unique per row, where building a dictionary page
    costs time and is then dropped by the writer. Fixed by the schema alone, so a
    re-ingest writes the same bytes.
    """
    dictionary = [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) and (dataset, f.name) not in HIGH_CARDINALITY)
        or pa.types.is_floating(f.type)
    ]
    return {"use_dictionary": dictionary}


def _writer_of(dataset: str) -> Writer:
    def write(partition: Partition, uri: str) -> str:
        schema = partition.schema
        options = parquet_options(dataset, schema)
        with storage.table_writer(uri, schema, options=options) as out:
            for piece in partition.pieces:
                # Same columns; only a piece's nullability flags may differ from the file's.
                out.write_table(pa.Table.from_arrays(piece.columns, schema=schema))
        return uri

    return write


def to_arrow(
    frame: pd.DataFrame,
    dataset: type[Dataset],
    *,
    keep_bookkeeping: bool,
    rows: np.ndarray | None = None,
) -> pa.Table:
    """The rows in the contract's Arrow schema (the reader's :func:`to_contract_table`).

    On top of it: a null or absent ``origin`` becomes ``CLIENT``, the contract's
    default, so no later stage needs to know the default; the quarantine keeps the
    ``_file`` and ``_row`` bookkeeping columns (as string and int64). ``rows``
    selects rows by position without a pandas copy of them.
    """
    table = to_contract_table(frame, dataset, rows=rows)
    if dataset is Orders:
        index = table.schema.get_field_index(Orders.origin)
        origin = pc.fill_null(table.column(index), DEFAULT_ORIGIN.value)
        table = table.set_column(index, table.schema.field(index), origin)
    if keep_bookkeeping:
        at = slice(None) if rows is None else rows
        table = table.append_column(
            FILE_COLUMN, pa.array(frame[FILE_COLUMN].astype("str").to_numpy()[at], pa.string())
        )
        table = table.append_column(
            ROW_COLUMN, pa.array(frame[ROW_COLUMN].to_numpy(dtype="int64")[at], pa.int64())
        )
    return table


def _by_symbol(
    frame: pd.DataFrame,
    dataset: type[Dataset],
    keep: np.ndarray | None,
    keys: Sequence[str],
    order_codes: np.ndarray | None = None,
) -> dict[str, Part]:
    """One builder per symbol of its kept rows as a sorted contract Arrow table.

    A builder converts its symbol's rows when called, just before they are written, so the
    day is never held twice: only the partitions being written have an Arrow copy.
    Venue files already hold each symbol's rows in engine order, so the sort is
    skipped where the first key strictly increases (orders by seq); otherwise the
    symbol's rows are sorted by all ``keys`` (trades by event_time, then trade_id).
    Orders partitions get :data:`ORDER_KEY`, from ``order_codes`` (one integer per
    row of ``frame`` identifying its order, such as the validator's) when given.
    """
    codes, symbols = _codes(frame[Orders.symbol])
    if keep is not None:
        codes = np.where(keep, codes, -1)
    first = _sortable(frame[keys[0]])
    single = len(keys) == 1
    nulls = _null_masks(frame, dataset)

    def build(code: int) -> Partition:
        rows = np.flatnonzero(codes == code)
        values = first[rows]
        ordered = len(values) < 2 or bool(np.all(values[1:] > values[:-1]))
        if not ordered and not single:
            ordered = _ties_ordered(frame, keys, rows, values)
        if single and not ordered:
            # One numeric key: sort the row positions, so row-aligned arrays follow.
            rows = rows[np.argsort(values, kind="stable")]
            ordered = True
        if not ordered:
            # Several keys (trades by event_time, then trade_id): Arrow sorts the
            # symbol's rows whole (trades are a small part of a day).
            table = to_arrow(frame, dataset, keep_bookkeeping=False, rows=rows)
            table = table.sort_by([(k, "ascending") for k in keys])
            return Partition(table.schema, _slices(table))
        key = None
        if dataset is Orders:
            key = order_key_array(
                pa.array(frame[Orders.order_id], from_pandas=True).take(pa.array(rows))
                if order_codes is None
                else order_codes[rows]
            )
        schema = _partition_schema(frame, dataset, rows, nulls, key)
        return Partition(schema, _pieces(frame, dataset, rows, key))

    present = np.unique(codes[codes >= 0])
    return {str(symbols[code]): functools.partial(build, int(code)) for code in present}


def _ties_ordered(
    frame: pd.DataFrame, keys: Sequence[str], rows: np.ndarray, values: np.ndarray
) -> bool:
    """Whether ``rows`` are already sorted by ``keys`` (first key not decreasing).

    Venues export trades in time order, where trades of one match share a time:
    only those ties are compared on the second key (``trade_id``), so a sorted
    export is recognised without sorting it.
    """
    if len(keys) != 2 or not bool(np.all(values[1:] >= values[:-1])):
        return False
    if len(values) and values[0] == np.iinfo(np.int64).min:
        return False  # a null time (NaT): Arrow sorts nulls last, let it
    tied = np.flatnonzero(values[1:] == values[:-1])
    if not len(tied):
        return True
    second = pa.array(frame[keys[1]], from_pandas=True)
    before = second.take(pa.array(rows[tied]))
    after = second.take(pa.array(rows[tied + 1]))
    if before.null_count or after.null_count:
        return False
    return bool(pc.all(pc.greater(after, before)).as_py())


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, max(table.num_rows, 1), ROW_GROUP_ROWS):
        yield table.slice(start, ROW_GROUP_ROWS)


def _pieces(
    frame: pd.DataFrame, dataset: type[Dataset], rows: np.ndarray, key: pa.Array | None
) -> Iterator[pa.Table]:
    """The partition's rows converted one row group at a time."""
    for start in range(0, max(len(rows), 1), ROW_GROUP_ROWS):
        piece = to_arrow(
            frame, dataset, keep_bookkeeping=False, rows=rows[start : start + ROW_GROUP_ROWS]
        )
        if key is not None:
            piece = _append_key(piece, key.slice(start, ROW_GROUP_ROWS))
        yield piece


def _null_masks(frame: pd.DataFrame, dataset: type[Dataset]) -> dict[str, np.ndarray]:
    """Where the contract's not-nullable columns hold nulls, for those that do at all."""
    masks = {}
    for spec in dataset.columns():
        if spec.field.nullable or spec.name not in frame.columns:
            continue
        mask = np.asarray(frame[spec.name].isna().to_numpy(), dtype=bool)
        if mask.any():
            masks[spec.name] = mask
    return masks


def _partition_schema(
    frame: pd.DataFrame,
    dataset: type[Dataset],
    rows: np.ndarray,
    nulls: dict[str, np.ndarray],
    key: pa.Array | None,
) -> pa.Schema:
    """The schema :func:`to_arrow` gives the partition's rows taken whole.

    A required column is marked nullable when it holds a null in these rows (as
    :func:`surveillance.validate.to_contract_table` marks it), decided before any
    row group is converted.
    """
    schema = to_arrow(frame, dataset, keep_bookkeeping=False, rows=rows[:0]).schema
    for name, mask in nulls.items():
        if mask[rows].any():
            index = schema.get_field_index(name)
            schema = schema.set(index, schema.field(index).with_nullable(True))
    if key is not None:
        schema = _append_key(schema.empty_table(), key.slice(0, 0), key.null_count > 0).schema
    return schema


def order_key(codes: np.ndarray) -> np.ndarray:
    """Dense codes 0..n-1 of ``codes`` (int64) in order of first appearance.

    ``codes`` identify each row's order (any integers, one per distinct order id);
    rows come in seq order, so an order's key is its rank by its first event.
    """
    dense, _ = pd.factorize(np.asarray(codes, dtype=np.int64), sort=False)
    return np.asarray(dense, dtype=np.int64)


def order_key_array(ids: np.ndarray | pa.ChunkedArray) -> pa.Array:
    """:data:`ORDER_KEY` of one partition's rows (in seq order), as an Arrow int64 array.

    ``ids`` are the rows' integer order codes (negative where ``order_id`` is
    null), or the ``order_id`` strings themselves, which are then
    dictionary-encoded: that numbers distinct ids in order of first appearance too.
    A null ``order_id`` has a null key.
    """
    if isinstance(ids, pa.ChunkedArray):
        encoded = pc.dictionary_encode(ids).combine_chunks()
        return pc.cast(encoded.indices, pa.int64())
    missing = ids < 0
    values = np.zeros(len(ids), dtype=np.int64)
    values[~missing] = order_key(ids[~missing])
    return pa.array(values, pa.int64(), mask=missing if missing.any() else None)


def with_order_key(table: pa.Table, codes: np.ndarray | None = None) -> pa.Table:
    """``table`` (one symbol's orders, in seq order) with :data:`ORDER_KEY` appended.

    ``codes`` are the rows' order codes when already computed; otherwise the
    ``order_id`` column is encoded (see :func:`order_key_array`). A venue column of
    the same name is replaced: the key is the lake's.
    """
    column = table.column(Orders.order_id)
    return _append_key(table, order_key_array(column if codes is None else codes))


def _append_key(table: pa.Table, key: pa.Array, nullable: bool | None = None) -> pa.Table:
    if ORDER_KEY in table.column_names:
        table = table.drop_columns([ORDER_KEY])
    loose = key.null_count > 0 if nullable is None else nullable
    return table.append_column(pa.field(ORDER_KEY, pa.int64(), nullable=loose), key)


def _codes(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (-1 for null) of a string column, categorical or not, and the values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(dtype="int64"), list(column.cat.categories)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes.astype("int64"), list(uniques)


def _sortable(column: pd.Series) -> np.ndarray:
    """A numeric sort key as numpy (timestamps as int64 nanoseconds)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.array.asi8
    return column.to_numpy(dtype="float64", na_value=np.nan)


def write_curated(
    lake: Lake,
    day: dt.date,
    tables: Mapping[str, pd.DataFrame],
    keep: Mapping[str, np.ndarray],
    *,
    writer: Writer | None = None,
    order_codes: np.ndarray | None = None,
) -> dict[str, list[str]]:
    """Write the kept rows of every dataset into the curated lake, atomically per day.

    ``keep`` maps a dataset to a boolean mask of the rows that passed the gate (all
    rows when absent). ``order_codes`` (one integer per orders row identifying its
    order, as :func:`surveillance.validate.order_keys` gives) spares hashing the
    order ids again for :data:`ORDER_KEY`. Returns the partition URIs written, per dataset. Each
    partition is converted to Arrow just before it is written; all of them are
    swapped in only once every file of every dataset is written.
    """
    datasets: dict[str, type[Dataset]] = {
        d.name: d for d in (Orders, Trades, ReferencePrices, Accounts, Instruments)
    }
    symbols: set[str] = set()
    if Orders.name in tables:
        orders = tables[Orders.name]
        codes, names = _codes(orders[Orders.symbol])
        mask = keep.get(Orders.name)
        used = np.unique(codes[(codes >= 0) & (mask if mask is not None else True)])
        symbols = {str(names[c]) for c in used}
    written: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        jobs: list[tuple[Part, str, Writer]] = []
        for name, frame in tables.items():
            if name not in datasets:
                continue
            dataset = datasets[name]
            staging = stack.enter_context(storage.replace_partition(lake.curated(name, day)))
            write = writer or _writer_of(name)
            if name in WHOLE_DAY:
                order = [(k, "ascending") for k in WHOLE_DAY[name]]
                whole = functools.partial(_whole, frame, dataset, keep.get(name), order)
                jobs.append((whole, storage.join(staging, storage.PART_FILE), write))
                written[name] = [lake.curated(name, day)]
            else:
                ids = order_codes if name == Orders.name else None
                parts = _by_symbol(frame, dataset, keep.get(name), PER_SYMBOL[name], ids)
                # Every symbol with orders gets an orders and a trades partition, even empty.
                paired = symbols if name in (Orders.name, Trades.name) else set()
                empty = functools.partial(_whole, frame.iloc[:0], dataset, None, [])
                for symbol in sorted(paired | set(parts)):
                    folder = storage.symbol_partition(staging, symbol)
                    part_uri = storage.join(folder, storage.PART_FILE)
                    jobs.append((parts.get(symbol, empty), part_uri, write))
                written[name] = [lake.curated(name, day, s) for s in sorted(paired | set(parts))]
        _write_all(jobs)
    if ReferencePrices.name not in tables:
        # The venue sent none today: a partition from an earlier ingest of the day is stale.
        storage.remove(lake.curated(ReferencePrices.name, day))
    return written


def _whole(
    frame: pd.DataFrame,
    dataset: type[Dataset],
    keep: np.ndarray | None,
    order: list[tuple[str, str]],
) -> Partition:
    table = to_arrow(frame if keep is None else frame.loc[keep], dataset, keep_bookkeeping=False)
    table = table.sort_by(order) if order else table
    table = with_order_key(table) if dataset is Orders else table
    return Partition(table.schema, [table])


def write_quarantine(
    lake: Lake,
    day: dt.date,
    tables: Mapping[str, pd.DataFrame],
    masks: Mapping[str, np.ndarray],
    reasons: Mapping[str, pd.Series],
    *,
    writer: Callable[[pa.Table, str], str] | None = None,
) -> str:
    """Replace the day's quarantine with the quarantined rows of every dataset.

    Each dataset keeps its own columns plus ``_file``, ``_row`` (where the row came
    from) and ``_reasons`` (its reason codes), in the order the venue sent the rows.
    A day without quarantined rows gets an empty quarantine folder, so a re-ingest
    never leaves an earlier run's rows behind.
    """
    writer = writer or storage.write_table
    datasets = {d.name: d for d in (Orders, Trades, ReferencePrices, Accounts, Instruments)}
    uri = lake.quarantine(day)
    with storage.replace_partition(uri) as staging:
        for name in sorted(masks):
            mask = masks[name]
            if name not in tables or not mask.any():
                continue
            rows = tables[name].loc[mask]
            table = to_arrow(rows, datasets[name], keep_bookkeeping=True)
            row_reasons = reasons[name].reindex(np.flatnonzero(mask))
            table = table.append_column(
                REASONS_COLUMN, pa.array(row_reasons.tolist(), type=pa.list_(pa.string()))
            )
            writer(table, storage.join(storage.dataset_partition(staging, name), storage.PART_FILE))
    return uri


#: Partitions built and written at once: the machine's two cores. Each holds one row
#: group (:data:`ROW_GROUP_ROWS`) as Arrow at a time, so two cost little memory.
WRITE_THREADS = 2


def _write_all(jobs: Sequence[tuple[Part, str, Writer]]) -> None:
    """Build and write every partition, :data:`WRITE_THREADS` at a time, in job order.

    A partition's Arrow conversion (gathers) and its Parquet encoding (compression,
    dictionary pages) run in Arrow's C++ with the GIL released, so two partitions use
    two cores. The first failure is raised once every started job has ended; nothing
    is swapped in then (the caller's staging folders are dropped).
    """
    threads = max(1, min(WRITE_THREADS, os.cpu_count() or 1, len(jobs)))

    def run(job: tuple[Part, str, Writer]) -> str:
        part, uri, writer = job
        written = writer(part(), uri)
        # Arrow's allocator keeps freed pages for reuse; the row groups are not
        # reused, and holding them would raise the day's peak memory.
        pa.default_memory_pool().release_unused()
        return written

    if threads == 1:
        for job in jobs:
            run(job)
        return
    with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="curated") as pool:
        futures = [pool.submit(run, job) for job in jobs]
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()
