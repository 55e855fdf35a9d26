"""Parquet settings of the streamed book outputs (``top`` and ``queue``), and their writer.

The top of book is one wide row for most journal events, so writing it costs as much
as the replay itself unless the settings suit it. Measured on the benchmark's
synthetic day (``python -m benchmarks book``, two million events): with the lake's
defaults (zstd, every column dictionary-encoded) writing ``top`` took 1.8 times the
CPU of these settings and ``queue`` 2.6 times, and reading them back 1.7 and 2 times.
Here:

- LZ4 instead of zstd: files a quarter (``top``) and a tenth (``queue``) larger;
- dictionary encoding only for the few-valued string columns (``symbol``, ``side``,
  accounts): elsewhere hashing every value buys little;
- integer and timestamp columns delta-encoded (``seq`` and ``event_time``
  grow steadily, so their deltas pack into a few bits);
- statistics for ``seq`` and ``event_time`` only, the keys of as-of joins and of
  row-group pruning;
- values encoded 65,536 rows at a time rather than 1,024 (same bytes, about a tenth
  less CPU).

Readers need nothing special: any Parquet reader of the lake (pyarrow) decodes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from surveillance import storage

#: Columns dictionary-encoded: few distinct strings (ids of orders and trades are not).
DICTIONARY_COLUMNS: tuple[str, ...] = ("symbol", "side", "account_id", "ahead_account_ids")
#: Rows the writer encodes at a time (pyarrow's default is 1,024): whole output buffers,
#: the same bytes for about a tenth less CPU.
WRITE_BATCH_ROWS = 65_536
#: Columns whose min/max statistics are written (the join and pruning keys).
STATISTICS_COLUMNS: tuple[str, ...] = ("seq", "event_time")


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """``pyarrow.parquet.ParquetWriter`` settings for a book output of ``schema``."""
    delta = {
        f.name: "DELTA_BINARY_PACKED"
        for f in schema
        if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)
    }
    return {
        "compression": "lz4",
        "use_dictionary": [c for c in DICTIONARY_COLUMNS if c in schema.names],
        "column_encoding": delta,
        "write_statistics": [c for c in STATISTICS_COLUMNS if c in schema.names],
        "store_schema": True,
        "write_batch_size": WRITE_BATCH_ROWS,
    }


@contextlib.contextmanager
def book_writer(uri: str, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
    """Write one Parquet file batch by batch (each batch a row group) with :func:`parquet_options`."""
    with storage.table_writer(uri, schema, options=parquet_options(schema)) as writer:
        yield writer
