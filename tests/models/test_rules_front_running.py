"""Front-running detectors on hand-built scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.scenario import Scenario
from models.rules.front_running import (
    FlowAnticipation,
    FlowAnticipationParams,
    TradingAhead,
    TradingAheadParams,
    _adjusted_p,
)

PARAMS = TradingAheadParams()


def _day(ahead: float, reverse: float) -> Scenario:
    """Small client orders through the day, the AMM's ordinary small trades, and one
    large client buy at 30,000 s; the AMM buys ``ahead`` just before and sells
    ``reverse`` just after."""
    s = Scenario()
    for k in range(30):
        t = 1000.0 + 700 * k
        m = s.new(t, "XMM-1", "SELL", 68000.0, 0.2)
        s.take(t + 1, f"CLI-{k % 4 + 1}", "BUY", [(m, 0.1)])
        m2 = s.new(t + 5, "XMM-2", "BUY", 67990.0, 0.2)
        s.take(t + 6, "AMM-1", "SELL", [(m2, 0.05)])
    if ahead:
        m = s.new(29_990, "XMM-1", "SELL", 68000.0, ahead)
        s.take(29_996, "AMM-1", "BUY", [(m, ahead)])
    big = s.new(29_999, "XMM-2", "SELL", 68010.0, 5.0)
    s.take(30_000, "CLI-5", "BUY", [(big, 5.0)], latency=0.5)
    if reverse:
        b = s.new(30_010, "XMM-1", "BUY", 68100.0, reverse)
        s.take(30_012, "AMM-1", "SELL", [(b, reverse)])
    return s


def test_trading_ahead_fires_on_buy_before_and_sell_after() -> None:
    out = TradingAhead().run(_day(1.0, 1.0).build(), PARAMS)
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_trading_ahead_explanation_names_client_and_profit() -> None:
    out = TradingAhead().run(_day(1.0, 1.0).build(), PARAMS)
    text = out.candidates.iloc[0]["explanation"]
    assert "CLI-5" in text and "bps" in text


def test_trading_ahead_is_silent_on_one_slice_without_reversal() -> None:
    out = TradingAhead().run(_day(1.0, 0.0).build(), PARAMS)
    assert out.candidates.empty


def test_trading_ahead_fires_when_an_aggressive_way_back_found_little() -> None:
    """An IOC back that filled 3 % of the position is still a decision to trade back."""
    out = TradingAhead().run(_day(1.0, 0.03).build(), PARAMS)
    assert list(out.candidates["account_id"]) == ["AMM-1"]
    assert out.candidates.iloc[0]["features"]["reversal_qty"] == pytest.approx(0.03)


def test_trading_ahead_is_silent_when_only_a_crumb_of_fresh_quotes_fills_back() -> None:
    """Fresh quotes filled for 3 % of the position are ordinary market making: one slice
    bought ahead of and not traded back deliberately is short of the bar."""
    s = _day(1.0, 0.0)
    quote = s.new(30_010, "AMM-1", "SELL", 68100.0, 0.03)
    s.take(30_011, "CLI-6", "BUY", [(quote, 0.03)])
    assert TradingAhead().run(s.build(), PARAMS).candidates.empty


def test_trading_ahead_counts_what_it_took_ahead_not_its_net() -> None:
    """A buy ahead hedged by an aggressive sale half a second later is still a buy ahead:
    the hedge does not undo the use of what the account knew."""
    s = _day(1.0, 1.0)
    bid = s.new(29_996.4, "XMM-2", "BUY", 67990.0, 1.0)
    s.take(29_996.5, "AMM-1", "SELL", [(bid, 1.0)])
    out = TradingAhead().run(s.build(), PARAMS)
    assert list(out.candidates["account_id"]) == ["AMM-1"]
    assert out.candidates.iloc[0]["features"]["ahead_qty"] == pytest.approx(1.0)


def _tests_of_a_day(p_slice: list[float], p_parent: list[float]) -> pd.DataFrame:
    """One AMM account's four slice tests: slices 0-1 of parent A, 2-3 of parent B."""
    return pd.DataFrame(
        {
            "amm_account": ["AMM-1"] * 4,
            "parent": ["A", "A", "B", "B"],
            "p_slice": p_slice,
            "p_parent": p_parent,
        }
    )


