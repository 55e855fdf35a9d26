"""The review report's figures, on scenarios small enough to work out by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from surveillance.errors import InputError
from surveillance.evidence.review import ReviewMetrics, case_tables, review_metrics

DAY = dt.date(2026, 3, 2)
AMM = "amm-1"
Scenario = Callable[[], Any]


def at(clock: str) -> pd.Timestamp:
    return pd.Timestamp(f"{DAY}T{clock}Z")


@pytest.fixture
def metrics_of(scenario_lake: Callable[[Any], Any]) -> Callable[[Any], ReviewMetrics]:
    """The review figures of a scripted matcher's day for the AMM's entity GROUP."""
    return lambda matcher: review_metrics(scenario_lake(matcher), "GROUP", DAY, DAY)


def test_uptime_counts_only_compliant_two_sided_quotes(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    """6 h within 150 bps and 1 h at 200 bps: 25 % compliant, 7/24 two-sided."""
    m = new_matcher()
    bid = m.submit(at("06:00:00"), AMM, "BUY", 2.0, 99.5)
    ask = m.submit(at("06:00:00"), AMM, "SELL", 2.0, 100.5)
    m.cancel(at("12:00:00"), bid)
    m.cancel(at("12:00:00"), ask)
    bid = m.submit(at("18:00:00"), AMM, "BUY", 2.0, 99.0)
    ask = m.submit(at("18:00:00"), AMM, "SELL", 2.0, 101.0)
    m.cancel(at("19:00:00"), bid)
    m.cancel(at("19:00:00"), ask)
    row = metrics_of(m).obligations[0]
    assert row["uptime"] == pytest.approx(6 / 24)
    assert row["two_sided"] == pytest.approx(7 / 24)
    assert row["mean_spread_bps"] == pytest.approx((6 * 100 + 200) / 7)
    assert row["met"] == "BREACHED"


def test_a_quote_smaller_than_the_minimum_size_is_not_compliant(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    m = new_matcher()
    m.submit(at("00:00:00"), AMM, "BUY", 0.5, 99.5)
    m.submit(at("00:00:00"), AMM, "SELL", 2.0, 100.5)
    row = metrics_of(m).obligations[0]
    assert row["uptime"] == 0.0
    assert row["two_sided"] == pytest.approx(1.0)


def test_fill_rates_compare_the_amm_and_clients_at_the_same_price(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    """The AMM joined the level first, so the client's sell fills only the AMM."""
    m = new_matcher()
    m.submit(at("10:00:00"), AMM, "BUY", 2.0, 99.5)
    m.submit(at("10:00:01"), "client-2", "BUY", 2.0, 99.5)
    m.submit(at("10:00:02"), "client-1", "SELL", 2.0)
    row = metrics_of(m).fill_rates[0]
    assert row["shared_levels"] == 1
    assert (row["AMM_fill_rate"], row["client_fill_rate"]) == (1.0, 0.0)


