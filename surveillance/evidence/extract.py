"""Deterministic extraction of a case's market data from the lake, as Parquet and CSV.

A pack carries the orders, trades and book states of each case window (widened by a
margin), the reference data that give accounts their roles, and the alerts with their
features. Reviewers open CSV in anything; Parquet keeps exact types. Both are written
from Arrow tables sorted on a total key, with fixed writer settings, so the same lake
and windows always give byte-identical files. Whatever the lake lacks is recorded in
the data index as absent, with the partition looked for, rather than failing the export.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from surveillance import storage
from surveillance.contract import Accounts, Alerts, Instruments, Orders, ReferencePrices, Trades
from surveillance.storage import Lake

#: Book outputs copied into packs when the lake has them.
BOOK_KINDS = ("top", "queue", "findings")
#: Columns that may carry a book output's time, in order of preference.
_TIME_COLUMNS = ("event_time", "time", "ts", "timestamp", "window_start")


@dataclass(frozen=True)
class Window:
    """A span of one symbol's market data that evidence must cover."""

    symbol: str
    start: pd.Timestamp
    end: pd.Timestamp

    def widened(self, margin: pd.Timedelta) -> Window:
        return Window(self.symbol, self.start - margin, self.end + margin)

    def days(self) -> list[dt.date]:
        first, last = self.start.date(), (self.end - pd.Timedelta(1, "ns")).date()
        last = max(first, last)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass
class Extract:
    """Tables for a pack's ``data/`` folder and an index of what was and was not found."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)

    def index(self, lake: Lake, windows: Sequence[Window]) -> dict[str, Any]:
        """The ``data/index.json`` document: windows, row counts, sources, absences."""
        return {
            "windows": [
                {"symbol": w.symbol, "start": _iso(w.start), "end": _iso(w.end)} for w in windows
            ],
            "datasets": {
                name: {
                    "rows": table.num_rows,
                    "files": [f"data/{name}.parquet", f"data/{name}.csv"],
                    "sources": [_relative(lake, s) for s in self.sources.get(name, [])],
                }
                for name, table in sorted(self.tables.items())
            },
            "absent": [a.replace(lake.root, "<lake>") for a in self.absent],
        }


def _iso(ts: pd.Timestamp) -> str:
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat().replace("+00:00", "Z")


def _relative(lake: Lake, uri: str) -> str:
    return uri.replace(lake.root, "<lake>", 1)


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Overlapping windows of one symbol merged; sorted by symbol and start."""
    merged: list[Window] = []
    for w in sorted(windows, key=lambda w: (w.symbol, w.start, w.end)):
        if merged and merged[-1].symbol == w.symbol and w.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Window(w.symbol, last.start, max(last.end, w.end))
        else:
            merged.append(w)
    return merged


def _read(uri: str) -> pa.Table | None:
    if not storage.exists(uri):
        return None
    try:
        return storage.read_table(uri)
    except FileNotFoundError:
        return None


def _in_windows(table: pa.Table, column: str, windows: Sequence[Window]) -> pa.Array:
    # Nanoseconds since the epoch; a naive column is taken as UTC, as the contract says.
    unit = pa.timestamp("ns", tz=table.schema.field(column).type.tz)
    times = pc.cast(table.column(column), unit)
    mask = None
    for w in windows:
        inside = pc.and_(
            pc.greater_equal(times, pa.scalar(w.start.value, unit)),
            pc.less_equal(times, pa.scalar(w.end.value, unit)),
        )
        mask = inside if mask is None else pc.or_(mask, inside)
    assert mask is not None
    return pc.fill_null(mask, False)


def _concat(tables: list[pa.Table]) -> pa.Table | None:
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default")