def test_trading_ahead_adjustment_asks_as_much_as_bonferroni_of_a_lone_episode() -> None:
    """One telling slice among four tests and two parents: p * 4 slices / 3/4 of alpha."""
    adjusted = _adjusted_p(_tests_of_a_day([0.001, 1.0, 1.0, 1.0], [1.0] * 4), 4, 2)
    assert adjusted[0] == pytest.approx(0.001 * 4 / 0.75)
    assert (adjusted[1:] == 1.0).all()


def test_trading_ahead_adjustment_asks_less_of_a_second_episode_the_same_day() -> None:
    """Benjamini-Hochberg over the six weighted tests (weights 1.125 per slice, 0.75 per
    parent): beside a clear slice, parent B (0.01) and its slice (0.02) pass at 0.05,
    where Bonferroni would ask 0.08 and 0.107 of them."""
    frame = _tests_of_a_day([0.001, 0.5, 0.02, 1.0], [1.0, 1.0, 0.01, 0.01])
    adjusted = _adjusted_p(frame, 4, 2)
    assert adjusted == pytest.approx(
        [0.001 * 6 / 1.125, 0.5 / 1.125 * 6 / 4, 0.02 / 1.125 * 6 / 3, 0.02 / 1.125 * 6 / 3]
    )
    assert (adjusted[2:] < PARAMS.alpha).all()


def _unreversed_parent_day() -> Scenario:
    """The day of :func:`_day` without its large order; instead a client parent of three
    large slices 20 s apart, each bought ahead of by AMM-1 4 s before, never sold back
    (the way back did not fill)."""
    s = _day(0.0, 0.0)
    for k in range(3):
        t = 40_000.0 + 20 * k
        m = s.new(t - 10, "XMM-1", "SELL", 68000.0, 1.0)
        s.take(t - 4, "AMM-1", "BUY", [(m, 1.0)])
        big = s.new(t - 1, "XMM-2", "SELL", 68010.0, 5.0)
        s.take(t, "CLI-5", "BUY", [(big, 5.0)], latency=0.5)
    return s


def test_trading_ahead_pools_a_parents_slices_traded_ahead_without_reversal() -> None:
    """Each slice alone is short of the bar without a way back; the parent traded ahead
    three times is not."""
    out = TradingAhead().run(_unreversed_parent_day().build(), PARAMS)
    assert list(out.candidates["account_id"]) == ["AMM-1"]
    features = out.candidates.iloc[0]["features"]
    assert features["reversal_qty"] == 0.0
    assert features["client_orders"] == 3
    assert features["p_parent"] < features["p_slice"]


def _habitual_buys(s: Scenario, *, sells_back: bool) -> None:
    """AMM-1 buys aggressively every half minute all day (away from the large order at
    30,000 s), and sells back 10 s later when ``sells_back``."""
    for k in range(1500):
        t = 20_000.0 + 30 * k + 0.5
        if abs(t - 30_000) < 60:
            continue
        m = s.new(t - 0.1, "XMM-1", "SELL", 68000.0, 1.0)
        s.take(t, "AMM-1", "BUY", [(m, 1.0)])
        if sells_back:
            b = s.new(t + 9.9, "XMM-2", "BUY", 68000.0, 1.0)
            s.take(t + 10, "AMM-1", "SELL", [(b, 1.0)])


