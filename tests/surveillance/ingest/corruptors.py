"""Corruptors: each turns a valid landing day into one class of bad input.

Every corruptor edits a *copy* of simulator output in place (the landing layout of
``venue-export-v1.md``) and returns what it broke, so a test can check both the
gate's verdict and that the curated lake holds none of it. They change as little as
possible: one row, one order, one file, so the expected reason is unambiguous.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from surveillance.contract import EventType, Instruments, Orders, Trades
from surveillance.storage import Landing


@dataclass(frozen=True)
class Corruption:
    """What a corruptor broke: the file, and the orders and trades it touched."""

    file: str
    symbol: str | None = None
    order_ids: frozenset[str] = field(default_factory=frozenset)
    trade_ids: frozenset[str] = field(default_factory=frozenset)


def files(root: Path, dataset: str, day: dt.date) -> list[Path]:
    return [Path(p) for p in Landing(root).files(dataset, day)]


def _load(path: Path) -> tuple[pd.DataFrame, pa.Schema]:
    table = pq.read_table(path)
    return table.to_pandas(), table.schema


def _save(path: Path, frame: pd.DataFrame, schema: pa.Schema) -> None:
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)


def _instrument(root: Path, day: dt.date, symbol: str) -> pd.Series:
    frame = pd.concat(_load(p)[0] for p in files(root, Instruments.name, day))
    return frame.set_index(Instruments.symbol).loc[symbol]


def _new_limit_row(frame: pd.DataFrame, nth: int = 0) -> int:
    """Position of the ``nth`` NEW LIMIT row past the first tenth of the file."""
    picked = frame.index[
        (frame[Orders.event_type] == EventType.NEW) & (frame[Orders.order_type] == "LIMIT")
    ]
    return int(picked[len(frame) // 10 <= picked][nth])


def _order_rows(frame: pd.DataFrame, at: int) -> pd.Series:
    row = frame.loc[at]
    return (frame[Orders.symbol] == row[Orders.symbol]) & (
        frame[Orders.order_id] == row[Orders.order_id]
    )


def _touch_order(path: Path, frame: pd.DataFrame, at: int) -> Corruption:
    row = frame.loc[at]
    return Corruption(str(path), row[Orders.symbol], frozenset({row[Orders.order_id]}))


# File-level corruptions: the day fails with a ContractError.


def wrong_type(root: Path, day: dt.date) -> Corruption:
    """``price`` stored as text in the first orders file."""
    path = files(root, Orders.name, day)[0]
    table = pq.read_table(path)
    index = table.schema.get_field_index(Orders.price)
    table = table.set_column(index, Orders.price, table.column(index).cast(pa.string()))
    pq.write_table(table, path)
    return Corruption(str(path))


def missing_column(root: Path, day: dt.date) -> Corruption:
    """The required ``side`` column left out of the first orders file."""
    path = files(root, Orders.name, day)[0]
    pq.write_table(pq.read_table(path).drop_columns([Orders.side]), path)
    return Corruption(str(path))


def truncated_file(root: Path, day: dt.date) -> Corruption:
    """The first trades file cut in half, as an interrupted upload leaves it."""
    path = files(root, Trades.name, day)[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Corruption(str(path))


def empty_day(root: Path, day: dt.date) -> Corruption:
    """Every orders and trades file rewritten with its schema and no rows."""
    for dataset in (Orders.name, Trades.name):
        for path in files(root, dataset, day):
            pq.write_table(pq.read_table(path).schema.empty_table(), path)
    return Corruption(str(files(root, Orders.name, day)[0]))


# Tolerated: kept, not fatal.


def extra_column(root: Path, day: dt.date) -> Corruption:
    """A venue-specific ``venue_flag`` column added to every orders file."""
    for path in files(root, Orders.name, day):
        frame, schema = _load(path)
        frame["venue_flag"] = [f"f{i}" for i in range(len(frame))]
        _save(path, frame, schema.append(pa.field("venue_flag", pa.string())))
    return Corruption(str(files(root, Orders.name, day)[0]))


# Row-level corruptions: rows go to quarantine.


def duplicate_seq(root: Path, day: dt.date) -> Corruption:
    """A NEW row given the seq of the previous row of its symbol.

    The validator flags the repeat (the later row), so that row's order must go.
    """
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    same = frame.index[(frame[Orders.symbol] == frame.at[at, Orders.symbol]) & (frame.index < at)]
    before = int(same[-1])
    frame.at[at, Orders.seq] = frame.at[before, Orders.seq]
    _save(path, frame, schema)
    return _touch_order(path, frame, at)


def out_of_order_seq(root: Path, day: dt.date) -> Corruption:
    """Two consecutive rows of a symbol with their seq swapped.

    The later row's seq now goes backwards in file order: its order must go.
    """
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    same = frame.index[(frame[Orders.symbol] == frame.at[at, Orders.symbol]) & (frame.index > at)]
    after = int(same[0])
    a, b = frame.at[at, Orders.seq], frame.at[after, Orders.seq]
    frame.at[at, Orders.seq], frame.at[after, Orders.seq] = b, a
    _save(path, frame, schema)
    return _touch_order(path, frame, after)


def _fill_row(frame: pd.DataFrame) -> int:
    fills = frame.index[frame[Orders.event_type] == EventType.FILL]
    return int(fills[len(fills) // 2])


def fill_without_trade(root: Path, day: dt.date) -> Corruption:
    """A FILL row pointing at a trade_id the trades dataset does not have."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _fill_row(frame)
    trade = frame.at[at, Orders.trade_id]
    frame.at[at, Orders.trade_id] = "NO-SUCH-TRADE"
    _save(path, frame, schema)
    return Corruption(
        str(path),
        frame.at[at, Orders.symbol],
        frozenset({frame.at[at, Orders.order_id]}),
        frozenset({trade, "NO-SUCH-TRADE"}),
    )


