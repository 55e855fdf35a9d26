"""Fixtures of the ingest tests: a copy of a simulated day to corrupt, and lake checks."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from surveillance import storage
from surveillance.config import Config, parse_config
from surveillance.contract import LANDING_DATASETS, Orders
from surveillance.settings import Settings, resolve
from surveillance.storage import Lake, Landing
from surveillance.validate import find_violations, read_landing_day

# corruptors.py and ingest_lake.py live beside the tests (test code, not package code);
# pytest's importlib mode needs their folder on the path.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@dataclass(frozen=True)
class SmallDay:
    """A simulated landing day on disk: its root and its trading day."""

    root: Path
    day: dt.date


@pytest.fixture(scope="session")
def small_day(tmp_path_factory: pytest.TempPathFactory) -> SmallDay:
    """A small clean simulated venue day (two symbols, ~9,000 events), shared read-only.

    Smaller than the suite-wide ``clean_day``: every ingest test copies and ingests it,
    and at this size the gate's fixed cost, not the data, sets the test's time.
    """
    from surveillance.simulate import simulate_day

    root = tmp_path_factory.mktemp("ingest-day") / "landing"
    day = dt.date(2026, 3, 2)
    simulate_day(root, day, symbols=2, events=8_000, seed=11, clean=True)
    return SmallDay(root, day)


@pytest.fixture
def landing_copy(small_day: SmallDay, tmp_path: Path) -> Path:
    """A private copy of the small simulated landing root, free to corrupt."""
    root = tmp_path / "landing"
    shutil.copytree(small_day.root, root)
    return root


@pytest.fixture
def run_settings(landing_copy: Path, tmp_path: Path) -> Settings:
    """Settings pointing at the landing copy and an empty lake in the test's folder."""
    return resolve(str(landing_copy), str(tmp_path / "lake"), "sqlite://", None)


@pytest.fixture
def lenient() -> Config:
    """A configuration whose threshold (5%) lets a corrupted order's quarantine through."""
    return parse_config({"version": 1, "ingest": {"max_quarantine_share": 0.05}})


@pytest.fixture
def assert_curated_clean(tmp_path: Path) -> Callable[[Lake, dt.date], None]:
    """Check that the curated lake of a day passes the contract validator with no violation.

    The curated tables are landed again (contract layout) and validated: a half order,
    a trade without both fills or a bad value left in the lake fails it.
    """

    def check(lake: Lake, day: dt.date) -> None:
        relanded = Landing(tmp_path / "relanded")
        for dataset in LANDING_DATASETS:
            uri = lake.curated(dataset.name, day)
            if storage.exists(uri) and storage.read_table(uri).num_rows:
                storage.write_table(
                    storage.read_table(uri),
                    storage.join(relanded.day_dir(dataset.name, day), "part-0.parquet"),
                )
        relanded.mark_ready(day)
        violations = find_violations(read_landing_day(relanded, day))
        assert violations.empty, violations.head(10).to_string()
        assert storage.read_table(lake.curated(Orders.name, day)).num_rows, "no curated orders"

    return check