def test_trading_ahead_without_reversal_is_silent_when_buying_ahead_is_a_habit() -> None:
    """An account that buys as much aggressively every half minute all day (a hedger) and
    does not trade back: buying before the large order is its habit, not trading ahead."""
    s = _day(1.0, 0.0)
    _habitual_buys(s, sells_back=False)
    out = TradingAhead().run(s.build(), PARAMS)
    assert out.candidates.empty
    row = out.features[out.features["amm_account"] == "AMM-1"].iloc[-1]
    assert row["placebo_ahead_count"] > 100


def test_trading_ahead_ignores_a_quote_that_crossed() -> None:
    """The same buy done by a resting quote that crossed is market making, not ahead."""
    s = _day(0.0, 1.0)
    m = s.new(29_990, "XMM-1", "SELL", 68000.0, 1.0)
    s.trade(29_996, s.new(29_996, "AMM-1", "BUY", 68000.0, 1.0), m, 1.0)
    assert TradingAhead().run(s.build(), PARAMS).candidates.empty


def test_trading_ahead_is_silent_when_the_round_trip_is_the_accounts_habit() -> None:
    """An account that buys and sells back every half minute all day does the same around
    the large order by habit: its own behaviour at other times is the baseline."""
    s = _day(1.0, 1.0)
    _habitual_buys(s, sells_back=True)
    out = TradingAhead().run(s.build(), PARAMS)
    assert out.candidates.empty
    row = out.features[out.features["amm_account"] == "AMM-1"].iloc[-1]
    assert row["placebo_count"] > 100


def test_trading_ahead_is_silent_when_amm_does_not_trade_ahead() -> None:
    out = TradingAhead().run(_day(0.0, 1.0).build(), PARAMS)
    assert out.candidates.empty


def _flow_day(lead: bool, seed: int = 3, quote: bool = False) -> Scenario:
    """Clients trade in random directions every 30 s; the AMM trades against an
    external MM either 10 s before the clients in their direction (lead) or at random,
    with IOC orders, or (``quote``) with resting quotes that the book fills at once."""
    rng = np.random.default_rng(seed)
    s = Scenario()
    price = 68000.0
    for k in range(400):
        t = 100.0 + 30 * k
        direction = rng.choice(["BUY", "SELL"])
        amm_dir = direction if lead else rng.choice(["BUY", "SELL"])
        opp = "SELL" if amm_dir == "BUY" else "BUY"
        m = s.new(t, "XMM-1", opp, price, 0.3)
        if quote:
            s.trade(t + 0.5, s.new(t + 0.5, "AMM-1", amm_dir, price, 0.3), m, 0.3)
        else:
            s.take(t + 0.5, "AMM-1", amm_dir, [(m, 0.3)])
        copp = "SELL" if direction == "BUY" else "BUY"
        m2 = s.new(t + 9, "XMM-2", copp, price, 1.0)
        s.take(t + 10, f"CLI-{k % 5 + 1}", direction, [(m2, 1.0)])
        m3 = s.new(t + 15, "XMM-1", "SELL", price, 0.1)
        s.take(t + 15.5, "XMM-2", "BUY", [(m3, 0.1)])
    return s


