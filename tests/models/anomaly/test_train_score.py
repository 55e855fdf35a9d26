"""Training, the registry and nightly scoring on hand-built days."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from anomaly_days import FIRST

from features.data import load_symbol_day
from models.anomaly.registry import ModelMismatchError, cards, load, save, version_dir
from models.anomaly.score import score_model
from models.anomaly.train import TrainResult, train_models
from models.anomaly.vectors import feature_list
from surveillance.config import Config
from surveillance.contract import Alerts
from surveillance.errors import InputError
from surveillance.settings import Settings, resolve
from surveillance.storage import join, read_bytes, write_bytes

QUIET_DAY = FIRST + dt.timedelta(days=3)
WIDE_DAY = FIRST + dt.timedelta(days=4)


@pytest.fixture
def trained(trained_once: Settings, tmp_path: Path) -> Settings:
    """A private copy of the trained lake, which the test may change."""
    shutil.copytree(trained_once.lake_uri, tmp_path / "lake")
    return resolve(landing=str(tmp_path / "landing"), lake=str(tmp_path / "lake"))


def _score(settings: Settings, cfg: Config, day: dt.date, model: str = "baseline") -> pd.DataFrame:
    return score_model(model, settings, cfg, load_symbol_day(settings.lake, day, "BTC-USD"))


def test_training_registers_a_version_with_its_card(trained_once: Settings) -> None:
    """Each model gets version 1 with window, fingerprint, features, versions and metrics."""
    card = {c["model"]: c for c in cards(trained_once.lake)}["baseline"]
    assert (card["version"], card["training_window"]["from"], card["feature_list"]) == (
        1,
        FIRST.isoformat(),
        feature_list("baseline"),
    )
    assert len(card["data_fingerprint"]) == 64 and "scikit-learn" in card["library_versions"]
    assert card["validation"]["BTC-USD"]["out_of_sample"] is True


def test_registering_again_adds_a_version(trained: Settings) -> None:
    """A new registration never overwrites: the registry holds versions 1 and 2."""
    loaded = load(trained.lake, "peer", feature_list("peer"))
    assert loaded is not None
    save(trained.lake, loaded[0], {k: v for k, v in loaded[1].items() if k != "version"})
    assert sorted(c["version"] for c in cards(trained.lake) if c["model"] == "peer") == [1, 2]


def test_a_day_like_the_training_days_raises_no_alert(trained_once: Settings, cfg: Config) -> None:
    """The quiet test day scores at the baseline: no anomaly alert."""
    assert _score(trained_once, cfg, QUIET_DAY).empty


def test_a_wider_spread_alerts_and_explains_itself(trained_once: Settings, cfg: Config) -> None:
    """Quoting 3x wider all day alerts; the explanation quotes spread_bps and its baseline."""
    alert = _score(trained_once, cfg, WIDE_DAY).iloc[0]
    top = {f["feature"]: f for f in json.loads(alert[Alerts.features])["top_features"]}
    assert (alert[Alerts.detector], alert[Alerts.typology]) == (
        "anomaly:baseline",
        "SM_SPREAD_WIDENING",
    )
    spread = top["spread_bps"]
    assert (spread["value"], spread["baseline"]) == (pytest.approx(600.0), pytest.approx(200.0))
    assert "spread_bps 600 against 200" in alert[Alerts.explanation]


def test_alert_ids_are_stable(trained_once: Settings, cfg: Config) -> None:
    """Scoring the same day with the same model twice gives the same alert ids."""
    first = _score(trained_once, cfg, WIDE_DAY)[Alerts.alert_id].tolist()
    assert first and first == _score(trained_once, cfg, WIDE_DAY)[Alerts.alert_id].tolist()


def _edit_card(settings: Settings, model: str, **changes: Any) -> None:
    uri = join(version_dir(settings.lake, model, 1), "card.json")
    card = json.loads(read_bytes(uri))
    card.update(changes)
    write_bytes(json.dumps(card).encode(), uri)


def test_scoring_refuses_a_model_with_another_feature_list(trained: Settings) -> None:
    """A model trained on other features is refused, naming the fix."""
    _edit_card(trained, "iforest", feature_list=["spread_bps"])
    with pytest.raises(ModelMismatchError, match=r"feature list does not match.*retrain"):
        load(trained.lake, "iforest", feature_list("iforest"))


def test_scoring_refuses_a_model_from_another_major_library_version(trained: Settings) -> None:
    """A model pickled under another scikit-learn major version is refused."""
    _edit_card(trained, "iforest", library_versions={"scikit-learn": "0.24.2", "numpy": "2.0"})
    with pytest.raises(ModelMismatchError, match=r"trained with scikit-learn 0\.24\.2"):
        load(trained.lake, "iforest", feature_list("iforest"))


def test_training_without_data_is_bad_input(
    hand_lake: Callable[[list[float]], Settings], cfg: Config
) -> None:
    """A window with no curated day says so and how to fix it."""
    with pytest.raises(InputError, match="no curated data from 2025-01-01 to 2025-01-03"):
        train_models(hand_lake([]), dt.date(2025, 1, 1), dt.date(2025, 1, 3), config=cfg)


def test_train_result_summary_is_json(training: tuple[Settings, TrainResult]) -> None:
    """The summary the retraining DAG logs serialises as JSON with every model."""
    summary = training[1].summary()
    assert sorted(m["model"] for m in json.loads(json.dumps(summary))["models"]) == [
        "baseline",
        "iforest",
        "peer",
    ]


def test_scoring_refuses_a_model_calibrated_in_another_format(trained: Settings) -> None:
    """A model whose day calibration this code cannot read is refused, naming the fix."""
    _edit_card(trained, "baseline", calibration_format=1)
    with pytest.raises(ModelMismatchError, match=r"calibration has format 1.*retrain"):
        load(trained.lake, "baseline", feature_list("baseline"))
