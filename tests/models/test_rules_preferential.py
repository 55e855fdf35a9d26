"""Preferential-treatment detectors on hand-built scenarios."""

from __future__ import annotations

import numpy as np

from features.scenario import Scenario
from models.rules.preferential import (
    OffMarketExecution,
    OffMarketParams,
    PriorityBreach,
    PriorityBreachParams,
    SequencingAdvantage,
    SequencingAdvantageParams,
)


def test_priority_breach_fires_when_amm_fill_jumps_an_earlier_client_order() -> None:
    s = Scenario()
    client = s.new(10, "CLI-1", "SELL", 68000.0, 0.5)
    amm = s.new(11, "AMM-1", "SELL", 68000.0, 0.5)
    taker = s.new(12, "CLI-2", "BUY", 68000.0, 0.5, tif="IOC")
    s.trade(12, taker, amm, 0.5)
    out = PriorityBreach().run(s.build(), PriorityBreachParams())
    assert out.candidates.iloc[0]["order_ids"] == [amm, client]


def test_priority_breach_is_silent_in_time_priority() -> None:
    s = Scenario()
    client = s.new(10, "CLI-1", "SELL", 68000.0, 0.5)
    amm = s.new(11, "AMM-1", "SELL", 68000.0, 0.5)
    s.take(12, "CLI-2", "BUY", [(client, 0.5), (amm, 0.5)])
    out = PriorityBreach().run(s.build(), PriorityBreachParams())
    assert out.candidates.empty


def test_priority_breach_allows_self_trade_prevention() -> None:
    s = Scenario()
    s.new(10, "CLI-2", "SELL", 68000.0, 0.5)  # the taker's own order, skipped by STP
    amm = s.new(11, "AMM-1", "SELL", 68000.0, 0.5)
    taker = s.new(12, "CLI-2", "BUY", 68000.0, 0.5, tif="IOC")
    s.trade(12, taker, amm, 0.5)
    out = PriorityBreach().run(s.build(), PriorityBreachParams())
    assert out.candidates.empty


def _sequencing_day(amm_latency: float) -> Scenario:
    """Ordinary traffic with 1-3 ms gateway-to-engine latency, then an AMM cancel received
    after a client's buy but applied first, which the engine took ``amm_latency`` s for."""
    rng = np.random.default_rng(1)
    s = Scenario()
    for k in range(300):
        t = 100.0 + 20 * k
        o = s.new(t, "XMM-1", "SELL", 68010.0, 0.2, latency=float(rng.uniform(0.001, 0.003)))
        s.cancel(t + 5, o, latency=float(rng.uniform(0.001, 0.003)))
        c = s.new(t + 7, "CLI-1", "BUY", 67900.0, 0.1, latency=float(rng.uniform(0.001, 0.003)))
        s.cancel(t + 8, c, latency=float(rng.uniform(0.001, 0.003)))
    ask = s.new(7000, "AMM-1", "SELL", 68000.0, 0.5)
    s.cancel(7010.0, ask, latency=amm_latency)
    other = s.new(7009.5, "XMM-1", "SELL", 68020.0, 0.5)
    # the client's buy reached the gateway 0.1 ms before the AMM's cancel
    s.take(7010.001, "CLI-2", "BUY", [(other, 0.5)], latency=0.001 + amm_latency + 0.0001)
    return s


def test_sequencing_advantage_fires_when_the_amm_is_applied_impossibly_fast() -> None:
    out = SequencingAdvantage().run(_sequencing_day(0.00001).build(), SequencingAdvantageParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_sequencing_advantage_is_silent_within_natural_jitter() -> None:
    out = SequencingAdvantage().run(_sequencing_day(0.002).build(), SequencingAdvantageParams())
    assert out.candidates.empty


def test_off_market_fires_when_client_pays_above_the_best_ask() -> None:
    s = Scenario()
    s.new(10, "XMM-1", "SELL", 68000.0, 0.5)
    amm = s.new(11, "AMM-1", "SELL", 68050.0, 0.5)
    taker = s.new(12, "CLI-1", "BUY", 68050.0, 0.5, tif="IOC")
    s.trade(12, taker, amm, 0.5)
    out = OffMarketExecution().run(s.build(), OffMarketParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_off_market_is_silent_when_a_sweep_walks_the_book() -> None:
    s = Scenario()
    x = s.new(10, "XMM-1", "SELL", 68000.0, 0.5)
    amm = s.new(11, "AMM-1", "SELL", 68050.0, 0.5)
    s.take(12, "CLI-1", "BUY", [(x, 0.5), (amm, 0.5)])
    out = OffMarketExecution().run(s.build(), OffMarketParams())
    assert out.candidates.empty


def test_off_market_fires_outside_the_reference_band() -> None:
    s = Scenario()
    s.reference(5, 68000.0)
    amm = s.new(10, "AMM-1", "SELL", 69000.0, 0.5)
    s.take(12, "CLI-1", "BUY", [(amm, 0.5)])
    out = OffMarketExecution().run(s.build(), OffMarketParams())
    assert "reference price" in out.candidates.iloc[0]["explanation"]
