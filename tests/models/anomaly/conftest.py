"""Fixtures of the anomaly-model tests; the hand-built days live in ``anomaly_days``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

# The hand-built days are test code beside the tests; pytest's importlib mode needs
# their folder on the path.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import pytest  # noqa: E402
from anomaly_days import FIRST, TRAIN_LAST, hand_lake_factory  # noqa: E402

from models.anomaly.train import TrainResult, train_models  # noqa: E402
from surveillance.config import Config, parse_config  # noqa: E402
from surveillance.settings import Settings  # noqa: E402


@pytest.fixture
def hand_lake(tmp_path: Path) -> Callable[[list[float]], Settings]:
    """A factory: ``hand_lake(spreads)`` writes one quiet day per spread into a fresh lake.

    Days start at ``anomaly_days.FIRST``; returns the lake's settings.
    """
    return hand_lake_factory(tmp_path)


@pytest.fixture(scope="session")
def cfg() -> Config:
    """Small models: few trees keep training fast."""
    return parse_config({"version": 1, "anomaly": {"n_estimators": 20}})


@pytest.fixture(scope="session")
def training(tmp_path_factory: pytest.TempPathFactory, cfg: Config) -> tuple[Settings, TrainResult]:
    """Three quiet training days (AMM spread 2), then a quiet day and a day quoted 3x wider.

    Every model trained once per session on the first three days; read-only (tests that
    change the registry copy the lake first).
    """
    settings = hand_lake_factory(tmp_path_factory.mktemp("hand"))([2.0, 2.0, 2.0, 2.0, 6.0])
    return settings, train_models(settings, FIRST, TRAIN_LAST, config=cfg)


@pytest.fixture(scope="session")
def trained_once(training: tuple[Settings, TrainResult]) -> Settings:
    """The settings of the session's trained hand-built lake (read-only)."""
    return training[0]
