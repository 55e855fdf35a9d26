"""A pack's data cover each case window with its margin, and the orders the alerts name."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from surveillance.contract import Alerts
from surveillance.evidence.extract import (
    Window,
    alert_features,
    csv_bytes,
    extract_windows,
    merge_windows,
)

T0 = pd.Timestamp("2026-03-02T10:03:00Z")


def test_only_events_inside_the_widened_window_are_extracted(market: tuple[Any, Any]) -> None:
    settings, _ = market
    window = Window("BTC-USD", T0, T0 + pd.Timedelta(seconds=1)).widened(pd.Timedelta(seconds=30))
    orders = extract_windows(settings.lake, [window]).tables["orders"].to_pandas()
    assert orders["event_time"].between(window.start, window.end).all()
    assert len(orders) > 0


def test_orders_named_by_alerts_come_with_their_whole_life(market: tuple[Any, Any]) -> None:
    settings, matcher = market
    first_order = matcher.orders[0]["order_id"]
    window = Window("BTC-USD", T0, T0 + pd.Timedelta(seconds=1))
    orders = extract_windows(settings.lake, [window], order_ids=[first_order]).tables["orders"]
    named = orders.filter(pa.compute.equal(orders.column("order_id"), first_order))
    assert named.num_rows == sum(1 for o in matcher.orders if o["order_id"] == first_order)


def test_absent_datasets_are_recorded_not_fatal(market: tuple[Any, Any]) -> None:
    settings, _ = market
    window = Window("ETH-USD", T0, T0 + pd.Timedelta(seconds=1))
    result = extract_windows(settings.lake, [window])
    assert any(a.startswith("orders: no partition") for a in result.absent)
    assert "orders" not in result.tables


def test_overlapping_windows_of_a_symbol_merge() -> None:
    a = Window("X", T0, T0 + pd.Timedelta(seconds=10))
    b = Window("X", T0 + pd.Timedelta(seconds=5), T0 + pd.Timedelta(seconds=20))
    c = Window("Y", T0, T0 + pd.Timedelta(seconds=1))
    assert merge_windows([b, c, a]) == [Window("X", a.start, b.end), c]


def test_a_window_across_midnight_reads_both_days() -> None:
    w = Window("X", pd.Timestamp("2026-03-02T23:59:00Z"), pd.Timestamp("2026-03-03T00:01:00Z"))
    assert [d.isoformat() for d in w.days()] == ["2026-03-02", "2026-03-03"]


def test_csv_writes_lists_as_json_and_times_in_utc() -> None:
    table = pa.table(
        {
            "ids": pa.array([["a", "b"]], pa.list_(pa.string())),
            "t": pa.array(
                [pd.Timestamp("2026-03-02T10:00:00.000000001Z")], pa.timestamp("ns", "UTC")
            ),
        }
    )
    row = pacsv.read_csv(
        io.BytesIO(csv_bytes(table)),
        convert_options=pacsv.ConvertOptions(column_types={"t": pa.string()}),
    ).to_pylist()[0]
    assert json.loads(row["ids"]) == ["a", "b"]
    assert row["t"] == "2026-03-02T10:00:00.000000001Z"


def test_feature_baselines_pair_with_their_features() -> None:
    alerts = pa.Table.from_pylist(
        [
            {
                Alerts.alert_id: "A1",
                Alerts.features: json.dumps(
                    {
                        "gap_bps": 40.0,
                        "baseline_gap_bps": 2.0,
                        "side": "BUY",
                        "n": {"value": 3, "baseline": 1},
                    }
                ),
            }
        ]
    )
    rows = {r["feature"]: r for r in alert_features(alerts).to_pylist()}
    assert (rows["gap_bps"]["value"], rows["gap_bps"]["baseline"]) == (40.0, 2.0)
    assert (rows["n"]["value"], rows["n"]["baseline"]) == (3.0, 1.0)
    assert rows["side"]["detail"] == '"BUY"'
    assert "baseline_gap_bps" not in rows
