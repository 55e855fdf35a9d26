"""The contract's matching rule: same typology, symbol and account, overlapping windows."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from surveillance.evaluate import evaluate

T0 = pd.Timestamp("2026-03-02 10:00", tz="UTC")


def _row(typ: str, account: str, start_s: float, end_s: float, **extra: object) -> dict:
    return {
        "typology": typ,
        "symbol": "BTC-USD",
        "account_id": account,
        "window_start": T0 + pd.Timedelta(seconds=start_s),
        "window_end": T0 + pd.Timedelta(seconds=end_s),
        **extra,
    }


def test_overlapping_alert_of_same_account_detects_the_label() -> None:
    labels = pd.DataFrame([_row("MI_WASH_TRADE", "AMM-1", 0, 10)])
    alerts = pd.DataFrame([_row("MI_WASH_TRADE", "AMM-1", 10, 20)])
    score = evaluate(labels, alerts).scores[-1]
    assert (score.recall, score.precision) == (1.0, 1.0)


def test_other_account_or_typology_or_time_does_not_match() -> None:
    labels = pd.DataFrame([_row("MI_WASH_TRADE", "AMM-1", 0, 10)])
    alerts = pd.DataFrame(
        [
            _row("MI_WASH_TRADE", "AMM-2", 0, 10),
            _row("SM_SPOOFING", "AMM-1", 0, 10),
            _row("MI_WASH_TRADE", "AMM-1", 11, 20),
        ]
    )
    score = evaluate(labels, alerts).scores[-1]
    assert (score.detected, score.true_alerts) == (0, 0)


def test_clean_day_alerts_are_counted_per_symbol() -> None:
    alerts = pd.DataFrame([_row("MI_WASH_TRADE", "AMM-1", 0, 10)])
    result = evaluate(
        pd.DataFrame(columns=["typology", "symbol", "account_id", "window_start", "window_end"]),
        alerts,
        symbols_by_day={dt.date(2026, 3, 2): 2},
    )
    assert result.alerts_per_symbol_clean_day == 0.5