def test_markouts_are_signed_for_the_client(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    """Client buys at 100.5; the mid is 100 a second later and 101 after the requote."""
    m = new_matcher()
    bid = m.submit(at("10:00:00"), AMM, "BUY", 5.0, 99.5)
    ask = m.submit(at("10:00:00"), AMM, "SELL", 5.0, 100.5)
    m.submit(at("10:00:01"), "client-1", "BUY", 1.0)
    m.cancel(at("10:00:05"), bid)
    m.cancel(at("10:00:05"), ask)
    m.submit(at("10:00:05"), AMM, "BUY", 5.0, 100.5)
    m.submit(at("10:00:05"), AMM, "SELL", 5.0, 101.5)
    rows = {
        r["horizon_s"]: r["mean_bps"]
        for r in metrics_of(m).markouts
        if r["counterparty"] == "clients vs the AMM"
    }
    assert rows[1.0] == pytest.approx((100.0 - 100.5) / 100.5 * 1e4)
    assert rows[10.0] == pytest.approx((101.0 - 100.5) / 100.5 * 1e4)


def test_a_client_taker_that_walks_the_book_has_negative_improvement(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    m = new_matcher()
    m.submit(at("10:00:00"), AMM, "SELL", 1.0, 100.0)
    m.submit(at("10:00:00"), AMM, "SELL", 1.0, 101.0)
    m.submit(at("10:00:01"), "client-1", "BUY", 2.0)
    row = metrics_of(m).improvement[0]
    assert row["taker_trades"] == 2
    assert row["worst_bps"] == pytest.approx((100.0 - 101.0) / 100.0 * 1e4)
    assert row["at_or_better_than_quote"] == 0.5


def test_an_amm_instruction_applied_before_an_earlier_clients_is_an_inversion(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    m = new_matcher()
    # The client reached the gateway at .0005, the AMM at .0009; the engine took the AMM first.
    m.submit(at("10:00:01.001"), AMM, "BUY", 1.0, 99.0, latency_ms=0.1)
    m.submit(at("10:00:01.002"), "client-1", "BUY", 1.0, 98.0, latency_ms=1.5)
    rows = metrics_of(m).sequencing
    amm, client = rows
    assert (amm["pairs"], amm["inversions"]) == (1, 1)
    assert (client["pairs"], client["inversions"]) == (0, 0)


def test_latency_is_engine_time_minus_gateway_time(
    new_matcher: Scenario, metrics_of: Callable[[Any], ReviewMetrics]
) -> None:
    m = new_matcher()
    m.submit(at("10:00:00"), AMM, "BUY", 1.0, 99.0, latency_ms=0.5)
    m.submit(at("10:00:01"), "client-1", "BUY", 1.0, 98.0, latency_ms=3.0)
    rows = {r["party"]: r["median_ms"] for r in metrics_of(m).latency}
    assert rows == {"AMM": pytest.approx(0.5), "client": pytest.approx(3.0)}


def test_an_unknown_entity_is_refused(market: tuple[object, object]) -> None:
    settings = market[0]
    with pytest.raises(InputError, match="entity 'NOBODY': no account of it"):
        review_metrics(settings, "NOBODY", DAY, DAY)  # type: ignore[arg-type]


def test_time_to_close_and_open_cases_come_from_the_case_records() -> None:
    cases = [
        {
            "id": 1,
            "status": "CLOSED",
            "severity": "HIGH",
            "typology": "MI_WASH_TRADE",
            "disposition": "FALSE_POSITIVE",
            "created_at": "2026-03-03T00:00:00Z",
            "closed_at": "2026-03-03T10:00:00Z",
        },
        {
            "id": 2,
            "status": "CLOSED",
            "severity": "LOW",
            "typology": "MI_WASH_TRADE",
            "disposition": "NO_FURTHER_ACTION",
            "created_at": "2026-03-03T00:00:00Z",
            "closed_at": "2026-03-04T00:00:00Z",
        },
        {
            "id": 3,
            "status": "IN_REVIEW",
            "severity": "HIGH",
            "typology": "SM_SPOOFING",
            "disposition": None,
            "created_at": "2026-03-03T00:00:00Z",
            "closed_at": None,
        },
    ]
    tables = case_tables(cases, dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    overall = next(r for r in tables["time_to_close"] if r["severity"] == "all")
    assert (overall["closed_cases"], overall["median_hours"], overall["max_hours"]) == (
        2,
        17.0,
        24.0,
    )
    assert [(r["case"], r["age_days"]) for r in tables["open"]] == [(3, 2.0)]
    assert {r["disposition"]: r["cases"] for r in tables["dispositions"]}["OPEN"] == 1


def test_queue_priority_counts_fills_ahead_of_the_other_party(
    new_matcher: Scenario, scenario_lake: Callable[[Any], Any]
) -> None:
    from surveillance import storage
    from surveillance.book.schema import Queue

    m = new_matcher()
    m.submit(at("10:00:00"), AMM, "BUY", 1.0, 99.0)
    settings = scenario_lake(m)
    base = {
        "symbol": "BTC-USD",
        "event_time": at("10:00:01"),
        "trade_id": "T1",
        "side": "BUY",
        "price": 99.0,
        "fill_price": 99.0,
        "fill_quantity": 1.0,
        "leaves_before": 1.0,
        "joined_seq": 1,
        "joined_time": at("10:00:00"),
        "at_best": True,
        "level_orders": 2,
        "level_quantity": 2.0,
        "ahead_quantity": 1.0,
        "ahead_quantities": [1.0],
        "ahead_joined_seqs": [0],
        "ahead_joined_times": [at("09:59:59")],
        "ahead_truncated": False,
    }
    rows = [
        {
            **base,
            "seq": 2,
            "order_id": "O1",
            "account_id": AMM,
            "is_amm": True,
            "queue_position": 1,
            "ahead_order_ids": ["C1"],
            "ahead_account_ids": ["client-2"],
            "ahead_amm": [False],
        },
        {
            **base,
            "seq": 3,
            "order_id": "O2",
            "account_id": "client-2",
            "is_amm": False,
            "queue_position": 0,
            "ahead_order_ids": [],
            "ahead_account_ids": [],
            "ahead_amm": [],
        },
    ]
    storage.write_partition(Queue.from_pylist(rows), settings.lake.book("queue", DAY, "BTC-USD"))
    row = review_metrics(settings, "GROUP", DAY, DAY).priority[0]
    assert (row["amm_maker_fills"], row["amm_fills_ahead_of_clients"]) == (1, 1)
    assert (row["client_maker_fills"], row["client_fills_ahead_of_amm"]) == (1, 0)


def test_a_period_reports_each_day_and_says_which_days_lack_data(
    new_matcher: Scenario, scenario_lake: Callable[[Any], Any]
) -> None:
    m = new_matcher()
    m.submit(at("06:00:00"), AMM, "BUY", 2.0, 99.5)
    m.submit(at("06:00:00"), AMM, "SELL", 2.0, 100.5)
    settings = scenario_lake(m)
    metrics = review_metrics(settings, "GROUP", DAY, DAY + dt.timedelta(days=1))
    assert metrics.days_with_data == [DAY]
    assert [o["day"] for o in metrics.obligations] == [DAY.isoformat()]
    assert any(a.startswith("2026-03-03: no accounts snapshot") for a in metrics.absent)


def test_many_symbol_days_draw_uptime_as_lines_over_days() -> None:
    from surveillance.evidence.review import _obligation_chart

    rows = [
        {"day": f"2026-03-{d:02d}", "symbol": "BTC-USD", "uptime": 0.9, "required_uptime": 0.95}
        for d in range(1, 21)
    ]
    svg = _obligation_chart(rows)
    assert svg.count("<polyline") == 2 and 'class="bar"' not in svg
