"""The contract reader: files are type-checked one by one, and the day comes back whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from surveillance import storage
from surveillance.contract import DATASETS_BY_NAME, LANDING_DATASETS, Orders
from surveillance.errors import ContractError, NotReadyError
from surveillance.storage import Landing
from surveillance.validate import (
    LandingDay,
    find_violations,
    read_landing_day,
    to_contract_table,
)
from surveillance.validate.sample import sample_tables, write_day

DAY = dt.date(2026, 3, 2)


def _write_orders(tmp_path: Path, orders: pa.Table) -> Landing:
    """A landing day whose orders file is ``orders`` (other datasets valid)."""
    tables = sample_tables(DAY)
    tables["orders"] = orders
    landing = Landing(tmp_path / "landing")
    write_day(landing, DAY, tables)
    return landing


def _orders_file(landing: Landing) -> str:
    return landing.files("orders", DAY)[0]


def _replace(table: pa.Table, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


@pytest.mark.parametrize("dataset", [d.name for d in LANDING_DATASETS])
def test_every_dataset_round_trips_through_storage(tmp_path: Path, dataset: str) -> None:
    tables = sample_tables(DAY, copies=3)
    landing = Landing(tmp_path / "landing")
    write_day(landing, DAY, tables)
    day = read_landing_day(landing, DAY)
    back = to_contract_table(day.tables[dataset], dataset)
    assert back.schema.equals(DATASETS_BY_NAME[dataset].schema(), check_metadata=False)
    assert back.to_pylist() == tables[dataset].to_pylist()


def test_wrong_type_is_refused_naming_file_column_and_types(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"]
    orders = _replace(orders, Orders.price, pc.cast(orders.column(Orders.price), pa.string()))
    landing = _write_orders(tmp_path, orders)
    path = _orders_file(landing)
    with pytest.raises(
        ContractError,
        match=rf"orders file {path}: column 'price' must be float64, found string; re-export",
    ) as info:
        read_landing_day(landing, DAY)
    assert (info.value.file, info.value.column, info.value.reason) == (path, "price", "wrong_type")
    assert (info.value.expected, info.value.found) == ("float64", "string")


@pytest.mark.parametrize(
    ("column", "kind", "found"),
    [
        (Orders.seq, pa.int32(), "int32"),
        (Orders.quantity, pa.int64(), "int64"),
        (Orders.price, pa.float32(), "float32"),
        (Orders.event_time, pa.timestamp("ns"), r"timestamp\[ns\] \(a timestamp without time zone"),
        (
            Orders.event_time,
            pa.timestamp("ns", tz="America/New_York"),
            r"timestamp\[ns, America/New_York\]",
        ),
    ],
)
def test_other_types_are_refused(
    tmp_path: Path, column: str, kind: pa.DataType, found: str
) -> None:
    orders = sample_tables(DAY)["orders"]
    source = orders.column(column)
    cast = source.cast(kind, safe=False) if not pa.types.is_timestamp(kind) else None
    if cast is None:
        raw = pc.cast(source, pa.int64())
        cast = raw.cast(kind)
    landing = _write_orders(tmp_path, _replace(orders, column, cast))
    with pytest.raises(ContractError, match=rf"column '{column}' must be .*, found {found}"):
        read_landing_day(landing, DAY)


def test_representation_variants_are_accepted_and_normalised(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"]
    variant = _replace(orders, Orders.symbol, orders.column(Orders.symbol).cast(pa.large_string()))
    variant = _replace(variant, Orders.order_id, orders.column(Orders.order_id).dictionary_encode())
    variant = _replace(
        variant, Orders.account_id, orders.column(Orders.account_id).cast(pa.string_view())
    )
    variant = _replace(
        variant, Orders.event_time, orders.column(Orders.event_time).cast(pa.timestamp("ms", "UTC"))
    )
    variant = _replace(
        variant,
        Orders.gateway_time,
        orders.column(Orders.gateway_time).cast(pa.timestamp("us", "+00:00")),
    )
    day = read_landing_day(_write_orders(tmp_path, variant), DAY)
    assert to_contract_table(day.tables["orders"], "orders").equals(orders)
    assert find_violations(day).empty


def test_microsecond_timestamps_keep_their_exact_instant(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"]
    times = pa.array(
        [pd.Timestamp("2026-03-02 10:00:00.123456", tz="UTC")] * orders.num_rows,
        pa.timestamp("us", "UTC"),
    )
    day = read_landing_day(_write_orders(tmp_path, _replace(orders, Orders.event_time, times)), DAY)
    assert (
        day.tables["orders"][Orders.event_time]
        == pd.Timestamp("2026-03-02 10:00:00.123456", tz="UTC")
    ).all()


def test_all_null_column_of_null_type_is_accepted_where_nulls_are(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"]
    orders = _replace(orders, Orders.origin, pa.nulls(orders.num_rows))
    day = read_landing_day(_write_orders(tmp_path, orders), DAY)
    assert day.tables["orders"][Orders.origin].isna().all()


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"].drop_columns([Orders.leaves_quantity])
    landing = _write_orders(tmp_path, orders)
    with pytest.raises(
        ContractError,
        match=r"orders file .*part-0\.parquet: required column 'leaves_quantity' \(float64\) is missing",
    ) as info:
        read_landing_day(landing, DAY)
    assert info.value.reason == "missing_column"


def test_missing_optional_columns_are_added_as_null(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"].drop_columns([Orders.gateway_time, Orders.origin])
    frame = read_landing_day(_write_orders(tmp_path, orders), DAY).tables["orders"]
    assert frame[Orders.gateway_time].isna().all()
    assert frame[Orders.origin].isna().all()
    assert list(frame.columns[:18]) == Orders.names()


def test_extra_columns_are_kept_after_the_contract_columns(tmp_path: Path) -> None:
    orders = sample_tables(DAY)["orders"]
    orders = orders.append_column("venue_flag", pa.array(range(orders.num_rows)))
    day = read_landing_day(_write_orders(tmp_path, orders), DAY)
    back = to_contract_table(day.tables["orders"], "orders")
    assert back.column_names == [*Orders.names(), "venue_flag"]
    assert back.column("venue_flag").to_pylist() == list(range(orders.num_rows))
    assert find_violations(day).empty


def test_pandas_index_artefact_is_not_an_extra_column(tmp_path: Path) -> None:
    frame = sample_tables(DAY)["orders"].to_pandas()
    frame.index = frame.index + 100
    orders = pa.Table.from_pandas(frame, preserve_index=True)
    day = read_landing_day(_write_orders(tmp_path, orders), DAY)
    assert "__index_level_0__" not in day.tables["orders"].columns


def test_truncated_file_is_refused_naming_it(tmp_path: Path) -> None:
    landing = _write_orders(tmp_path, sample_tables(DAY)["orders"])
    path = Path(_orders_file(landing))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ContractError, match=rf"{path}.*cannot be read as Parquet") as info:
        read_landing_day(landing, DAY)
    assert info.value.reason == "unreadable_file"


def test_missing_required_dataset_is_refused(tmp_path: Path) -> None:
    landing = _write_orders(tmp_path, sample_tables(DAY)["orders"])
    storage.remove(landing.day_dir("trades", DAY))
    with pytest.raises(ContractError, match=r"trades for 2026-03-02: no Parquet file") as info:
        read_landing_day(landing, DAY)
    assert info.value.reason == "missing_dataset"


def test_reference_prices_are_optional(tmp_path: Path) -> None:
    landing = _write_orders(tmp_path, sample_tables(DAY)["orders"])
    storage.remove(landing.day_dir("reference_prices", DAY))
    day = read_landing_day(landing, DAY)
    assert day.files["reference_prices"] == []
    assert day.tables["reference_prices"].empty
    assert list(day.tables["reference_prices"].columns[:3]) == ["event_time", "symbol", "price"]
    assert find_violations(day).empty


def test_day_without_marker_is_not_ready(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    write_day(landing, DAY, sample_tables(DAY), mark_ready=False)
    with pytest.raises(NotReadyError, match=r"_SUCCESS/date=2026-03-02 is missing"):
        read_landing_day(landing, DAY)
    assert read_landing_day(landing, DAY, require_marker=False).rows("orders") == 28


def test_rows_know_their_file_and_position(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    written = write_day(landing, DAY, sample_tables(DAY), files=3)
    frame = read_landing_day(landing, DAY).tables["orders"]
    assert isinstance(frame["_file"].dtype, pd.CategoricalDtype)
    sizes = frame.groupby("_file", observed=True).size()
    assert list(sizes.index) == written["orders"]
    last = frame[frame["_file"] == written["orders"][-1]]
    assert list(last["_row"]) == list(range(len(last)))


def test_empty_files_give_an_empty_day(
    frames: dict[str, pd.DataFrame], load: Callable[..., LandingDay]
) -> None:
    day = load({name: frame.iloc[0:0] for name, frame in frames.items()})
    assert all(day.rows(name) == 0 for name in day.tables)
    assert list(day.tables["orders"].columns) == [*Orders.names(), "_file", "_row"]


def test_null_seq_keeps_integers_exact(
    frames: dict[str, pd.DataFrame], load: Callable[..., LandingDay]
) -> None:
    frames["orders"]["seq"] = frames["orders"]["seq"].astype("Int64")
    frames["orders"].loc[0, "seq"] = None
    frames["orders"].loc[1, "seq"] = 2**62 + 1
    day = load(frames)
    assert day.tables["orders"]["seq"].dtype == "Int64"
    assert day.tables["orders"]["seq"].iloc[1] == 2**62 + 1
    assert "orders.null_required" in set(find_violations(day)["rule"])


def test_extra_column_with_clashing_types_across_files_is_refused(tmp_path: Path) -> None:
    tables = sample_tables(DAY)
    landing = Landing(tmp_path / "landing")
    write_day(landing, DAY, tables)
    orders = tables["orders"]
    storage.write_table(
        orders.append_column("note", pa.array([{"a": 1}] * orders.num_rows)),
        storage.join(landing.day_dir("orders", DAY), "part-1.parquet"),
    )
    storage.write_table(
        orders.append_column("note", pa.array([1.5] * orders.num_rows)),
        storage.join(landing.day_dir("orders", DAY), "part-2.parquet"),
    )
    with pytest.raises(ContractError, match=r"extra column has different types"):
        read_landing_day(landing, DAY)


def test_rows_with_null_required_values_stay_writable(
    frames: dict[str, pd.DataFrame], load: Callable[..., LandingDay], tmp_path: Path
) -> None:
    frames["orders"].loc[0, "account_id"] = None
    table = to_contract_table(load(frames).tables["orders"], "orders")
    assert table.schema.field("account_id").nullable
    assert not table.schema.field("order_id").nullable
    storage.write_table(table, str(tmp_path / "quarantine.parquet"))
    assert storage.read_table(str(tmp_path / "quarantine.parquet")).num_rows == len(
        frames["orders"]
    )


@pytest.mark.parametrize("dataset", ["orders", "trades"])
def test_selected_rows_convert_as_the_same_rows_of_a_pandas_gather(
    tmp_path: Path, dataset: str
) -> None:
    tables = sample_tables(DAY, copies=3)
    table = tables[dataset]
    # Nulls of every kind the reader produces: a null id, a null category, NaN, NaT,
    # and an extra column of strings with a null.
    mask = pa.array([i % 4 == 1 for i in range(table.num_rows)])
    for name in ("symbol", "price", "event_time", "trade_id"):
        column = table.column(name)
        table = _replace(table, name, pc.if_else(mask, pa.nulls(len(column), column.type), column))
    extra = pa.array([None if i % 5 == 0 else f"x{i}" for i in range(table.num_rows)])
    tables[dataset] = table.append_column("venue_note", extra)
    landing = Landing(tmp_path / "landing")
    write_day(landing, DAY, tables)
    frame = read_landing_day(landing, DAY).tables[dataset]
    rows = pd.Series(range(len(frame))).sample(frac=0.6, random_state=3).to_numpy()
    picked = to_contract_table(frame, dataset, rows=rows)
    assert picked.equals(to_contract_table(frame.iloc[rows], dataset), check_metadata=True)
    assert picked.column("venue_note").to_pylist() == [extra[int(r)].as_py() for r in rows]
    assert picked.column("price").null_count == table.column("price").take(rows).null_count > 0
    assert picked.schema.field("price").nullable
