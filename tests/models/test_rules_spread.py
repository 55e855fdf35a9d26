"""Spread-manipulation detectors on hand-built scenarios."""

from __future__ import annotations

from features.scenario import Scenario
from models.rules.spread import (
    QuoteFade,
    QuoteFadeParams,
    Spoofing,
    SpoofingParams,
    SpreadWidening,
    SpreadWideningParams,
)


def _churn(s: Scenario, until: float) -> tuple[str, str]:
    """The AMM's two-sided quote, refreshed every 20 s (ordinary churn)."""
    bid = s.new(1, "AMM-1", "BUY", 67995.0, 0.5)
    ask = s.new(1.1, "AMM-1", "SELL", 68005.0, 0.5)
    t = 20.0
    while t < until:
        s.replace(t, bid, price=67995.1)
        s.replace(t + 10, bid, price=67995.0)
        t += 20
    return bid, ask


def _fade_day(fade: bool) -> Scenario:
    s = Scenario()
    _bid, ask = _churn(s, 5000)
    x = s.new(5000, "XMM-1", "SELL", 68010.0, 1.0)
    if fade:
        # the client's buy reaches the gateway at 5000.50; the AMM's cancel arrives at
        # 5000.52 and the engine applies it first
        s.cancel(5000.521, ask, latency=0.001)
    s.take(5000.6, "CLI-1", "BUY", [(x, 0.5)], latency=0.1)
    return s