def test_flow_anticipation_fires_when_amm_leads_clients() -> None:
    out = FlowAnticipation().run(_flow_day(True).build(), FlowAnticipationParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_flow_anticipation_is_silent_on_unrelated_flow() -> None:
    out = FlowAnticipation().run(_flow_day(False).build(), FlowAnticipationParams())
    assert out.candidates.empty


def _persistent_day(seed: int = 5) -> Scenario:
    """Clients' direction persists for minutes (runs of trades on one side); the AMM
    trades aggressively right after each client trade, in that trade's direction: it
    follows the flow it has seen, which says nothing about flow it has not."""
    rng = np.random.default_rng(seed)
    s = Scenario()
    price = 68000.0
    direction = "BUY"
    for k in range(400):
        t = 100.0 + 30 * k
        if rng.random() < 0.15:
            direction = "SELL" if direction == "BUY" else "BUY"
        side = direction if rng.random() < 0.8 else ("SELL" if direction == "BUY" else "BUY")
        opp = "SELL" if side == "BUY" else "BUY"
        m = s.new(t, "XMM-2", opp, price, 1.0)
        s.take(t + 1, f"CLI-{k % 5 + 1}", side, [(m, 1.0)])
        m2 = s.new(t + 2, "XMM-1", opp, price, 0.3)
        s.take(t + 3, "AMM-1", side, [(m2, 0.3)])
    return s


def test_flow_anticipation_is_silent_when_amm_follows_flow_it_has_seen() -> None:
    out = FlowAnticipation().run(_persistent_day().build(), FlowAnticipationParams())
    assert out.candidates.empty


def test_flow_anticipation_explains_window_and_baseline() -> None:
    out = FlowAnticipation().run(_flow_day(True).build(), FlowAnticipationParams())
    row = out.candidates.iloc[0]
    assert "aggressive orders" in row["explanation"] and "shifted" in row["explanation"]
    assert row["features"]["z"] > 5 and row["features"]["baseline_shifts"] == 400
    assert row["order_ids"]


def test_flow_anticipation_ignores_quotes_that_cross() -> None:
    """The same leading trades done by resting quotes that crossed are not judged: a
    quote is market making, and only orders sent to take liquidity are decisions."""
    out = FlowAnticipation().run(_flow_day(True, quote=True).build(), FlowAnticipationParams())
    assert out.candidates.empty
    amm = out.features.set_index("account_id").loc["AMM-1"]
    assert amm["orders"] == 0 and np.isnan(amm["z_max"])


def _parent_day(ahead_slices: tuple[int, ...]) -> Scenario:
    """A client's large buy parent of four slices 40 s apart; the AMM buys just before the
    slices in ``ahead_slices`` and sells back after them, and otherwise makes the same
    round trip by habit every minute from 20,000 s to 60,000 s."""
    s = Scenario()
    for k in range(30):
        t = 1000.0 + 700 * k
        m = s.new(t, "XMM-1", "SELL", 68000.0, 0.2)
        s.take(t + 1, f"CLI-{k % 4 + 1}", "BUY", [(m, 0.1)])
    t = 20_000.0
    while t < 60_000:
        if not 29_800 < t < 30_400:
            m = s.new(t - 0.1, "XMM-1", "SELL", 68000.0, 1.0)
            s.take(t, "AMM-1", "BUY", [(m, 1.0)])
            b = s.new(t + 9.9, "XMM-2", "BUY", 68000.0, 1.0)
            s.take(t + 10, "AMM-1", "SELL", [(b, 1.0)])
        t += 60.0
    for j in range(4):
        ts = 30_000.0 + 40 * j
        if j in ahead_slices:
            m = s.new(ts - 3, "XMM-1", "SELL", 68000.0, 1.0)
            s.take(ts - 2.5, "AMM-1", "BUY", [(m, 1.0)])
        big = s.new(ts - 1, "XMM-2", "SELL", 68010.0, 5.0)
        s.take(ts, "CLI-5", "BUY", [(big, 5.0)], latency=0.5)
        if j in ahead_slices:
            b = s.new(ts + 9.9, "XMM-1", "BUY", 68100.0, 1.0)
            s.take(ts + 10, "AMM-1", "SELL", [(b, 1.0)])
    return s


def test_trading_ahead_gathers_several_slices_of_one_parent() -> None:
    """One round trip ahead of one slice is within the habit of an account that makes one
    every minute; the same ahead of three of the parent's four slices is not."""
    one = TradingAhead().run(_parent_day((0,)).build(), PARAMS)
    assert one.candidates.empty
    three = TradingAhead().run(_parent_day((0, 1, 2)).build(), PARAMS)
    assert list(three.candidates["account_id"]) == ["AMM-1"]
    assert three.candidates.iloc[0]["features"]["p_parent"] < 1e-4
