"""The detect stage end to end on the simulated day, and its CLI commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from surveillance.contract import Alerts, Typology
from surveillance.settings import Settings, resolve
from surveillance.storage import read_table


def _build_book(settings: Settings, day: Any) -> None:
    try:
        from surveillance.book import build_book
    except ImportError:
        from surveillance.book.engine import ReplayParams, replay_table
        from surveillance.book.schema import DEFAULT_DEPTH_BPS
        from surveillance.storage import write_partition

        lake = settings.lake
        acc = read_table(lake.curated("accounts", day)).to_pandas()
        amm = frozenset(acc.loc[acc["role"] == "AFFILIATED_MM", "account_id"])
        inst = read_table(lake.curated("instruments", day)).to_pandas().set_index("symbol")
        for sym in lake.curated_symbols("orders", day):
            orders = read_table(lake.curated("orders", day, sym)).sort_by("seq")
            params = ReplayParams(
                sym,
                float(inst.loc[sym, "tick_size"]),
                float(inst.loc[sym, "lot_size"]),
                amm,
                DEFAULT_DEPTH_BPS,
            )
            book = replay_table(orders, params)
            for kind in ("top", "queue", "findings"):
                write_partition(getattr(book, kind), lake.book(kind, day, sym))
        return
    build_book(settings, day)


@pytest.fixture(scope="module")
def detected(simulated_day: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The simulated day ingested, its book built and detect run, in a private lake."""
    from surveillance.detect import detect_day
    from surveillance.ingest import ingest_day

    lake = tmp_path_factory.mktemp("detect") / "lake"
    settings = resolve(landing=str(simulated_day.root), lake=str(lake))
    ingest_day(settings, simulated_day.day)
    _build_book(settings, simulated_day.day)
    detect_day(settings, simulated_day.day)
    return settings


def _alerts(settings: Settings, day: Any) -> pd.DataFrame:
    from surveillance.detect import read_alerts_day

    return read_alerts_day(settings, day)


def test_alerts_follow_the_contract_schema(detected: Settings, simulated_day: Any) -> None:
    table = read_table(detected.lake.alerts(simulated_day.day))
    assert table.schema.equals(Alerts.schema(), check_metadata=False)


def test_alerts_detect_injected_misconduct(detected: Settings, simulated_day: Any) -> None:
    from surveillance.evaluate import evaluate, read_labels

    labels, symbols, _days = read_labels(str(simulated_day.root))
    result = evaluate(labels, _alerts(detected, simulated_day.day), symbols_by_day=symbols)
    by_typology = {s.typology: s for s in result.scores}
    # the typologies whose evidence is exact must be found whenever they were injected
    for typ in (Typology.MI_WASH_TRADE, Typology.PT_PRIORITY_BREACH):
        score = by_typology[typ.value]
        assert score.labels == 0 or score.detected == score.labels, typ


def test_rerun_gives_the_same_alert_ids(detected: Settings, simulated_day: Any) -> None:
    from surveillance.detect import detect_day

    before = sorted(_alerts(detected, simulated_day.day)[Alerts.alert_id])
    detect_day(detected, simulated_day.day)
    assert sorted(_alerts(detected, simulated_day.day)[Alerts.alert_id]) == before


def test_features_are_written_per_detector(detected: Settings, simulated_day: Any) -> None:
    from models.rules.registry import RULES

    symbol = detected.lake.curated_symbols("orders", simulated_day.day)[0]
    for name in RULES:
        read_table(detected.lake.features(name, simulated_day.day, symbol))


def test_cli_exports_csv_with_lists_as_json(
    detected: Settings, simulated_day: Any, mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "alerts.csv"
    day = simulated_day.day.isoformat()
    result = mmsurv(
        "alerts",
        "export",
        "--date",
        day,
        "--out",
        out,
        "--format",
        "csv",
        "--lake",
        detected.lake_uri,
    )
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[: len(Alerts.required_names())]) == Alerts.required_names()
    assert all(isinstance(json.loads(v), list) for v in frame[Alerts.order_ids])


def test_cli_evaluate_prints_a_row_per_typology(
    detected: Settings, simulated_day: Any, mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "alerts.parquet"
    day = simulated_day.day.isoformat()
    mmsurv("alerts", "export", "--date", day, "--out", out, "--lake", detected.lake_uri)
    result = mmsurv("evaluate", "--labels", simulated_day.root, "--alerts", out, "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["typologies"]
    assert [r["typology"] for r in rows] == [t.value for t in Typology] + ["ALL"]


def test_cli_detect_without_curated_data_is_bad_input(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    result = mmsurv("detect", "--date", "2026-03-02", "--lake", tmp_path / "lake")
    assert result.exit_code == 2 and "mmsurv ingest" in result.stderr


def test_cli_export_before_detect_is_bad_input(mmsurv: Callable[..., Any], tmp_path: Path) -> None:
    result = mmsurv(
        "alerts", "export", "--date", "2026-03-02", "--out", tmp_path / "a.csv", "--lake", tmp_path
    )
    assert result.exit_code == 2 and "mmsurv detect" in result.stderr


def test_cli_run_without_the_export_marker_is_not_ready(
    mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    result = mmsurv(
        "run", "--date", "2026-03-02", "--landing", landing, "--lake", tmp_path / "lake"
    )
    assert result.exit_code == 3, result.stderr