def extract_windows(
    lake: Lake,
    windows: Sequence[Window],
    *,
    order_ids: Iterable[str] = (),
    alerts: pa.Table | None = None,
) -> Extract:
    """Read every dataset a pack carries for ``windows`` (already widened and merged).

    ``order_ids`` are orders named as evidence: their whole life is included even where
    it falls outside the windows (an order resting since the morning and filled in the
    window, for example).
    """
    result = Extract()
    wanted_orders = set(order_ids)
    by_symbol: dict[str, list[Window]] = {}
    for w in windows:
        by_symbol.setdefault(w.symbol, []).append(w)
    days = sorted({d for w in windows for d in w.days()})
    collected: dict[str, list[pa.Table]] = {}

    def add(name: str, table: pa.Table, uri: str) -> None:
        collected.setdefault(name, []).append(table)
        result.sources.setdefault(name, []).append(uri)

    for day in days:
        for symbol, spans in sorted(by_symbol.items()):
            todays = [w for w in spans if day in w.days()]
            if not todays:
                continue
            for dataset, time_column in (
                (Orders.name, Orders.event_time),
                (Trades.name, Trades.event_time),
                (ReferencePrices.name, ReferencePrices.event_time),
            ):
                uri = lake.curated(dataset, day, symbol)
                table = _read(uri)
                if table is None:
                    if dataset != ReferencePrices.name:
                        result.absent.append(f"{dataset}: no partition {uri}")
                    continue
                mask = _in_windows(table, time_column, todays)
                if dataset == Orders.name and wanted_orders:
                    named = pc.is_in(
                        table.column(Orders.order_id), pa.array(sorted(wanted_orders), pa.string())
                    )
                    mask = pc.or_(mask, named)
                add(dataset, table.filter(mask), uri)
            for kind in BOOK_KINDS:
                uri = lake.book(kind, day, symbol)
                table = _read(uri)
                if table is None:
                    result.absent.append(f"book_{kind}: no partition {uri}")
                    continue
                column = next(
                    (
                        c
                        for c in _TIME_COLUMNS
                        if c in table.column_names
                        and pa.types.is_timestamp(table.schema.field(c).type)
                    ),
                    None,
                )
                if column is not None:
                    table = table.filter(_in_windows(table, column, todays))
                add(f"book_{kind}", table, uri)
    for name, tables in collected.items():
        merged = _concat(tables)
        if merged is not None:
            result.tables[name] = sort_table(name, merged)
    account_ids = _account_ids(result.tables)
    for dataset, key, keep in (
        (Accounts.name, Accounts.account_id, account_ids),
        (Instruments.name, Instruments.symbol, set(by_symbol)),
    ):
        snapshots = []
        for day in days:
            uri = lake.curated(dataset, day)
            table = _read(uri)
            if table is None:
                result.absent.append(f"{dataset}: no partition {uri}")
                continue
            table = table.filter(pc.is_in(table.column(key), pa.array(sorted(keep), pa.string())))
            day_column = pa.array([day.isoformat()] * table.num_rows, pa.string())
            snapshots.append(table.append_column("snapshot_date", day_column))
            result.sources.setdefault(dataset, []).append(uri)
        merged = _concat(snapshots)
        if merged is not None:
            result.tables[dataset] = sort_table(dataset, merged)
    if alerts is not None:
        result.tables[Alerts.name] = sort_table(Alerts.name, alerts)
        result.tables["alert_features"] = alert_features(alerts)
    return result


def _account_ids(tables: dict[str, pa.Table]) -> set[str]:
    ids: set[str] = set()
    if Orders.name in tables:
        ids.update(v for v in tables[Orders.name].column(Orders.account_id).to_pylist() if v)
    if Trades.name in tables:
        for column in (Trades.buy_account_id, Trades.sell_account_id):
            ids.update(v for v in tables[Trades.name].column(column).to_pylist() if v)
    return ids


#: Total sort keys: with them, row order never depends on how partitions were read.
_SORT_KEYS: dict[str, tuple[str, ...]] = {
    Orders.name: (Orders.symbol, Orders.event_time, Orders.seq),
    Trades.name: (Trades.symbol, Trades.event_time, Trades.trade_id),
    ReferencePrices.name: (ReferencePrices.symbol, ReferencePrices.event_time),
    Accounts.name: ("snapshot_date", Accounts.account_id),
    Instruments.name: ("snapshot_date", Instruments.symbol),
    Alerts.name: (Alerts.window_start, Alerts.alert_id),
    "alert_features": ("alert_id", "feature"),
}


