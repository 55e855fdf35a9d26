"""Fixtures shared by the whole suite."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# Airflow reads its home when first imported; never let a test touch ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="mmsurv-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).parents[1] / "dags"))
os.environ.setdefault("GE_USAGE_STATISTICS_ENABLED", "False")

#: PostgreSQL for the tests that must pass on both databases; CI provides it.
PG_URL = os.environ.get("MMSURV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class CliResult:
    """What one ``mmsurv`` invocation returned and printed."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def mmsurv(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``mmsurv ARGS...`` in-process, as the console script would, and capture it."""
    from surveillance.cli.app import main

    def run(*args: str) -> CliResult:
        capfd.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with no MMSURV_* settings leaking in from the caller."""
    for name in ("MMSURV_LANDING", "MMSURV_LAKE", "MMSURV_DB_URL", "MMSURV_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


#: The trading day of the simulated-venue fixtures.
SIMULATED_DAY = dt.date(2026, 3, 2)


@dataclass(frozen=True)
class SimulatedDay:
    """A simulated venue day on disk: its landing root, day and simulation summary.

    ``engine_truth`` is the folder (outside the landing root) with one
    ``<symbol>.parquet`` per symbol holding the engine's best bid/ask after every
    journal row (see ``docs/simulator.md``), for checking a book reconstruction.
    """

    root: Path
    day: dt.date
    summary: Any
    engine_truth: Path


@pytest.fixture(scope="session")
def simulated_day(tmp_path_factory: pytest.TempPathFactory) -> SimulatedDay:
    """A small seeded venue day WITH injected misconduct of every typology, and labels.

    Two symbols and about 40,000 order-journal rows (a few seconds to generate), in
    the contract's landing layout with the ``_SUCCESS`` marker, plus the engine's
    truth beside it. Read-only: tests that modify data must copy it first.
    """
    from surveillance.simulate import simulate_day

    base = tmp_path_factory.mktemp("simulated-day")
    root, truth = base / "landing", base / "engine-truth"
    summary = simulate_day(
        root, SIMULATED_DAY, symbols=2, events=40_000, seed=11, engine_truth=truth
    )
    return SimulatedDay(root, SIMULATED_DAY, summary, truth)


@pytest.fixture(scope="session")
def clean_day(tmp_path_factory: pytest.TempPathFactory) -> SimulatedDay:
    """The same kind of day as ``simulated_day`` but with no misconduct (``clean=True``).

    Its labels file is empty. Read-only: tests that modify data must copy it first.
    """
    from surveillance.simulate import simulate_day

    base = tmp_path_factory.mktemp("clean-day")
    root, truth = base / "landing", base / "engine-truth"
    summary = simulate_day(
        root, SIMULATED_DAY, symbols=2, events=40_000, seed=11, clean=True, engine_truth=truth
    )
    return SimulatedDay(root, SIMULATED_DAY, summary, truth)
