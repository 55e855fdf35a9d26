"""``order_key``: the curated orders' dense integer order id, for the book replay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import corruptors
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from surveillance import storage
from surveillance.contract import Orders
from surveillance.ingest import ingest_day
from surveillance.ingest.curated import ORDER_KEY, with_order_key
from surveillance.settings import Settings

AT = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)


def _partitions(settings: Settings, day: dt.date) -> dict[str, bytes]:
    lake = settings.lake
    return {
        symbol: Path(storage.join(lake.curated(Orders.name, day, symbol), storage.PART_FILE))
        .resolve()
        .read_bytes()
        for symbol in lake.curated_symbols(Orders.name, day)
    }


def _first_appearance(ids: list[str]) -> list[int]:
    """The reference numbering: each id's rank by its first row, in plain Python."""
    seen: dict[str, int] = {}
    return [seen.setdefault(i, len(seen)) for i in ids]


def test_each_orders_partition_numbers_its_orders_densely_by_first_event(
    small_day: Any, landing_copy: Path, run_settings: Settings
) -> None:
    ingest_day(run_settings, small_day.day, ingested_at=AT)
    lake = run_settings.lake
    symbols = lake.curated_symbols(Orders.name, small_day.day)
    assert len(symbols) == 2
    for symbol in symbols:
        table = storage.read_table(lake.curated(Orders.name, small_day.day, symbol))
        assert table.schema.field(ORDER_KEY).type == pa.int64()
        assert table.column_names[-1] == ORDER_KEY
        keys = table.column(ORDER_KEY).to_pylist()
        ids = table.column(Orders.order_id).to_pylist()
        seq = table.column(Orders.seq).to_numpy()
        assert bool(np.all(seq[1:] > seq[:-1]))
        # Dense, same id <-> same key, numbered in order of first appearance in seq order.
        assert keys == _first_appearance(ids)
        assert set(keys) == set(range(len(set(ids))))

    # The same orders exported differently (one file per symbol, the last symbol's
    # first) give the same keys, byte for byte: they depend on the partition alone.
    first = _partitions(run_settings, small_day.day)
    paths = corruptors.files(landing_copy, Orders.name, small_day.day)
    table = pa.concat_tables([pq.read_table(p) for p in paths])
    for p in paths:
        p.unlink()
    path = paths[0]
    for n, symbol in enumerate(reversed(symbols)):
        mine = table.filter(pc.equal(table.column(Orders.symbol), symbol))
        pq.write_table(mine, path.with_name(f"part-{n}.parquet"))
    ingest_day(run_settings, small_day.day, ingested_at=AT)
    assert _partitions(run_settings, small_day.day) == first


@pytest.mark.parametrize(
    "codes",
    [
        np.array([7, 7, 3, 9, 3, 7, 12], dtype=np.int64),
        np.array([0, 1, 2, 3], dtype=np.int64),
        np.array([5, 4, 3, 2, 1, 0, 5], dtype=np.int64),
    ],
)
def test_keys_from_existing_codes_equal_keys_from_the_order_ids(codes: np.ndarray) -> None:
    ids = [f"o-{c}" for c in codes]
    table = pa.table({Orders.order_id: pa.array(ids, pa.string())})
    from_codes = with_order_key(table, codes).column(ORDER_KEY).to_pylist()
    from_ids = with_order_key(table).column(ORDER_KEY).to_pylist()
    assert from_codes == from_ids == _first_appearance(ids)


def test_a_null_order_id_has_a_null_key_and_numbers_nothing() -> None:
    table = pa.table({Orders.order_id: pa.array(["a", None, "b", "a"], pa.string())})
    codes = np.array([4, -1, 2, 4], dtype=np.int64)
    assert with_order_key(table, codes).column(ORDER_KEY).to_pylist() == [0, None, 1, 0]
    assert with_order_key(table).column(ORDER_KEY).to_pylist() == [0, None, 1, 0]
