"""The matching engine's semantics on small hand-driven scenarios (ticks and lots)."""

from __future__ import annotations

from itertools import count

import pytest

from surveillance.simulate.engine import (
    BUY,
    EVENT_TYPES,
    FOK,
    GTC,
    IOC,
    LIMIT,
    LIQUIDITY,
    MARKET,
    NULL,
    POST_ONLY,
    SELL,
    Engine,
    Journal,
    Order,
)


class Venue:
    """An engine with a clock: every instruction arrives one nanosecond after the last."""

    def __init__(self, truth: bool = False) -> None:
        self.journal = Journal(truth)
        self.engine = Engine(self.journal)
        self._ids = count(1)
        self._t = count(1_000)

    def order(
        self,
        side: int,
        price: int,
        qty: int,
        *,
        acct: int = 0,
        entity: int | None = None,
        otype: int = LIMIT,
        tif: int = GTC,
    ) -> Order:
        ent = acct if entity is None else entity
        return Order(next(self._ids), acct, ent, side, otype, tif, price, qty)

    def new(self, o: Order) -> Order:
        t = next(self._t)
        self.engine.new(o, t, t - 1)
        return o

    def cancel(self, o: Order) -> bool:
        t = next(self._t)
        return self.engine.cancel(o, t, t - 1)

    def replace(self, o: Order, price: int, qty: int) -> bool:
        t = next(self._t)
        return self.engine.replace(o, price, qty, t, t - 1)

    def flushed(self) -> Journal:
        self.journal.flush()
        return self.journal

    def rows(self, start: int = 0) -> list[tuple[str, int, int, int, int, int, str | None]]:
        """(event, order, quantity, leaves, fill price, fill qty, liquidity) per row."""
        j = self.flushed()
        return [
            (
                EVENT_TYPES[j.etype[r]],
                j.oid[r],
                j.qty[r],
                j.leaves[r],
                j.fill_price[r],
                j.fill_qty[r],
                LIQUIDITY[j.liquidity[r]] if j.liquidity[r] != NULL else None,
            )
            for r in range(start, len(j))
        ]

    def makers(self) -> list[int]:
        """Order ids of the resting side of every trade, in execution order."""
        j = self.flushed()
        return [
            j.oid[r]
            for r in range(len(j))
            if EVENT_TYPES[j.etype[r]] == "FILL" and j.liquidity[r] == 0
        ]


def test_better_price_executes_before_earlier_worse_price() -> None:
    v = Venue()
    worse = v.new(v.order(SELL, 101, 5, acct=1))
    better = v.new(v.order(SELL, 100, 5, acct=2))
    v.new(v.order(BUY, 0, 6, acct=3, otype=MARKET, tif=IOC))
    assert v.makers() == [better.oid, worse.oid]


def test_same_price_fills_in_arrival_order() -> None:
    v = Venue()
    first = v.new(v.order(SELL, 100, 5, acct=1))
    second = v.new(v.order(SELL, 100, 5, acct=2))
    v.new(v.order(BUY, 100, 7, acct=3, tif=IOC))
    assert v.makers() == [first.oid, second.oid]


def test_replace_reducing_size_keeps_time_priority() -> None:
    v = Venue()
    first = v.new(v.order(SELL, 100, 5, acct=1))
    v.new(v.order(SELL, 100, 5, acct=2))
    assert v.replace(first, 100, 3)
    v.new(v.order(BUY, 100, 3, acct=3, tif=IOC))
    assert v.makers() == [first.oid]


def test_replace_increasing_size_loses_time_priority() -> None:
    v = Venue()
    first = v.new(v.order(SELL, 100, 5, acct=1))
    second = v.new(v.order(SELL, 100, 5, acct=2))
    assert v.replace(first, 100, 8)
    v.new(v.order(BUY, 100, 3, acct=3, tif=IOC))
    assert v.makers() == [second.oid]


def test_replace_changing_price_joins_back_of_new_level() -> None:
    v = Venue()
    first = v.new(v.order(SELL, 101, 5, acct=1))
    second = v.new(v.order(SELL, 100, 5, acct=2))
    assert v.replace(first, 100, 5)
    v.new(v.order(BUY, 100, 3, acct=3, tif=IOC))
    assert v.makers() == [second.oid]


