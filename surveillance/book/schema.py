"""The Arrow schemas of the book stage's three outputs: ``top``, ``queue`` and ``findings``.

The book stage replays each symbol's curated order journal and writes, per day and
symbol (``Lake.book(kind, day, symbol)``):

``top``
    The top of the book after every event that changed it: best prices, sizes and
    order counts, mid and spread, resting depth within configurable distances of the
    mid, and the affiliated market maker's (AMM's) presence. Keyed by ``seq`` and
    ``event_time`` so that any event or trade joins, as of, to the book it met
    (``pd.merge_asof(..., on="seq")`` within a symbol). A row describes the book
    *after* the event with that ``seq`` was applied.
``queue``
    One row per maker fill of an order that was resting in the book: where the filled
    order stood in its price level's queue and which orders were still resting ahead
    of it (ids, accounts, open quantities, when they joined the level). A maker fill
    with ``queue_position > 0`` executed ahead of earlier orders at the same price and
    side: the evidence that proves or refutes a priority breach.
``open``
    The orders still resting at the end of the day, in priority order: the next
    day's opening book (the market runs 24/7).
``findings``
    Reconciliation findings: places where the journal disagrees with a price-time
    priority book (a maker fill away from the best, a taker fill that skipped a better
    level, an event on an order that is not in the book...). They are data, written
    beside the book, never exceptions: one bad row must not hide a day of evidence.

Columns are named through the classes, as for the venue contract: ``Top.best_bid``,
``Queue.ahead_order_ids``, ``Findings.kind``. The depth columns of ``top`` depend on
the configured distances (``[book] depth_bps``): use :func:`depth_column` to name
them and :func:`top_schema` for the schema that matches a configuration. Changes
to these schemas are additive only: later stages build on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import pyarrow as pa

from surveillance.contract import FLOAT, INT, STRING, TIMESTAMP, Col, Dataset

#: Version of the book outputs' layout, written into each file's schema metadata.
BOOK_SCHEMA_VERSION = "1"

BOOL = pa.bool_()
INT_LIST = pa.list_(INT)
FLOAT_LIST = pa.list_(FLOAT)
STRING_LIST = pa.list_(STRING)
TIMESTAMP_LIST = pa.list_(TIMESTAMP)

#: The packaged default distances of the depth columns, in basis points of the mid.
DEFAULT_DEPTH_BPS: tuple[int, ...] = (10, 25, 50, 100)


class FindingKind(StrEnum):
    """What a reconciliation finding says about the journal."""

    #: A MAKER fill whose price is not the best price resting on the maker's side
    #: just before the fill (``expected_price`` holds that best price).
    MAKER_FILL_NOT_AT_BEST = "MAKER_FILL_NOT_AT_BEST"
    #: A TAKER fill at a price worse for the taker than the best price resting on the
    #: opposite side just before the fill: a better level was skipped.
    TAKER_FILL_SKIPPED_LEVEL = "TAKER_FILL_SKIPPED_LEVEL"
    #: A FILL, REPLACE, CANCEL or EXPIRE on an order that is not in the book (never
    #: seen, or already terminated). The event is otherwise ignored.
    ORDER_NOT_IN_BOOK = "ORDER_NOT_IN_BOOK"
    #: A NEW for an order id that is still open; the new instruction replaces the old
    #: order (it joins the back of its level).
    DUPLICATE_NEW = "DUPLICATE_NEW"
    #: The row's ``leaves_quantity`` differs from what the replay expects (the open
    #: quantity before a FILL minus ``fill_quantity``); the journal's value is used.
    LEAVES_MISMATCH = "LEAVES_MISMATCH"
    #: After the event the best bid is at or above the best ask (locked or crossed
    #: book), which a matching engine never leaves behind. Reported once per crossing.
    CROSSED_BOOK = "CROSSED_BOOK"
    #: A price (``price`` or ``fill_price``) is not a multiple of the instrument's tick
    #: size, or a quantity not a multiple of its lot size; the replay rounds it.
    OFF_GRID = "OFF_GRID"


class _BookDataset(Dataset):
    """A book output: the contract's column machinery with the book's own metadata."""

    @classmethod
    def schema(cls, *, include_optional: bool = True) -> pa.Schema:
        return pa.schema(
            [c.field for c in cls.columns() if c.required or include_optional],
            metadata={
                b"dataset": f"book.{cls.name}".encode(),
                b"book_schema_version": BOOK_SCHEMA_VERSION.encode(),
            },
        )


class Top(_BookDataset):
    """Top of book after every event that changed it (one symbol and day per file).

    Prices are in quote currency, quantities in base units, both exactly as the
    journal states them (the replay works in integer ticks and lots internally).
    An empty side has a null price, quantity 0 and 0 orders; every column that needs
    both sides (mid, spread, depth) is then null. Depth columns follow the fixed
    columns: see :func:`top_schema`.
    """

    name = "top"
    symbol = Col(STRING)
    seq = Col(INT, doc="seq of the event after which the book looked like this")
    event_time = Col(TIMESTAMP, doc="event_time of that event")
    best_bid = Col(FLOAT, nullable=True, doc="highest resting buy price; null if none")
    best_bid_qty = Col(FLOAT, doc="open quantity resting at the best bid; 0 if none")
    best_bid_orders = Col(INT, doc="number of orders resting at the best bid")
    best_ask = Col(FLOAT, nullable=True, doc="lowest resting sell price; null if none")
    best_ask_qty = Col(FLOAT, doc="open quantity resting at the best ask; 0 if none")
    best_ask_orders = Col(INT, doc="number of orders resting at the best ask")
    mid = Col(FLOAT, nullable=True, doc="(best_bid + best_ask) / 2")
    spread = Col(FLOAT, nullable=True, doc="best_ask - best_bid, quote currency")
    spread_ticks = Col(INT, nullable=True, doc="best_ask - best_bid in ticks")
    spread_bps = Col(FLOAT, nullable=True, doc="spread / mid * 10,000")
    amm_bid_share = Col(
        FLOAT, nullable=True, doc="AMM's fraction of the quantity at the best bid; null if no bid"
    )
    amm_ask_share = Col(
        FLOAT, nullable=True, doc="AMM's fraction of the quantity at the best ask; null if no ask"
    )
    amm_alone_bid = Col(BOOL, doc="every order at the best bid is the AMM's")
    amm_alone_ask = Col(BOOL, doc="every order at the best ask is the AMM's")
    amm_best_bid = Col(FLOAT, nullable=True, doc="the AMM's own highest resting bid")
    amm_best_bid_qty = Col(FLOAT, doc="AMM quantity at amm_best_bid; 0 if none")
    amm_best_ask = Col(FLOAT, nullable=True, doc="the AMM's own lowest resting ask")
    amm_best_ask_qty = Col(FLOAT, doc="AMM quantity at amm_best_ask; 0 if none")


class Queue(_BookDataset):
    """One row per MAKER fill of a resting order: its queue and who stood ahead.

    The ``ahead_*`` lists are aligned and in time priority (earliest first); they hold
    at most ``[book] queue_max_ahead`` entries (``ahead_truncated`` says when more
    were resting), while ``queue_position`` and ``ahead_quantity`` always count all.
    """

    name = "queue"
    symbol = Col(STRING)
    seq = Col(INT, doc="seq of the MAKER FILL row")
    event_time = Col(TIMESTAMP)
    trade_id = Col(STRING, nullable=True)
    order_id = Col(STRING, doc="the filled (maker) order")
    account_id = Col(STRING)
    is_amm = Col(BOOL, doc="the filled order's account has role AFFILIATED_MM")
    side = Col(STRING, doc="BUY or SELL: the maker order's side")
    price = Col(FLOAT, doc="the maker order's resting price (its level)")
    fill_price = Col(FLOAT, nullable=True)
    fill_quantity = Col(FLOAT, nullable=True)
    leaves_before = Col(FLOAT, doc="the maker order's open quantity before the fill")
    joined_seq = Col(INT, doc="seq at which the filled order joined its level")
    joined_time = Col(TIMESTAMP, doc="event_time at which it joined its level")
    at_best = Col(BOOL, doc="its level was the best on its side just before the fill")
    queue_position = Col(INT, doc="orders resting ahead of it at its level; 0 = front")
    level_orders = Col(INT, doc="orders resting at the level just before the fill")
    level_quantity = Col(FLOAT, doc="open quantity at the level just before the fill")
    ahead_quantity = Col(FLOAT, doc="open quantity of all orders ahead of it")
    ahead_order_ids = Col(STRING_LIST)
    ahead_account_ids = Col(STRING_LIST)
    ahead_quantities = Col(FLOAT_LIST, doc="their open quantities")
    ahead_joined_seqs = Col(INT_LIST, doc="seq at which each joined the level")
    ahead_joined_times = Col(TIMESTAMP_LIST, doc="event_time at which each joined the level")
    ahead_amm = Col(pa.list_(BOOL), doc="whether each belongs to the AMM")
    ahead_truncated = Col(BOOL, doc="more orders were ahead than the lists hold")


class OpenOrders(_BookDataset):
    """The orders resting at the end of the day, in priority order: tomorrow's opening book.

    The market runs 24/7, so a day's journal acts on orders placed on earlier days.
    The book stage seeds each day with the previous day's ``open`` partition (when
    it exists) and writes its own. Rows are ordered by side (BUY first), price (best
    first) and time priority. ``joined_seq`` is expressed in the *next* day's seq
    numbering: negative, so that carried orders compare as earlier than any order of
    that day while keeping their relative order.
    """

    name = "open"
    symbol = Col(STRING)
    order_id = Col(STRING)
    account_id = Col(STRING)
    side = Col(STRING)
    price = Col(FLOAT)
    quantity = Col(FLOAT, doc="the order's total quantity in force")
    leaves_quantity = Col(FLOAT, doc="its open quantity")
    joined_seq = Col(INT, doc="when it joined its level, in the next day's seq numbering (< 1)")
    joined_time = Col(TIMESTAMP, doc="event_time at which it joined its level")


class Findings(_BookDataset):
    """Reconciliation findings: one row per disagreement, with the seq and the ids."""

    name = "findings"
    symbol = Col(STRING)
    seq = Col(INT, doc="seq of the journal row the finding is about")
    event_time = Col(TIMESTAMP)
    kind = Col(STRING, allowed=FindingKind)
    event_type = Col(STRING, doc="event_type of that row")
    order_id = Col(STRING)
    account_id = Col(STRING)
    trade_id = Col(STRING, nullable=True)
    side = Col(STRING)
    price = Col(FLOAT, nullable=True, doc="the price in question (fill_price for fills)")
    expected_price = Col(
        FLOAT, nullable=True, doc="the book's best price the fill should have met, when relevant"
    )
    quantity = Col(FLOAT, nullable=True, doc="the quantity in question (fill or leaves)")
    expected_quantity = Col(FLOAT, nullable=True, doc="what the replay expected, when relevant")
    detail = Col(STRING, doc="plain-language explanation")


def depth_column(side: str, bps: int) -> str:
    """Name of the depth column for ``side`` (``"bid"``/``"ask"``) within ``bps`` of mid.

    ``bid_depth_25bps`` is the open quantity of every resting buy order priced at or
    above ``mid * (1 - 25 / 10,000)``; ``ask_depth_25bps`` of every sell order at or
    below ``mid * (1 + 25 / 10,000)`` (null when either side is empty).
    """
    if side not in ("bid", "ask"):
        raise ValueError(f"depth side must be 'bid' or 'ask', found {side!r}")
    return f"{side}_depth_{int(bps)}bps"


def top_schema(depth_bps: Sequence[int] = DEFAULT_DEPTH_BPS) -> pa.Schema:
    """The ``top`` schema for the given depth distances: fixed columns, then depths.

    Depth columns come in the order of ``depth_bps``, bid then ask for each.
    """
    base = Top.schema()
    fields = list(base)
    for bps in depth_bps:
        for side in ("bid", "ask"):
            fields.append(pa.field(depth_column(side, bps), FLOAT, nullable=True))
    return pa.schema(fields, metadata=base.metadata)


def queue_schema() -> pa.Schema:
    """The ``queue`` schema."""
    return Queue.schema()


def findings_schema() -> pa.Schema:
    """The ``findings`` schema."""
    return Findings.schema()


def open_orders_schema() -> pa.Schema:
    """The ``open`` schema (end-of-day resting orders)."""
    return OpenOrders.schema()


#: Output kinds, as passed to ``Lake.book(kind, day, symbol)``.
BOOK_KINDS: tuple[str, ...] = (Top.name, Queue.name, Findings.name, OpenOrders.name)
