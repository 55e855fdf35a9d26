"""``simulate_day``: the landed day's layout, determinism, contract conformance, scale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from surveillance.errors import InputError
from surveillance.simulate import simulate_day
from surveillance.storage import Landing
from surveillance.validate import find_violations, read_landing_day

DAY = dt.date(2026, 3, 2)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_day_lands_every_dataset_and_the_marker_last(simulated_day: Any) -> None:
    landing = Landing(simulated_day.root)
    for dataset in ("accounts", "instruments", "orders", "trades", "reference_prices", "labels"):
        assert landing.files(dataset, DAY), dataset
    assert landing.is_ready(DAY)


def test_orders_and_trades_are_split_into_files_that_each_hold_every_symbol(
    simulated_day: Any,
) -> None:
    landing = Landing(simulated_day.root)
    for dataset in ("orders", "trades"):
        files = landing.files(dataset, DAY)
        assert len(files) >= 2
        for f in files:
            assert set(pd.read_parquet(f, columns=["symbol"])["symbol"]) == set(
                simulated_day.summary.symbols
            )


def test_the_fixture_days_conform_to_the_contract(simulated_day: Any, clean_day: Any) -> None:
    for day in (simulated_day, clean_day):
        violations = find_violations(read_landing_day(Landing(day.root), DAY))
        assert violations.empty, violations.head(10).to_string()


@pytest.mark.parametrize(
    ("seed", "events", "symbols", "intensity"),
    [(1, 10_000, 1, 1.0), (2, 20_000, 3, 0.3), (3, 30_000, 4, 0.6)],
)
def test_days_of_several_seeds_and_sizes_conform_to_the_contract(
    tmp_path: Path, seed: int, events: int, symbols: int, intensity: float
) -> None:
    simulate_day(tmp_path, DAY, symbols=symbols, events=events, seed=seed, intensity=intensity)
    violations = find_violations(read_landing_day(Landing(tmp_path), DAY))
    assert violations.empty, violations.head(10).to_string()


def test_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    simulate_day(tmp_path / "a", DAY, symbols=2, events=8_000, seed=5)
    simulate_day(tmp_path / "b", DAY, symbols=2, events=8_000, seed=5)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_a_different_seed_gives_a_different_day(tmp_path: Path) -> None:
    simulate_day(tmp_path / "a", DAY, symbols=1, events=8_000, seed=5)
    simulate_day(tmp_path / "b", DAY, symbols=1, events=8_000, seed=6)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    orders = [k for k in a if k.startswith("orders")]
    assert orders and all(a[k] != b[k] for k in orders)


def test_clean_day_has_an_empty_labels_file(clean_day: Any) -> None:
    files = Landing(clean_day.root).files("labels", DAY)
    assert len(files) == 1 and len(pd.read_parquet(files[0])) == 0
    assert clean_day.summary.labels_by_typology == {}


def test_events_is_the_approximate_number_of_journal_rows(simulated_day: Any) -> None:
    assert 0.8 * 40_000 <= simulated_day.summary.orders <= 1.2 * 40_000


def test_summary_counts_match_the_landed_rows(simulated_day: Any, frames: Any) -> None:
    summary = simulated_day.summary
    assert summary.orders == len(frames.orders)
    assert summary.trades == len(frames.trades)
    assert summary.labels == len(frames.labels)
    roles = frames.orders["account_id"].map(frames.role)
    counted = frames.orders.groupby([frames.orders["symbol"], roles]).size().to_dict()
    assert counted == {k: v for k, v in summary.events_by_symbol_role.items() if v}


def test_seq_increases_and_event_time_never_goes_back(frames: Any) -> None:
    for _, orders in frames.orders.groupby("symbol"):
        assert (np.diff(orders["seq"].to_numpy()) > 0).all()
        assert orders["event_time"].is_monotonic_increasing


def test_gateway_time_is_set_exactly_on_instructions_and_precedes_the_engine(
    frames: Any,
) -> None:
    o = frames.orders
    instruction = o["event_type"].isin(["NEW", "REPLACE", "CANCEL", "REJECT"])
    assert o.loc[instruction, "gateway_time"].notna().all()
    assert o.loc[~instruction, "gateway_time"].isna().all()
    assert (o.loc[instruction, "gateway_time"] < o.loc[instruction, "event_time"]).all()


def test_the_rows_of_one_instruction_share_an_event_time_no_other_instruction_has(
    frames: Any,
) -> None:
    o = frames.orders.dropna(subset=["gateway_time"])
    sources = o.groupby(["symbol", "event_time"])["gateway_time"].nunique()
    assert (sources == 1).all()


def test_clean_day_has_natural_gateway_to_engine_inversions(clean_frames: Any) -> None:
    o = clean_frames.orders
    new = o[o["event_type"].isin(["NEW", "REPLACE", "CANCEL"])].sort_values(["symbol", "seq"])
    gw = new.groupby("symbol")["gateway_time"].diff()
    assert (gw < pd.Timedelta(0)).sum() > 0


def test_reference_prices_track_the_venue(simulated_day: Any, frames: Any) -> None:
    ref = pd.read_parquet(Landing(simulated_day.root).files("reference_prices", DAY)[0])
    for symbol, trades in frames.trades.groupby("symbol"):
        index = ref[ref["symbol"] == symbol].set_index("event_time")["price"].sort_index()
        near = index.asof(pd.DatetimeIndex(trades["event_time"]))
        gap = (trades["price"].to_numpy() - near.to_numpy()) / near.to_numpy()
        assert np.median(np.abs(gap)) < 20e-4, symbol


def test_accounts_hold_the_group_external_mms_and_many_clients(frames: Any) -> None:
    a = frames.accounts
    group = a[a["role"].isin(["AFFILIATED_MM", "HOUSE"])]
    assert sorted(group["role"]) == ["AFFILIATED_MM", "AFFILIATED_MM", "HOUSE"]
    assert group["entity_id"].nunique() == 1
    assert (a["role"] == "EXTERNAL_MM").sum() >= 2
    assert (a["role"] == "CLIENT").sum() >= 300


def test_instruments_carry_market_making_obligations(frames: Any) -> None:
    cols = ["mm_max_spread_bps", "mm_min_quote_quantity", "mm_min_uptime"]
    assert frames.instruments[cols].notna().all().all()


def test_liquidation_orders_appear_on_client_accounts(frames: Any) -> None:
    liq = frames.orders[frames.orders["origin"] == "LIQUIDATION"]
    assert len(liq) and set(liq["account_id"].map(frames.role)) == {"CLIENT"}


def test_every_order_type_and_time_in_force_occurs(clean_frames: Any) -> None:
    o = clean_frames.orders
    kinds = set(zip(o["order_type"], o["time_in_force"], strict=True))
    assert {
        ("MARKET", "IOC"),
        ("LIMIT", "GTC"),
        ("LIMIT", "IOC"),
        ("LIMIT", "FOK"),
        ("LIMIT", "POST_ONLY"),
    } <= kinds
    assert set(o["event_type"]) == {"NEW", "REPLACE", "CANCEL", "FILL", "EXPIRE", "REJECT"}


def test_lower_intensity_injects_subtler_spoofing(tmp_path: Path) -> None:
    def layers(intensity: float) -> float:
        root = tmp_path / str(intensity)
        simulate_day(root, DAY, symbols=1, events=15_000, seed=9, intensity=intensity)
        labels = pd.read_parquet(Landing(root).files("labels", DAY)[0])
        spoof = labels[labels["typology"] == "SM_SPOOFING"]
        return float(spoof["order_ids"].map(len).mean())

    assert layers(0.3) < layers(1.0)


def test_engine_truth_is_written_outside_the_landing_root(simulated_day: Any) -> None:
    truth = sorted(p.name for p in simulated_day.engine_truth.glob("*.parquet"))
    assert truth == sorted(f"{s}.parquet" for s in simulated_day.summary.symbols)
    assert not list(simulated_day.root.rglob("*truth*"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"symbols": 9}, "--symbols 9"),
        ({"symbols": 0}, "--symbols 0"),
        ({"intensity": 0.0}, "--intensity 0.0"),
        ({"intensity": 1.5}, "--intensity 1.5"),
        ({"events": 10}, "--events 10"),
    ],
)
def test_out_of_range_arguments_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        simulate_day(tmp_path, DAY, **kwargs)
    assert not any(tmp_path.iterdir())
