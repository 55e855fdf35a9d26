"""docs/anomaly.md documents every behaviour feature, model and setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.behaviour import FEATURE_NAMES
from models.anomaly.config import AnomalyConfig
from models.anomaly.vectors import MODEL_HELP

DOC = (Path(__file__).parents[3] / "docs" / "anomaly.md").read_text()


@pytest.mark.parametrize(
    "name",
    [*FEATURE_NAMES, *(f"anomaly:{m}" for m in MODEL_HELP), *AnomalyConfig.model_fields],
)
def test_documented(name: str) -> None:
    """Each feature, model detector and [anomaly] key is named in docs/anomaly.md."""
    assert name in DOC