def test_replace_that_crosses_executes_as_taker() -> None:
    v = Venue()
    ask = v.new(v.order(SELL, 100, 5, acct=1))
    bid = v.new(v.order(BUY, 99, 4, acct=2))
    start = len(v.journal)
    assert v.replace(bid, 100, 4)
    assert v.rows(start) == [
        ("REPLACE", bid.oid, 4, 4, NULL, NULL, None),
        ("FILL", ask.oid, 5, 1, 100, 4, "MAKER"),
        ("FILL", bid.oid, 4, 0, 100, 4, "TAKER"),
    ]


def test_replace_after_partial_fill_sets_total_quantity() -> None:
    v = Venue()
    ask = v.new(v.order(SELL, 100, 10, acct=1))
    v.new(v.order(BUY, 100, 4, acct=2, tif=IOC))
    start = len(v.journal)
    assert v.replace(ask, 100, 8)
    assert v.rows(start) == [("REPLACE", ask.oid, 8, 4, NULL, NULL, None)]


def test_replace_to_no_more_than_filled_is_ignored() -> None:
    v = Venue()
    ask = v.new(v.order(SELL, 100, 10, acct=1))
    v.new(v.order(BUY, 100, 4, acct=2, tif=IOC))
    start = len(v.journal)
    assert not v.replace(ask, 100, 4)
    assert v.rows(start) == []


def test_ioc_remainder_expires() -> None:
    v = Venue()
    ask = v.new(v.order(SELL, 100, 3, acct=1))
    ioc = v.order(BUY, 100, 5, acct=2, tif=IOC)
    start = len(v.journal)
    v.new(ioc)
    assert v.rows(start) == [
        ("NEW", ioc.oid, 5, 5, NULL, NULL, None),
        ("FILL", ask.oid, 3, 0, 100, 3, "MAKER"),
        ("FILL", ioc.oid, 5, 2, 100, 3, "TAKER"),
        ("EXPIRE", ioc.oid, 5, 0, NULL, NULL, None),
    ]


def test_fok_that_cannot_fill_expires_without_trading() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1))
    fok = v.order(BUY, 101, 5, acct=2, tif=FOK)
    start = len(v.journal)
    v.new(fok)
    assert v.rows(start) == [
        ("NEW", fok.oid, 5, 5, NULL, NULL, None),
        ("EXPIRE", fok.oid, 5, 0, NULL, NULL, None),
    ]


def test_fok_that_can_fill_trades_across_levels() -> None:
    v = Venue()
    a = v.new(v.order(SELL, 100, 3, acct=1))
    b = v.new(v.order(SELL, 101, 3, acct=2))
    v.new(v.order(BUY, 101, 5, acct=3, tif=FOK))
    assert v.makers() == [a.oid, b.oid]


def test_fok_does_not_count_its_own_entitys_orders() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1, entity=9))
    v.new(v.order(SELL, 100, 3, acct=2))
    fok = v.order(BUY, 100, 5, acct=3, entity=9, tif=FOK)
    start = len(v.journal)
    v.new(fok)
    assert [r[0] for r in v.rows(start)] == ["NEW", "EXPIRE"]


def test_post_only_that_would_cross_is_rejected() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1))
    po = v.order(BUY, 100, 2, acct=2, tif=POST_ONLY)
    start = len(v.journal)
    v.new(po)
    assert v.rows(start) == [("REJECT", po.oid, 2, 0, NULL, NULL, None)]


def test_post_only_that_does_not_cross_rests() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1))
    v.new(v.order(BUY, 99, 2, acct=2, tif=POST_ONLY))
    assert v.engine.best_bid() == 99


def test_market_order_has_no_price_and_expires_when_book_runs_out() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 2, acct=1))
    mkt = v.order(BUY, NULL, 5, acct=2, otype=MARKET, tif=IOC)
    start = len(v.journal)
    v.new(mkt)
    j = v.flushed()
    assert [j.price[r] for r in range(start, len(j)) if j.oid[r] == mkt.oid] == [NULL] * 3
    assert v.rows(start)[-1] == ("EXPIRE", mkt.oid, 5, 0, NULL, NULL, None)


