"""Pooling several simulated days of the same date into one evaluation (detect_quality)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from benchmarks.detect_tune import pool_days

DAY = dt.date(2026, 3, 2)


def _frame(rows: list[tuple[str, str]], *, with_date: bool) -> pd.DataFrame:
    """Rows of (typology, time of day) on BTC-USD for AMM-1, 10 s windows."""
    start = pd.to_datetime([f"{DAY} {t}" for _, t in rows], utc=True)
    frame = pd.DataFrame(
        {
            "typology": [typ for typ, _ in rows],
            "symbol": "BTC-USD",
            "account_id": "AMM-1",
            "window_start": start,
            "window_end": start + pd.Timedelta(seconds=10),
        }
    )
    if with_date:
        frame["date"] = DAY.isoformat()
    return frame


def test_pooled_days_never_match_across_days_and_keep_clean_days_apart() -> None:
    labelled = (
        _frame([("MI_WASH_TRADE", "10:00:00")], with_date=True),
        _frame([("MI_WASH_TRADE", "10:00:05")], with_date=False),
        {DAY: 1},
    )
    # A clean day whose one alert sits exactly where the labelled day's label is.
    clean = (
        _frame([("MI_WASH_TRADE", "10:00:00")], with_date=True),
        _frame([], with_date=False),
        {DAY: 1},
    )
    evaluation = pool_days([clean, labelled])
    wash = next(r for r in evaluation.table() if r["typology"] == "MI_WASH_TRADE")
    assert (wash["labels"], wash["detected"], wash["alerts"]) == (1, 1, 2)
    summary = evaluation.summary()
    assert summary["clean_days"] == 1
    assert summary["clean_day_alerts"] == 1
    assert summary["false_alerts"] == 1
