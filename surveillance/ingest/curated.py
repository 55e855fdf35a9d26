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
- ``curated/reference_prices``: per symbol, sorted by event_time, when the venue sent them.
- ``curated/accounts`` and ``curated/instruments``: one partition each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

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

#: Column of the quarantine datasets that lists each row's reason codes.
REASONS_COLUMN = "_reasons"

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

Writer = Callable[[pa.Table, str], str]


def to_arrow(frame: pd.DataFrame, dataset: type[Dataset], *, keep_bookkeeping: bool) -> pa.Table:
    """The rows in the contract's Arrow schema (the reader's :func:`to_contract_table`).

    On top of it: a null or absent ``origin`` becomes ``CLIENT``, the contract's
    default, so no later stage needs to know the default; the quarantine keeps the
    ``_file`` and ``_row`` bookkeeping columns (as string and int64).
    """
    table = to_contract_table(frame, dataset)
    if dataset is Orders:
        index = table.schema.get_field_index(Orders.origin)
        origin = pc.fill_null(table.column(index), DEFAULT_ORIGIN.value)
        table = table.set_column(index, table.schema.field(index), origin)
    if keep_bookkeeping:
        table = table.append_column(
            FILE_COLUMN, pa.array(frame[FILE_COLUMN].astype("str").to_numpy(), pa.string())
        )
        table = table.append_column(
            ROW_COLUMN, pa.array(frame[ROW_COLUMN].to_numpy(dtype="int64"), pa.int64())
        )
    return table


Part = Callable[[], pa.Table]


def _by_symbol(table: pa.Table, keys: Sequence[str]) -> dict[str, Part]:
    """One builder per symbol of its rows of ``table``, sorted by ``keys``.

    A builder makes its table when called (by the writing thread), so only the
    partitions being written are in memory at once, not a second copy of the day.
    Venue files already hold each symbol's rows in engine order, so the sort is
    skipped where the first key strictly increases; sorting the whole day by a
    string column first would cost more than the write itself.
    """
    encoded = pc.dictionary_encode(table.column(Orders.symbol)).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    first = _sortable(table.column(keys[0]))

    def build(code: int) -> pa.Table:
        rows = np.flatnonzero(codes == code)
        part = table.take(pa.array(rows))
        values = first[rows]
        if len(values) > 1 and not bool(np.all(values[1:] > values[:-1])):
            part = part.sort_by([(k, "ascending") for k in keys])
        return part

    return {
        str(symbol): functools.partial(build, code)
        for code, symbol in enumerate(encoded.dictionary.to_pylist())
    }


def _sortable(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric sort key (timestamps as int64 nanoseconds) as numpy."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    return column.to_numpy()


def write_curated(
    lake: Lake,
    day: dt.date,
    tables: Mapping[str, pd.DataFrame],
    keep: Mapping[str, np.ndarray],
    *,
    writer: Writer | None = None,
) -> dict[str, list[str]]:
    """Write the kept rows of every dataset into the curated lake, atomically per day.

    ``keep`` maps a dataset to a boolean mask of the rows that passed the gate.
    Returns the partition URIs written, per dataset. Datasets are converted and
    written one after the other, so memory holds one dataset's Arrow copy at a time;
    all of them are swapped in only once every file of every dataset is written.
    """
    writer = writer or storage.write_table
    datasets: dict[str, type[Dataset]] = {
        d.name: d for d in (Orders, Trades, ReferencePrices, Accounts, Instruments)
    }
    kept = {
        name: _kept(frame, keep.get(name)) for name, frame in tables.items() if name in datasets
    }
    symbols: set[str] = set()
    if Orders.name in kept:
        values = kept[Orders.name][Orders.symbol]
        symbols = {str(s) for s in values.dropna().unique()}
    written: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        for name, frame in kept.items():
            staging = stack.enter_context(storage.replace_partition(lake.curated(name, day)))
            table = to_arrow(frame, datasets[name], keep_bookkeeping=False)
            jobs: list[tuple[Part, str]] = []
            if name in WHOLE_DAY:
                order = [(k, "ascending") for k in WHOLE_DAY[name]]
                jobs.append(
                    (
                        functools.partial(table.sort_by, order),
                        storage.join(staging, storage.PART_FILE),
                    )
                )
                written[name] = [lake.curated(name, day)]
            else:
                parts = _by_symbol(table, PER_SYMBOL[name])
                # Every symbol with orders gets an orders and a trades partition, even empty.
                paired = symbols if name in (Orders.name, Trades.name) else set()
                names = sorted(paired | set(parts))
                for symbol in names:
                    part = parts.get(symbol, table.schema.empty_table)
                    folder = storage.symbol_partition(staging, symbol)
                    jobs.append((part, storage.join(folder, storage.PART_FILE)))
                written[name] = [lake.curated(name, day, s) for s in names]
            _write_all(jobs, writer)
            del table, jobs
    if ReferencePrices.name not in kept:
        # The venue sent none today: a partition from an earlier ingest of the day is stale.
        storage.remove(lake.curated(ReferencePrices.name, day))
    return written


def write_quarantine(
    lake: Lake,
    day: dt.date,
    tables: Mapping[str, pd.DataFrame],
    masks: Mapping[str, np.ndarray],
    reasons: Mapping[str, pd.Series],
    *,
    writer: Writer | None = None,
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


def _write_all(jobs: Sequence[tuple[Part, str]], writer: Writer) -> None:
    """Build and write every partition on a thread per core; the first failure is raised.

    Parquet encoding and compression release the GIL, so partitions are encoded in
    parallel.
    """

    def run(part: Part, uri: str) -> str:
        return writer(part(), uri)

    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(run, part, uri) for part, uri in jobs]
        for future in futures:
            future.result()


def _kept(frame: pd.DataFrame, mask: np.ndarray | None) -> pd.DataFrame:
    if mask is None or not mask.any():
        return frame
    return frame.loc[~mask]
