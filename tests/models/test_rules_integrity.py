"""Market-integrity detectors on hand-built scenarios: they fire on the conduct, not on noise."""

from __future__ import annotations

import json

import pytest

from features.scenario import Scenario
from models.rules.base import finish_alerts
from models.rules.integrity import (
    LiquidationHunting,
    LiquidationHuntingParams,
    ObligationBreach,
    ObligationBreachParams,
    WashTrade,
    WashTradeParams,
)


def _quotes(s: Scenario, start: float, bid: float, ask: float, qty: float = 1.0) -> tuple[str, str]:
    b = s.new(start, "AMM-1", "BUY", bid, qty)
    a = s.new(start + 0.01, "AMM-1", "SELL", ask, qty)
    return b, a


def test_wash_trade_between_amm_and_house_fires_on_the_amm() -> None:
    s = Scenario()
    maker = s.new(100, "HOUSE-1", "SELL", 68000.0, 0.5)
    s.take(101, "AMM-1", "BUY", [(maker, 0.5)])
    other = s.new(200, "XMM-1", "SELL", 68010.0, 0.5)
    s.take(201, "CLI-1", "BUY", [(other, 0.5)])
    out = WashTrade().run(s.build(), WashTradeParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_wash_trade_is_silent_when_ownership_changes() -> None:
    s = Scenario()
    maker = s.new(100, "XMM-1", "SELL", 68000.0, 0.5)
    s.take(101, "AMM-1", "BUY", [(maker, 0.5)])
    out = WashTrade().run(s.build(), WashTradeParams())
    assert out.candidates.empty


def test_wash_trade_alert_carries_contract_columns_and_baselines() -> None:
    s = Scenario()
    maker = s.new(100, "AMM-2", "SELL", 68000.0, 0.5)
    s.take(101, "AMM-1", "BUY", [(maker, 0.5)])
    data = s.build()
    params = WashTradeParams()
    alerts = finish_alerts(WashTrade, params, data, WashTrade().run(data, params).candidates)
    row = alerts.iloc[0]
    assert (row["typology"], row["family"], row["detector"], row["entity_id"]) == (
        "MI_WASH_TRADE",
        "MARKET_INTEGRITY",
        "rule:wash_trade",
        "ENT-GROUP",
    )
    assert "baseline_median_trade_qty" in json.loads(row["features"])


def _liquidation_day(*, push: float, absorb_qty: float = 1.5) -> Scenario:
    """A day of ladder quoting with one cluster of three liquidations (1.5 in all).

    AMM-1 quotes 0.4 bids all day (its usual size). Before the cluster it enters a bid of
    ``absorb_qty`` below the market and, when ``push`` > 0, sells ``push`` aggressively
    into the external bids above it; the three liquidation sells then fill its bid.
    """
    s = Scenario()
    for k in range(20):
        s.new(1000 + k * 600, "AMM-1", "BUY", 67990.0 - k, 0.4)
        m = s.new(1000 + k * 600 + 1, "XMM-1", "SELL", 68000.0, 0.05)
        s.take(1000 + k * 600 + 2, "AMM-1", "BUY", [(m, 0.05)])
    bid = s.new(20000, "AMM-1", "BUY", 67800.0, absorb_qty)
    if push:
        for k in range(4):
            m = s.new(20001 + k, "XMM-2", "BUY", 67900.0 - k * 10, push / 4)
            s.take(20001.5 + k, "AMM-1", "SELL", [(m, push / 4)])
    for k in range(3):
        s.take(20010 + k, f"CLI-{k + 1}", "SELL", [(bid, 0.5)], origin="LIQUIDATION")
    return s


def test_liquidation_hunting_fires_on_positioned_order_push_then_take() -> None:
    out = LiquidationHunting().run(_liquidation_day(push=0.4).build(), LiquidationHuntingParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]
    features = out.candidates.iloc[0]["features"]
    assert features["size_ratio"] == pytest.approx(1.0)
    assert features["push_share"] == pytest.approx(1.0)


def test_liquidation_hunting_is_silent_without_the_push() -> None:
    out = LiquidationHunting().run(_liquidation_day(push=0.0).build(), LiquidationHuntingParams())
    assert out.candidates.empty


def test_liquidation_hunting_is_silent_when_the_order_is_an_ordinary_quote() -> None:
    # The bid that absorbed the cluster has the account's usual quote size: market making.
    out = LiquidationHunting().run(
        _liquidation_day(push=0.4, absorb_qty=0.4).build(), LiquidationHuntingParams()
    )
    assert out.candidates.empty


def test_liquidation_hunting_is_silent_when_a_peer_stood_the_same_way() -> None:
    # An external market maker waited for the same cascade with its own bid of the cluster's
    # size and pushed as much: the market's behaviour, not the AMM's. It absorbs two of the
    # three liquidations (its bid is higher), the AMM one.
    s = Scenario()
    for k in range(20):
        s.new(1000 + k * 600, "AMM-1", "BUY", 67990.0 - k, 0.4)
    amm_bid = s.new(20000, "AMM-1", "BUY", 67800.0, 1.5)
    peer_bid = s.new(20000.2, "XMM-1", "BUY", 67850.0, 1.5)
    for k in range(4):
        m = s.new(20001 + k, "XMM-2", "BUY", 67900.0 - k * 10, 0.2)
        s.take(20001.3 + k, "AMM-1", "SELL", [(m, 0.1)])
        s.take(20001.6 + k, "XMM-1", "SELL", [(m, 0.1)])
    s.take(20010, "CLI-1", "SELL", [(peer_bid, 0.5)], origin="LIQUIDATION")
    s.take(20011, "CLI-2", "SELL", [(peer_bid, 0.5)], origin="LIQUIDATION")
    s.take(20012, "CLI-3", "SELL", [(amm_bid, 0.5)], origin="LIQUIDATION")
    out = LiquidationHunting().run(s.build(), LiquidationHuntingParams())
    assert out.candidates.empty
    score = dict(zip(out.features["account_id"], out.features["score"], strict=True))
    assert score["XMM-1"] > score["AMM-1"] > 0


def _obligation_day(gap_from: float | None) -> Scenario:
    s = Scenario(
        instrument={"mm_max_spread_bps": 10.0, "mm_min_quote_quantity": 0.5, "mm_min_uptime": 0.9}
    )
    b, a = _quotes(s, 0.5, 67999.0, 68001.0)
    t = 60.0
    while t < 86_000:
        if gap_from is not None and gap_from <= t < gap_from + 1800:
            s.cancel(t, b)
            s.cancel(t + 0.01, a)
            t = gap_from + 1800
            b, a = _quotes(s, t, 67999.0, 68001.0)
        s.replace(t + 30, b, price=67999.1)
        s.replace(t + 31, b, price=67999.0)
        t += 60
    return s


def test_obligation_breach_fires_on_a_long_withdrawal() -> None:
    out = ObligationBreach().run(_obligation_day(40_020).build(), ObligationBreachParams())
    row = out.candidates.iloc[0]
    assert (row["account_id"], len(out.candidates)) == ("AMM-1", 1)
    assert row["window_end"] - row["window_start"] == pytest.approx(1800e9, rel=0.01)


def test_obligation_breach_is_silent_on_continuous_quoting() -> None:
    out = ObligationBreach().run(_obligation_day(None).build(), ObligationBreachParams())
    assert out.candidates.empty


def test_obligation_breach_finds_each_of_two_breaches() -> None:
    # Two long withdrawals on one day: the first must not become the baseline of the second.
    s = _obligation_day(None)
    s2 = Scenario(instrument=s.instrument)
    b, a = _quotes(s2, 0.5, 67999.0, 68001.0)
    for gap_from, length in ((20_010.0, 2400.0), (60_010.0, 900.0)):
        s2.cancel(gap_from, b)
        s2.cancel(gap_from + 0.01, a)
        b, a = _quotes(s2, gap_from + length, 67999.0, 68001.0)
    out = ObligationBreach().run(s2.build(), ObligationBreachParams())
    durations = sorted((out.candidates["window_end"] - out.candidates["window_start"]) / 1e9)
    assert durations == pytest.approx([900.0, 2400.0], rel=0.01)


def test_obligation_counts_the_ladder_behind_a_partly_filled_best_level() -> None:
    # The best ask is filled down to 0.1 (under the 0.5 least size), but the next level,
    # within the 10 bps maximum, holds the size: the quote still meets the obligation.
    s = Scenario(
        instrument={"mm_max_spread_bps": 10.0, "mm_min_quote_quantity": 0.5, "mm_min_uptime": 0.9}
    )
    _quotes(s, 0.5, 67999.0, 68001.0)
    ask = s.new(0.7, "AMM-1", "SELL", 68000.5, 1.0)
    s.take(100.0, "CLI-1", "BUY", [(ask, 0.9)])
    out = ObligationBreach().run(s.build(), ObligationBreachParams())
    assert out.candidates.empty
    thin = Scenario(instrument=s.instrument)
    thin.new(0.5, "AMM-1", "BUY", 67999.0, 1.0)
    ask = thin.new(0.7, "AMM-1", "SELL", 68000.5, 1.0)
    thin.take(100.0, "CLI-1", "BUY", [(ask, 0.9)])
    out = ObligationBreach().run(thin.build(), ObligationBreachParams())
    assert list(out.candidates["features"].map(lambda f: f.get("reason"))) == ["size"]
