"""The novel misconduct scenarios the anomaly evaluation injects (off by default)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from surveillance.errors import InputError
from surveillance.simulate import simulate_day


def test_a_novel_scenario_is_labelled_with_its_name(tmp_path: Path) -> None:
    """A clean day with `drift_ahead` carries only novel labels, named in the description."""
    simulate_day(
        tmp_path, "2026-03-02", symbols=1, events=20_000, seed=3, clean=True, novel=("drift_ahead",)
    )
    labels = pd.read_parquet(tmp_path / "labels")
    assert len(labels) and labels["description"].str.startswith("novel:drift_ahead:").all()


def test_an_unknown_scenario_is_refused(tmp_path: Path) -> None:
    """A misspelt scenario names the scenarios that exist."""
    with pytest.raises(InputError, match="novel scenario 'drift' is unknown; scenarios are"):
        simulate_day(tmp_path, "2026-03-02", symbols=1, events=2_000, clean=True, novel=("drift",))