def test_quote_fade_fires_when_amm_pulls_the_quote_a_client_is_about_to_hit() -> None:
    out = QuoteFade().run(_fade_day(True).build(), QuoteFadeParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_quote_fade_is_silent_when_the_quote_stays() -> None:
    out = QuoteFade().run(_fade_day(False).build(), QuoteFadeParams())
    assert out.candidates.empty


def _widening_day(widen: bool, *, lasting: bool = False, consumed: bool = False) -> Scenario:
    s = Scenario()
    bid = s.new(1, "AMM-1", "BUY", 67995.0, 0.5)
    ask = s.new(1.1, "AMM-1", "SELL", 68005.0, 0.5)
    s.new(1.15, "AMM-1", "BUY", 67980.0, 0.5)  # the AMM's second bid level
    s.new(1.2, "XMM-1", "BUY", 67990.0, 0.5)
    peer_ask = s.new(1.3, "XMM-1", "SELL", 68010.0, 5.0)
    # ordinary client flow: small buys from the external MM's ask every 10 minutes
    for k in range(40):
        t = 600.0 + 600 * k
        s.take(t, f"CLI-{k % 4 + 1}", "BUY", [(peer_ask, 0.01)])
        s.replace(t + 1, bid, price=67995.1)
        s.replace(t + 2, bid, price=67995.0)
    if widen:
        s.replace(24_580, bid, price=67900.0)
        s.replace(24_580.1, ask, price=68100.0)
    if consumed:
        # a client sells the AMM's whole best bid: its spread widens by the client's act
        s.take(24_598, "CLI-6", "SELL", [(bid, 0.5)])
        s.replace(24_598.5, ask, price=68005.2)  # an ordinary requote of the other side
    s.take(24_600, "CLI-5", "BUY", [(peer_ask, 3.0)])
    if consumed:
        s.new(24_603, "AMM-1", "BUY", 67995.0, 0.5)  # it replenishes the level
    if not lasting and not consumed:
        s.replace(24_605, bid, price=67995.0)
        s.replace(24_605.1, ask, price=68005.0)
    return s


def test_spread_widening_fires_before_a_large_client_order() -> None:
    out = SpreadWidening().run(_widening_day(True).build(), SpreadWideningParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_spread_widening_is_silent_at_the_usual_spread() -> None:
    out = SpreadWidening().run(_widening_day(False).build(), SpreadWideningParams())
    assert out.candidates.empty


def test_spread_widening_is_silent_when_the_wider_spread_lasts() -> None:
    # the same widening 20 s before the order, but kept afterwards: a change of quoting
    # (a volatile regime, a new policy), not a widening aimed at the order
    out = SpreadWidening().run(_widening_day(True, lasting=True).build(), SpreadWideningParams())
    assert out.candidates.empty


def test_spread_widening_is_silent_when_a_client_consumed_the_best_level() -> None:
    # the spread is wider before the large order only because a client took the AMM's
    # best bid; the AMM's own instructions never widened it
    out = SpreadWidening().run(_widening_day(False, consumed=True).build(), SpreadWideningParams())
    assert out.candidates.empty
    assert out.features["ratio"].max() < 1.1


def _spoof_day(
    *,
    cancel: bool = True,
    trade_while_resting: bool = True,
    layer_qty: float = 2.0,
    cancel_at: float = 2003.5,
) -> Scenario:
    """AMM-1 quotes 0.5 a side all day, requoting by cancel and new every 20 s; at 2001 s
    it enters three buy layers behind the external MM's bid, sells into that bid, and
    cancels the layers."""
    s = Scenario()
    quotes = [s.new(1, "AMM-1", "BUY", 67995.0, 0.5), s.new(1.1, "AMM-1", "SELL", 68005.0, 0.5)]

    def churn(ks: range) -> None:
        for k in ks:
            t = 20.0 * k
            s.cancel(t, quotes[0])
            quotes[0] = s.new(t + 0.01, "AMM-1", "BUY", 67995.0 - (k % 2) * 0.1, 0.5)
            s.cancel(t + 0.02, quotes[1])
            quotes[1] = s.new(t + 0.03, "AMM-1", "SELL", 68005.0 + (k % 2) * 0.1, 0.5)

    churn(range(1, 100))
    peer_bid = s.new(1990, "XMM-1", "BUY", 67996.0, 0.2)
    s.new(1990.1, "XMM-1", "SELL", 68006.0, 1.0)
    layers = [s.new(2001 + i * 0.05, "AMM-1", "BUY", 67994.0 - i, layer_qty) for i in range(3)]
    if trade_while_resting:
        s.take(2002, "AMM-1", "SELL", [(peer_bid, 0.2)])
    if cancel:
        for i, o in enumerate(layers):
            s.cancel(cancel_at + i * 0.01 * (cancel_at > 2002), o)
    if not trade_while_resting:
        s.take(2004, "AMM-1", "SELL", [(peer_bid, 0.2)])
    churn(range(101, 200))
    return s


def test_spoofing_fires_on_layers_cancelled_after_an_opposite_execution() -> None:
    out = Spoofing().run(_spoof_day().build(), SpoofingParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]
    features = out.candidates.iloc[0]["features"]
    assert features["layers"] == 3 and features["opposite_trades"] == 1
    assert features["resting_vs_usual"] > 10


def test_spoofing_is_silent_when_the_layers_stay() -> None:
    out = Spoofing().run(_spoof_day(cancel=False).build(), SpoofingParams())
    assert out.candidates.empty


def test_spoofing_is_silent_without_an_execution_while_the_layers_rest() -> None:
    # the same layers and the same sale, but the sale comes after the cancels
    out = Spoofing().run(_spoof_day(trade_while_resting=False).build(), SpoofingParams())
    assert out.candidates.empty


def test_spoofing_is_silent_when_the_layers_only_match_the_usual_resting_size() -> None:
    # layers of 0.21 in all: a third of the visible bid depth, but they leave the
    # account's resting bid at 1.4x its usual 0.5, what an ordinary requote could do
    out = Spoofing().run(_spoof_day(layer_qty=0.07).build(), SpoofingParams())
    assert out.candidates.empty
    burst = out.features[out.features["n_orders"] == 3].iloc[0]
    assert burst["size_vs_depth"] > 0.25 and burst["resting_vs_usual"] < 1.5


def test_spoofing_is_silent_when_the_orders_go_with_the_execution() -> None:
    # cancelled in the same matching event as the sale (self-trade prevention, a
    # requote): not a withdrawal decided once the account had traded
    out = Spoofing().run(_spoof_day(cancel_at=2002).build(), SpoofingParams())
    assert out.candidates.empty
