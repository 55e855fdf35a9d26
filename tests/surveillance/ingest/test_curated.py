"""The curated partitions' row order: a total order, whatever order the venue sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from surveillance import storage
from surveillance.contract import Trades
from surveillance.ingest import curated
from surveillance.storage import Lake
from surveillance.validate import landing_day_from_tables
from surveillance.validate.sample import sample_tables

DAY = dt.date(2026, 3, 2)


def _trades() -> pd.DataFrame:
    return landing_day_from_tables(DAY, sample_tables(DAY, copies=3)).tables[Trades.name]


def _same_time(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame[Trades.event_time] = frame[Trades.event_time].iloc[0]
    return frame


@pytest.mark.parametrize(
    "arrange",
    [
        pd.DataFrame.copy,  # as exported: time order, no ties within a symbol
        _same_time,  # every trade at one time, trade ids in order
        lambda f: _same_time(f).iloc[::-1].reset_index(drop=True),  # ties out of id order
    ],
)
def test_trades_partitions_are_sorted_by_time_then_trade_id(
    tmp_path: Path, arrange: Callable[[pd.DataFrame], pd.DataFrame]
) -> None:
    frame = arrange(_trades())
    lake = Lake(tmp_path / "lake")
    written = curated.write_curated(lake, DAY, {Trades.name: frame}, {})
    assert len(written[Trades.name]) == 2
    for uri in written[Trades.name]:
        table = storage.read_table(uri)
        pairs = list(
            zip(
                table.column(Trades.event_time).to_pylist(),
                table.column(Trades.trade_id).to_pylist(),
                strict=True,
            )
        )
        symbol = table.column(Trades.symbol)[0].as_py()
        mine = frame[frame[Trades.symbol] == symbol]
        assert pairs == sorted(
            zip(mine[Trades.event_time].tolist(), mine[Trades.trade_id].tolist(), strict=True)
        )
