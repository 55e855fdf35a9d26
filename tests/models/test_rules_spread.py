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


def _widening_day(widen: bool) -> Scenario:
    s = Scenario()
    bid = s.new(1, "AMM-1", "BUY", 67995.0, 0.5)
    ask = s.new(1.1, "AMM-1", "SELL", 68005.0, 0.5)
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
    s.take(24_600, "CLI-5", "BUY", [(peer_ask, 3.0)])
    s.replace(24_610, bid, price=67995.0)
    s.replace(24_610.1, ask, price=68005.0)
    return s


def test_spread_widening_fires_before_a_large_client_order() -> None:
    out = SpreadWidening().run(_widening_day(True).build(), SpreadWideningParams())
    assert list(out.candidates["account_id"]) == ["AMM-1"]


def test_spread_widening_is_silent_at_the_usual_spread() -> None:
    out = SpreadWidening().run(_widening_day(False).build(), SpreadWideningParams())
    assert out.candidates.empty


def _spoof_day(cancel: bool) -> Scenario:
    s = Scenario()
    for k in range(10):
        o = s.new(100 + k * 100, "AMM-1", "BUY", 67990.0, 0.2)
        s.cancel(150 + k * 100, o)
    bid = s.new(2000, "XMM-1", "BUY", 67995.0, 0.5)
    s.new(2000.1, "XMM-1", "SELL", 68005.0, 1.0)
    layers = [s.new(2001 + i * 0.2, "AMM-1", "BUY", 67994.0 - i, 2.0) for i in range(3)]
    s.take(2003, "AMM-1", "SELL", [(bid, 0.5)])
    if cancel:
        for i, o in enumerate(layers):
            s.cancel(2004 + i * 0.1, o)
    return s


def test_spoofing_fires_on_large_layers_cancelled_after_an_opposite_fill() -> None:
    out = Spoofing().run(_spoof_day(True).build(), SpoofingParams())
    assert len(out.candidates) == 1 and out.candidates.iloc[0]["features"]["layers"] == 3


def test_spoofing_is_silent_when_the_large_orders_stay() -> None:
    out = Spoofing().run(_spoof_day(False).build(), SpoofingParams())
    assert out.candidates.empty
