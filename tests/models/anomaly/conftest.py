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
from anomaly_days import hand_lake_factory  # noqa: E402

from surveillance.settings import Settings  # noqa: E402


@pytest.fixture
def hand_lake(tmp_path: Path) -> Callable[[list[float]], Settings]:
    """A factory: ``hand_lake(spreads)`` writes one quiet day per spread into a fresh lake.

    Days start at ``anomaly_days.FIRST``; returns the lake's settings.
    """
    return hand_lake_factory(tmp_path)