def test_self_trade_prevention_cancels_the_resting_order_and_continues() -> None:
    v = Venue()
    own = v.new(v.order(SELL, 100, 3, acct=1, entity=7))
    other = v.new(v.order(SELL, 100, 3, acct=2))
    taker = v.order(BUY, 100, 2, acct=3, entity=7, tif=IOC)
    start = len(v.journal)
    v.new(taker)
    assert v.rows(start) == [
        ("NEW", taker.oid, 2, 2, NULL, NULL, None),
        ("CANCEL", own.oid, 3, 0, NULL, NULL, None),
        ("FILL", other.oid, 3, 1, 100, 2, "MAKER"),
        ("FILL", taker.oid, 2, 0, 100, 2, "TAKER"),
    ]


def test_self_trade_prevention_cancel_carries_the_causing_gateway_time() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1, entity=7))
    taker = v.order(BUY, 100, 2, acct=3, entity=7, tif=IOC)
    v.engine.new(taker, 5_000, 4_321)
    j = v.flushed()
    cancel = [r for r in range(len(j)) if EVENT_TYPES[j.etype[r]] == "CANCEL"]
    assert [j.gw[r] for r in cancel] == [4_321]


def test_stp_bypass_lets_an_entity_trade_with_itself() -> None:
    v = Venue()
    own = v.new(v.order(SELL, 100, 3, acct=1, entity=7))
    taker = v.order(BUY, 100, 3, acct=2, entity=7, tif=IOC)
    taker.stp_bypass = True
    v.new(taker)
    assert v.makers() == [own.oid]


def test_every_trade_has_one_maker_and_one_taker_fill_with_its_id() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1))
    v.new(v.order(SELL, 101, 3, acct=2))
    v.new(v.order(BUY, 101, 5, acct=3, tif=IOC))
    j = v.flushed()
    fills = [
        (j.trade_id[r], LIQUIDITY[j.liquidity[r]], j.fill_price[r], j.fill_qty[r])
        for r in range(len(j))
        if EVENT_TYPES[j.etype[r]] == "FILL"
    ]
    trades = list(zip(j.tr_id, j.tr_price, j.tr_qty, strict=True))
    assert fills == [(tid, liq, px, q) for tid, px, q in trades for liq in ("MAKER", "TAKER")]


def test_cancel_of_a_filled_order_writes_nothing() -> None:
    v = Venue()
    ask = v.new(v.order(SELL, 100, 3, acct=1))
    v.new(v.order(BUY, 100, 3, acct=2, tif=IOC))
    start = len(v.journal)
    assert not v.cancel(ask)
    assert v.rows(start) == []


def test_priority_jump_hook_fills_the_flagged_later_order_first() -> None:
    v = Venue()
    first = v.new(v.order(SELL, 100, 3, acct=1))
    later = v.order(SELL, 100, 3, acct=2)
    later.jump = True
    v.new(later)
    v.new(v.order(BUY, 100, 2, acct=3, tif=IOC))
    assert (v.makers(), later.jumped) == ([later.oid], [(1, [first.oid])])


def test_via_hook_fills_a_worse_order_before_better_prices() -> None:
    v = Venue()
    v.new(v.order(SELL, 100, 3, acct=1))
    worse = v.new(v.order(SELL, 104, 3, acct=2))
    taker = v.order(BUY, NULL, 2, acct=3, otype=MARKET, tif=IOC)
    taker.via = worse
    v.new(taker)
    assert (v.makers(), taker.worse_than) == ([worse.oid], [100])


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        # A resting NEW is in the book after its own row.
        ("rest", [(99, 2, NULL, NULL), (99, 2, 100, 3)]),
        # A marketable NEW: after its NEW row the book is as before; its remainder
        # joins the book after its last fill.
        (
            "cross",
            [
                (NULL, NULL, 100, 3),
                (NULL, NULL, 100, 3),
                (NULL, NULL, NULL, NULL),
                (100, 2, NULL, NULL),
            ],
        ),
    ],
)
def test_engine_truth_is_the_book_after_each_row(
    scenario: str, expected: list[tuple[int, int, int, int]]
) -> None:
    v = Venue(truth=True)
    if scenario == "rest":
        v.new(v.order(BUY, 99, 2, acct=1))
        v.new(v.order(SELL, 100, 3, acct=2))
    else:
        v.new(v.order(SELL, 100, 3, acct=2))
        v.new(v.order(BUY, 100, 5, acct=1))
    j = v.flushed()
    assert list(zip(j.bb, j.bbq, j.ba, j.baq, strict=True)) == expected