def sort_table(name: str, table: pa.Table) -> pa.Table:
    """``table`` sorted on its dataset's key (or on every column, for unknown datasets)."""
    keys = [k for k in _SORT_KEYS.get(name, ()) if k in table.column_names]
    if not keys:
        keys = [c for c in table.column_names if not pa.types.is_nested(table.schema.field(c).type)]
    table = table.replace_schema_metadata(table.schema.metadata)
    return table.sort_by([(k, "ascending") for k in keys]) if keys else table


def alert_features(alerts: pa.Table) -> pa.Table:
    """One row per (alert, feature): the value and, where the detector gave it, the baseline.

    A detector's ``features`` JSON maps a feature name either to a value or to an object
    with ``value`` and ``baseline`` (and possibly more); a sibling key ``baseline_<name>``
    is taken as the baseline of ``<name>``. Values that are not numbers are kept as JSON
    in ``detail``.
    """
    rows: list[dict[str, Any]] = []
    names = alerts.column_names
    for record in alerts.to_pylist():
        raw = record.get(Alerts.features) if Alerts.features in names else None
        if not raw:
            continue
        try:
            features = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            rows.append(_feature_row(record[Alerts.alert_id], "features", raw))
            continue
        if not isinstance(features, dict):
            rows.append(_feature_row(record[Alerts.alert_id], "features", features))
            continue
        for name, value in features.items():
            key = str(name)
            paired = key.removeprefix(_BASELINE_PREFIX)
            if key.startswith(_BASELINE_PREFIX) and paired in features:
                continue  # shown as the baseline of its feature
            row = _feature_row(record[Alerts.alert_id], key, value)
            sibling = features.get(_BASELINE_PREFIX + key)
            if row["baseline"] is None and _number(sibling) is not None:
                row["baseline"] = _number(sibling)
            rows.append(row)
    schema = pa.schema(
        [
            ("alert_id", pa.string()),
            ("feature", pa.string()),
            ("value", pa.float64()),
            ("baseline", pa.float64()),
            ("detail", pa.string()),
        ]
    )
    return sort_table("alert_features", pa.Table.from_pylist(rows, schema=schema))


_BASELINE_PREFIX = "baseline_"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _feature_row(alert_id: str, name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        number = _number(value.get("value"))
        baseline = _number(value.get("baseline"))
        rest = {k: v for k, v in value.items() if k not in ("value", "baseline")}
        detail = json.dumps(rest, sort_keys=True, default=str) if rest else None
        if number is None and "value" in value:
            detail = json.dumps(value, sort_keys=True, default=str)
        return {
            "alert_id": alert_id,
            "feature": name,
            "value": number,
            "baseline": baseline,
            "detail": detail,
        }
    number = _number(value)
    return {
        "alert_id": alert_id,
        "feature": name,
        "value": number,
        "baseline": None,
        "detail": None if number is not None else json.dumps(value, sort_keys=True, default=str),
    }


def parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet bytes (the lake's own writer settings)."""
    return storage.table_to_parquet_bytes(table)


def csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header; list columns as JSON arrays, times in ISO 8601 UTC."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_nested(column.type):
            values = [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
            column = pa.chunked_array([pa.array(values, pa.string())])
        elif pa.types.is_timestamp(column.type):
            stamps = column.to_pandas()
            values = [None if pd.isna(v) else _iso(v) for v in stamps]
            column = pa.chunked_array([pa.array(values, pa.string())])
        columns.append(column)
    plain = pa.table(columns, names=table.column_names)
    buffer = io.BytesIO()
    pacsv.write_csv(plain, buffer, pacsv.WriteOptions(include_header=True))
    return buffer.getvalue()
