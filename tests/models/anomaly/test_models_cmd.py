"""``mmsurv models train`` / ``models list`` and ``mmsurv detect`` with and without a model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from anomaly_days import FIRST

from surveillance.config import Config
from surveillance.detect import detect_day
from surveillance.settings import Settings


def test_train_registers_the_configured_models(
    hand_lake: Callable[[list[float]], Settings], mmsurv: Callable[..., Any], tmp_path: Path
) -> None:
    """`models train` registers the models of [anomaly] models and prints their thresholds."""
    settings = hand_lake([2.0])
    config = tmp_path / "small.toml"
    config.write_text('version = 1\n[anomaly]\nmodels = ["baseline"]\n')
    day = FIRST.isoformat()
    args = ["--from", day, "--to", day, "--lake", settings.lake_uri, "--config", str(config)]
    trained = mmsurv("models", "train", *args, "--format", "json")
    assert trained.exit_code == 0, trained.stderr
    assert [m["model"] for m in json.loads(trained.stdout)["models"]] == ["baseline"]


def test_list_prints_every_registered_card(
    trained_once: Settings, mmsurv: Callable[..., Any]
) -> None:
    """`models list --format json` prints the card of each registered model version."""
    listed = mmsurv("models", "list", "--lake", trained_once.lake_uri, "--format", "json")
    assert sorted(c["model"] for c in json.loads(listed.stdout)) == ["baseline", "iforest", "peer"]


def test_train_on_an_empty_window_exits_2(
    hand_lake: Callable[[list[float]], Settings], mmsurv: Callable[..., Any]
) -> None:
    """No curated data in the window is bad input (exit 2) with the fix."""
    lake = hand_lake([]).lake_uri
    result = mmsurv("models", "train", "--from", "2025-01-01", "--to", "2025-01-02", "--lake", lake)
    assert result.exit_code == 2 and "run `mmsurv ingest`" in result.stderr


def test_list_with_an_empty_registry_says_how_to_train(
    hand_lake: Callable[[list[float]], Settings], mmsurv: Callable[..., Any]
) -> None:
    """An empty registry is not an error: the command says how to train one."""
    result = mmsurv("models", "list", "--lake", hand_lake([]).lake_uri)
    assert result.exit_code == 0 and "no anomaly model registered" in result.stdout


def test_detect_without_a_model_skips_anomaly_scoring_and_says_so(
    hand_lake: Callable[[list[float]], Settings], cfg: Config
) -> None:
    """With no registered model, detect runs the rules and lists every skipped model."""
    result = detect_day(hand_lake([2.0]), FIRST, config=cfg)
    assert [s.split(":")[1] for s in result.skipped] == ["baseline", "peer", "iforest"]


def test_detect_scores_the_registered_models(trained_once: Settings, cfg: Config) -> None:
    """With models registered, detect's alerts include anomaly alerts on the wide day."""
    import datetime as dt

    result = detect_day(trained_once, FIRST + dt.timedelta(days=4), config=cfg)
    assert result.by_detector.get("anomaly:baseline") == 1 and result.skipped == []


def test_demo_explain_step_prints_anomaly_alerts_with_explanations(
    trained_once: Settings, cfg: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """After detect, the demo step lists each anomaly alert beside the rule alerts, explained."""
    import datetime as dt

    from models.anomaly.demo import explain_step

    day = FIRST + dt.timedelta(days=4)
    detect_day(trained_once, day, config=cfg)
    explain_step(trained_once, day)
    out = capsys.readouterr().out
    assert "anomaly alerts beside" in out and "Anomaly model baseline" in out
