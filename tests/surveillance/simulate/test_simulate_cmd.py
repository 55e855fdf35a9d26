"""``mmsurv simulate`` through the console script."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from surveillance.storage import Landing

DAY = "2026-03-02"


def test_simulate_writes_a_ready_day_and_prints_its_summary(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv(
        "simulate", "--date", DAY, "--out", tmp_path, "--symbols", "1", "--events", "6000"
    )
    assert result.exit_code == 0, result.stderr
    assert Landing(tmp_path).is_ready(dt.date(2026, 3, 2))
    assert "BTC-USD" in result.stdout and "MI_WASH_TRADE" in result.stdout


def test_simulate_json_lists_events_by_symbol_and_role_and_labels_by_typology(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv(
        "simulate",
        "--date",
        DAY,
        "--out",
        tmp_path,
        "--symbols",
        "2",
        "--events",
        "8000",
        "--seed",
        "3",
        "--format",
        "json",
    )
    rows = json.loads(result.stdout)
    events = {(r["symbol"], r["role"]) for r in rows if r["what"] == "events"}
    assert ("ETH-USD", "AFFILIATED_MM") in events
    assert {r["typology"] for r in rows if r["what"] == "labels"} >= {"SM_SPOOFING"}


def test_simulate_clean_prints_no_labels(mmsurv: Callable[..., Any], tmp_path: Path) -> None:
    result = mmsurv(
        "simulate",
        "--date",
        DAY,
        "--out",
        tmp_path,
        "--symbols",
        "1",
        "--events",
        "5000",
        "--clean",
        "--format",
        "json",
    )
    assert [r for r in json.loads(result.stdout) if r["what"] == "labels"] == []


def test_simulate_refuses_too_many_symbols_as_bad_usage(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv("simulate", "--date", DAY, "--out", tmp_path, "--symbols", "9")
    assert result.exit_code == 2
    assert "--symbols 9" in result.stderr


def test_simulate_refuses_a_bad_date_as_bad_usage(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv("simulate", "--date", "2026-02-30", "--out", tmp_path)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_simulate_writes_engine_truth_where_asked(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv(
        "simulate",
        "--date",
        DAY,
        "--out",
        tmp_path / "landing",
        "--symbols",
        "1",
        "--events",
        "5000",
        "--engine-truth",
        tmp_path / "truth",
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "truth" / "BTC-USD.parquet").is_file()
