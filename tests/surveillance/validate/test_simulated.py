"""The simulated venue honours the contract: the validator finds nothing in its output.

The simulator and the validator are written independently from the same contract, so
each checks the other: a violation here is a bug in one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from surveillance.storage import Landing
from surveillance.validate import find_violations, read_landing_day


def _violations(root: Path | str, day: Any) -> pd.DataFrame:
    return find_violations(read_landing_day(Landing(root), day))


def test_simulated_day_with_misconduct_has_no_violation(simulated_day: Any) -> None:
    found = _violations(simulated_day.root, simulated_day.day)
    assert found.empty, found.groupby("rule").head(3).to_string()


def test_clean_simulated_day_has_no_violation(clean_day: Any) -> None:
    found = _violations(clean_day.root, clean_day.day)
    assert found.empty, found.groupby("rule").head(3).to_string()


@pytest.mark.parametrize(("seed", "symbols"), [(1, 1), (7, 3)])
def test_other_seeds_and_sizes_have_no_violation(tmp_path: Path, seed: int, symbols: int) -> None:
    from surveillance.simulate import simulate_day

    day = pd.Timestamp("2026-03-03").date()
    simulate_day(tmp_path / "landing", day, symbols=symbols, events=6_000, seed=seed)
    found = _violations(tmp_path / "landing", day)
    assert found.empty, found.groupby("rule").head(3).to_string()
