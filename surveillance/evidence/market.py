"""Market state for evidence and review: the top of the book, from the book stage.

Reports need the best bid and ask over time, of the whole market (the replay of a case
window, markouts, price improvement) and of the affiliated market maker's own quotes
(its quoting obligations). Both are columns of the book stage's ``top`` output, read
here as they are in the lake. When the lake has no book output for a day (the book
stage has not run there), the same engine (``surveillance.book.engine.replay_table``)
replays the curated journal on the spot: there is one book replay in the code base.

The state reported for an engine time stamp is the book after the *last* event at that
time, so the transient state between an incoming order and its fills never shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa

from surveillance import storage
from surveillance.book.engine import ReplayParams, replay_table
from surveillance.book.schema import DEFAULT_DEPTH_BPS, Top
from surveillance.contract import Instruments, Orders
from surveillance.storage import Lake

TOP_COLUMNS = ("event_time", "bid", "bid_quantity", "ask", "ask_quantity")


def state_at(top: pd.DataFrame, times: pd.Series, *, strictly_before: bool = False) -> pd.DataFrame:
    """The top of book in force at each of ``times`` (as of the last change at or before).

    ``strictly_before`` reads the state just before each time: what a client saw when
    its order arrived, before the order itself changed the book.
    """
    stamps = pd.to_datetime(times, utc=True).to_numpy(dtype="datetime64[ns]")
    keys = top["event_time"].to_numpy(dtype="datetime64[ns]")
    index = (
        np.searchsorted(keys, stamps, side="left")
        if strictly_before
        else np.searchsorted(keys, stamps, side="right")
    ) - 1
    values = top[list(TOP_COLUMNS[1:])].to_numpy(dtype="float64")
    padded = np.vstack([np.full((1, values.shape[1]), np.nan), values])
    picked = padded[index + 1]
    return pd.DataFrame(picked, columns=list(TOP_COLUMNS[1:]), index=times.index)


def mid(top: pd.DataFrame) -> pd.Series:
    """Mid price of a top-of-book frame; NaN when a side is empty."""
    return (top["bid"] + top["ask"]) / 2.0


#: Columns of :func:`load_top`: market best levels, then the AMM's own.
BOOK_COLUMNS = (
    "event_time",
    "bid",
    "bid_quantity",
    "ask",
    "ask_quantity",
    "amm_bid",
    "amm_bid_quantity",
    "amm_ask",
    "amm_ask_quantity",
)
_TOP_READ = (
    Top.event_time,
    Top.seq,
    Top.best_bid,
    Top.best_bid_qty,
    Top.best_ask,
    Top.best_ask_qty,
    Top.amm_best_bid,
    Top.amm_best_bid_qty,
    Top.amm_best_ask,
    Top.amm_best_ask_qty,
)


def load_top(
    lake: Lake, day: dt.date, symbol: str, amm_accounts: Collection[str]
) -> tuple[pd.DataFrame, str]:
    """The day's top of book for ``symbol`` (market and AMM levels) and where it came from.

    The book stage's ``top`` output is used when the lake has it. Otherwise the curated
    journal is replayed with the book engine, taking ``amm_accounts`` as the AMM and the
    day's instruments snapshot for tick and lot sizes. Returns an empty frame and a
    note saying why when neither is possible.
    """
    uri = lake.book(Top.name, day, symbol)
    if storage.exists(uri):
        return top_frame(storage.read_table(uri, columns=list(_TOP_READ))), (
            f"book stage output {uri}"
        )
    orders_uri = lake.curated(Orders.name, day, symbol)
    instruments_uri = lake.curated(Instruments.name, day)
    if not storage.exists(orders_uri):
        return _empty_book(), f"absent: neither {uri} nor {orders_uri} exists"
    if not storage.exists(instruments_uri):
        return _empty_book(), f"absent: no {uri}, and no instruments {instruments_uri} to replay"
    instruments = storage.read_table(instruments_uri).to_pandas()
    rows = instruments[instruments[Instruments.symbol] == symbol]
    if rows.empty:
        return _empty_book(), f"absent: no {uri}, and {symbol} is not in {instruments_uri}"
    params = ReplayParams(
        symbol,
        float(rows[Instruments.tick_size].iloc[0]),
        float(rows[Instruments.lot_size].iloc[0]),
        frozenset(amm_accounts),
        DEFAULT_DEPTH_BPS,
    )
    orders = storage.read_table(orders_uri).sort_by(Orders.seq)
    book = replay_table(orders, params)
    return top_frame(book.top.select(list(_TOP_READ))), (
        f"replayed with the book engine from {orders_uri}"
    )


def top_frame(table: pa.Table) -> pd.DataFrame:
    """The book stage's ``top`` rows as :data:`BOOK_COLUMNS`, one row per engine time."""
    frame = table.to_pandas().sort_values(Top.seq, kind="stable")
    # Several rows may share an engine time; the book after the last one is the state.
    frame = frame.drop_duplicates(Top.event_time, keep="last")
    top = pd.DataFrame(
        {
            "event_time": pd.to_datetime(frame[Top.event_time], utc=True).astype(
                "datetime64[ns, UTC]"
            ),
            "bid": frame[Top.best_bid].astype("float64"),
            "bid_quantity": frame[Top.best_bid_qty].astype("float64"),
            "ask": frame[Top.best_ask].astype("float64"),
            "ask_quantity": frame[Top.best_ask_qty].astype("float64"),
            "amm_bid": frame[Top.amm_best_bid].astype("float64"),
            "amm_bid_quantity": frame[Top.amm_best_bid_qty].astype("float64"),
            "amm_ask": frame[Top.amm_best_ask].astype("float64"),
            "amm_ask_quantity": frame[Top.amm_best_ask_qty].astype("float64"),
        }
    ).reset_index(drop=True)
    # An empty side has quantity 0 (not null) in the book output: make it missing too.
    for side in ("bid", "ask", "amm_bid", "amm_ask"):
        top.loc[top[side].isna(), f"{side}_quantity"] = np.nan
    return top


def _empty_book() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in BOOK_COLUMNS[1:]})
    frame.insert(0, "event_time", pd.Series(dtype="datetime64[ns, UTC]"))
    return frame
