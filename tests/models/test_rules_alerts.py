"""Alert identity and scoring shared by every detector."""

from __future__ import annotations

from features.scenario import Scenario
from models.rules.base import alert_id, finish_alerts, score_from_excess, severity_of
from models.rules.integrity import WashTrade, WashTradeParams


def _alerts(params: WashTradeParams):
    s = Scenario()
    maker = s.new(100, "AMM-2", "SELL", 68000.0, 0.5)
    s.take(101, "AMM-1", "BUY", [(maker, 0.5)])
    data = s.build()
    return finish_alerts(WashTrade, params, data, WashTrade().run(data, params).candidates)


def test_alert_id_is_stable_for_the_same_input_and_configuration() -> None:
    assert list(_alerts(WashTradeParams())["alert_id"]) == list(
        _alerts(WashTradeParams())["alert_id"]
    )


def test_alert_id_changes_with_the_parameters() -> None:
    a = _alerts(WashTradeParams())["alert_id"].iloc[0]
    b = _alerts(WashTradeParams(episode_gap_s=30.0))["alert_id"].iloc[0]
    assert a != b


def test_alert_id_ignores_the_order_of_evidence_ids() -> None:
    args = ("rule:x", "1", "h", "BTC-USD", "AMM-1", 1, 2)
    assert alert_id(*args, ["b", "a"], ["t2", "t1"]) == alert_id(*args, ["a", "b"], ["t1", "t2"])


def test_score_is_fifty_at_the_threshold_and_rises_with_excess() -> None:
    scores = score_from_excess([1.0, 2.0, 4.0])
    assert list(scores) == [50.0, 75.0, 93.75]
    assert [severity_of(s) for s in scores] == ["LOW", "MEDIUM", "HIGH"]
