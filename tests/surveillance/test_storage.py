"""Partitions are read and written in one place, atomically, on local paths and URIs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from surveillance import storage
from surveillance.errors import ContractError
from surveillance.storage import Lake, Landing

DAY = dt.date(2026, 3, 1)


def _table(n: int) -> pa.Table:
    return pa.table({"x": list(range(n))})


@pytest.mark.parametrize("root_kind", ["local", "memory"])
def test_partition_round_trip(tmp_path: Path, root_kind: str) -> None:
    root = str(tmp_path / "lake") if root_kind == "local" else f"memory://lake-{tmp_path.name}"
    lake = Lake(root)
    uri = lake.curated("orders", DAY, "BTC-USD")
    storage.write_partition(_table(3), uri)
    assert storage.read_table(uri).column("x").to_pylist() == [0, 1, 2]
    assert lake.curated_symbols("orders", DAY) == ["BTC-USD"]


def test_rewriting_a_partition_replaces_it_with_identical_bytes(tmp_path: Path) -> None:
    uri = Lake(tmp_path).curated("orders", DAY, "ETH-USD")
    storage.write_partition(_table(5), uri)
    first = (Path(uri) / storage.PART_FILE).read_bytes()
    storage.write_partition(_table(5), uri)
    assert (Path(uri) / storage.PART_FILE).read_bytes() == first
    assert sorted(p.name for p in Path(uri).parent.iterdir()) == ["symbol=ETH-USD"]


def test_failure_part_way_leaves_the_previous_partition_intact(tmp_path: Path) -> None:
    uri = Lake(tmp_path).curated("orders", DAY)
    storage.write_partition(_table(2), uri)
    with pytest.raises(RuntimeError, match="disk full"), storage.replace_partition(uri) as staging:
        storage.write_table(_table(9), storage.join(staging, "symbol=A", storage.PART_FILE))
        raise RuntimeError("disk full")
    assert storage.read_table(uri).num_rows == 2
    assert [p.name for p in Path(uri).parent.iterdir()] == [Path(uri).name]


def test_truncated_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "part-0.parquet"
    storage.write_table(_table(100), str(path))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ContractError, match=r"part-0\.parquet.*cannot be read as Parquet"):
        storage.read_table(str(path))


def test_landing_lists_day_files_and_readiness(tmp_path: Path) -> None:
    landing = Landing(tmp_path)
    assert not landing.is_ready(DAY)
    for name in ("b.parquet", "a.parquet"):
        storage.write_table(_table(1), storage.join(landing.day_dir("orders", DAY), name))
    landing.mark_ready(DAY)
    assert landing.is_ready(DAY)
    assert [Path(f).name for f in landing.files("orders", DAY)] == ["a.parquet", "b.parquet"]
    assert landing.days("orders") == [DAY]