def trade_without_fills(root: Path, day: dt.date) -> Corruption:
    """A trade row whose trade_id no FILL row carries."""
    path = files(root, Trades.name, day)[0]
    frame, schema = _load(path)
    ghost = frame.iloc[[len(frame) // 2]].copy()
    ghost[Trades.trade_id] = "GHOST-TRADE"
    frame = pd.concat([frame, ghost], ignore_index=True)
    _save(path, frame, schema)
    return Corruption(str(path), ghost[Trades.symbol].iloc[0], trade_ids=frozenset({"GHOST-TRADE"}))


def mismatched_trade_and_fill(root: Path, day: dt.date) -> Corruption:
    """A trade whose price is one tick off its two fills' price."""
    path = files(root, Trades.name, day)[0]
    frame, schema = _load(path)
    at = len(frame) // 2
    symbol = frame.at[at, Trades.symbol]
    frame.at[at, Trades.price] += float(_instrument(root, day, symbol)[Instruments.tick_size])
    _save(path, frame, schema)
    row = frame.loc[at]
    return Corruption(
        str(path),
        symbol,
        frozenset({row[Trades.buy_order_id], row[Trades.sell_order_id]}),
        frozenset({row[Trades.trade_id]}),
    )


def non_positive_price_and_quantity(root: Path, day: dt.date) -> Corruption:
    """One NEW with a negative price, another with a zero quantity."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    first, second = _new_limit_row(frame, 0), _new_limit_row(frame, 1)
    frame.at[first, Orders.price] = -frame.at[first, Orders.price]
    frame.at[second, Orders.quantity] = 0.0
    _save(path, frame, schema)
    ids = {frame.at[first, Orders.order_id], frame.at[second, Orders.order_id]}
    return Corruption(str(path), frame.at[first, Orders.symbol], frozenset(ids))


def off_tick_price(root: Path, day: dt.date) -> Corruption:
    """A NEW whose limit price is a third of a tick off the grid."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    tick = float(_instrument(root, day, frame.at[at, Orders.symbol])[Instruments.tick_size])
    frame.at[at, Orders.price] += tick / 3
    _save(path, frame, schema)
    return _touch_order(path, frame, at)


def off_lot_quantity(root: Path, day: dt.date) -> Corruption:
    """A NEW whose quantity (and leaves) is a third of a lot off the grid."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    lot = float(_instrument(root, day, frame.at[at, Orders.symbol])[Instruments.lot_size])
    frame.at[at, Orders.quantity] += lot / 3
    frame.at[at, Orders.leaves_quantity] += lot / 3
    _save(path, frame, schema)
    return _touch_order(path, frame, at)


def unknown_account(root: Path, day: dt.date) -> Corruption:
    """Every row of one order owned by an account the snapshot does not list."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    frame.loc[_order_rows(frame, at), Orders.account_id] = "GHOST-ACCOUNT"
    _save(path, frame, schema)
    return _touch_order(path, frame, at)


def unknown_symbol(root: Path, day: dt.date) -> Corruption:
    """Every row of one order moved to a symbol the instruments snapshot lacks."""
    path = files(root, Orders.name, day)[0]
    frame, schema = _load(path)
    at = _new_limit_row(frame)
    corruption = _touch_order(path, frame, at)
    frame.loc[_order_rows(frame, at), Orders.symbol] = "DOGE-USD"
    _save(path, frame, schema)
    return Corruption(corruption.file, "DOGE-USD", corruption.order_ids)


def event_after_terminal(root: Path, day: dt.date) -> Corruption:
    """A REPLACE appended after an order's CANCEL (at the end of the last file)."""
    path = files(root, Orders.name, day)[-1]
    frame, schema = _load(path)
    cancels = frame.index[frame[Orders.event_type] == EventType.CANCEL]
    at = int(cancels[len(cancels) // 2])
    late = frame.loc[[at]].copy()
    symbol = late[Orders.symbol].iloc[0]
    same = frame[frame[Orders.symbol] == symbol]
    late[Orders.event_type] = EventType.REPLACE.value
    late[Orders.seq] = same[Orders.seq].max() + 1
    late[Orders.event_time] = same[Orders.event_time].max()
    late[Orders.gateway_time] = same[Orders.event_time].max()
    late[Orders.leaves_quantity] = late[Orders.quantity]
    frame = pd.concat([frame, late], ignore_index=True)
    _save(path, frame, schema)
    return _touch_order(path, frame, at)
