"""Fixtures for the contract reader and validator: a valid day to corrupt, and a writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from surveillance.contract import DATASETS_BY_NAME
from surveillance.storage import Landing
from surveillance.validate import (
    LandingDay,
    find_violations,
    landing_day_from_tables,
    read_landing_day,
)
from surveillance.validate.sample import sample_tables, write_day

DAY = dt.date(2026, 3, 2)

Frames = dict[str, pd.DataFrame]


def to_table(name: str, frame: pd.DataFrame) -> pa.Table:
    """A test frame as an Arrow table in the contract's types (nulls allowed anywhere)."""
    schema = DATASETS_BY_NAME[name].schema()
    extras = [c for c in frame.columns if c not in schema.names]
    fields = [f.with_nullable(True) for f in schema]
    table = pa.Table.from_pandas(
        frame[schema.names], schema=pa.schema(fields), preserve_index=False
    )
    for column in extras:
        table = table.append_column(column, pa.array(frame[column], from_pandas=True))
    return table


@pytest.fixture
def frames() -> Frames:
    """The sample day (two symbols, one template copy each) as editable pandas frames."""
    return {name: table.to_pandas() for name, table in sample_tables(DAY).items()}


@pytest.fixture
def write_landing(tmp_path: Path) -> Callable[..., Landing]:
    """Write frames to a fresh landing root in the contract layout and mark the day ready."""
    counter = iter(range(1_000))

    def write(data: Frames, *, files: int = 1) -> Landing:
        landing = Landing(tmp_path / f"landing-{next(counter)}")
        write_day(landing, DAY, {k: to_table(k, v) for k, v in data.items()}, files=files)
        return landing

    return write


@pytest.fixture
def load(write_landing: Callable[..., Landing]) -> Callable[..., LandingDay]:
    """Write frames to a landing root and read them back with the contract reader."""

    def run(data: Frames, *, files: int = 1) -> LandingDay:
        return read_landing_day(write_landing(data, files=files), DAY)

    return run


@pytest.fixture
def violations(load: Callable[..., LandingDay]) -> Callable[..., pd.DataFrame]:
    """Write, read and validate frames: the violations the whole registry finds."""

    def run(data: Frames, *, files: int = 1) -> pd.DataFrame:
        return find_violations(load(data, files=files))

    return run


@pytest.fixture
def check() -> Callable[[Frames], pd.DataFrame]:
    """Validate frames in memory (each as one file, the reader's checks included).

    The same path as files on disk minus the Parquet round trip, which the reader's own
    tests cover: it keeps the one-case-per-rule tests fast.
    """

    def run(data: Frames) -> pd.DataFrame:
        tables = {k: to_table(k, v) for k, v in data.items()}
        return find_violations(landing_day_from_tables(DAY, tables))

    return run
