"""The replay follows the contract's price-time priority, on small hand-written journals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from book_journal import AMM, Journal, params

from surveillance.book.engine import BookReplayer, level_ticks, price_levels, replay_table
from surveillance.contract import Orders
from surveillance.errors import InputError


def _top(j: Journal, **overrides: Any) -> list[dict[str, Any]]:
    return replay_table(j.table(), params(**overrides)).top.to_pylist()


def _queue(j: Journal, **overrides: Any) -> list[dict[str, Any]]:
    return replay_table(j.table(), params(**overrides)).queue.to_pylist()


def _kinds(j: Journal) -> list[tuple[int, str]]:
    findings = replay_table(j.table(), params()).findings
    return list(
        zip(findings.column("seq").to_pylist(), findings.column("kind").to_pylist(), strict=True)
    )


def test_maker_fill_queue_lists_the_earlier_orders_still_ahead() -> None:
    j = Journal()
    j.new("c1", "BUY", 100.0, 1.0, account="client-1")
    j.new("c2", "BUY", 100.0, 0.5, account="client-2")
    j.new("m1", "BUY", 100.0, 2.0, account=AMM)
    j.new("t1", "SELL", 100.0, 1.0, tif="IOC")
    seq = j.trade("m1", "t1", 100.0, 1.0)  # the AMM's later order is filled first
    [row] = _queue(j)
    assert (row["seq"], row["order_id"], row["queue_position"]) == (seq, "m1", 2)
    assert row["ahead_order_ids"] == ["c1", "c2"]
    assert row["ahead_account_ids"] == ["client-1", "client-2"]
    assert row["ahead_quantities"] == [1.0, 0.5]
    assert row["ahead_joined_seqs"] == [1, 2]
    assert (row["ahead_quantity"], row["level_orders"], row["level_quantity"]) == (1.5, 3, 3.5)
    assert row["is_amm"] and row["ahead_amm"] == [False, False] and row["at_best"]


def test_fill_at_the_front_of_the_queue_has_nobody_ahead() -> None:
    j = Journal()
    j.new("a", "SELL", 101.0, 1.0)
    j.new("b", "SELL", 101.0, 1.0)
    j.new("t", "BUY", 101.0, 0.4, tif="IOC")
    j.trade("a", "t", 101.0, 0.4)
    [row] = _queue(j)
    assert (row["queue_position"], row["ahead_order_ids"], row["leaves_before"]) == (0, [], 1.0)


def test_replace_reducing_size_keeps_time_priority() -> None:
    j = Journal()
    j.new("a", "BUY", 100.0, 2.0)
    j.new("b", "BUY", 100.0, 1.0)
    j.replace("a", quantity=1.0)
    j.new("t", "SELL", 100.0, 0.5, tif="IOC")
    j.trade("b", "t", 100.0, 0.5)
    assert _queue(j)[0]["ahead_order_ids"] == ["a"]


@pytest.mark.parametrize(
    "change", [{"quantity": 3.0}, {"price": 99.5}], ids=["size-increase", "price-change"]
)
def test_replace_increasing_size_or_moving_price_loses_priority(change: dict[str, float]) -> None:
    j = Journal()
    j.new("a", "BUY", 100.0, 2.0)
    j.new("b", "BUY", 100.0, 1.0)
    j.replace("a", **change)
    if "price" in change:
        j.replace("a", price=100.0)  # back to the level: behind b now
    j.new("t", "SELL", 100.0, 0.5, tif="IOC")
    j.trade("b", "t", 100.0, 0.5)
    [row] = _queue(j)
    assert (row["queue_position"], row["ahead_order_ids"]) == (0, [])


def test_ioc_and_fok_orders_never_rest() -> None:
    j = Journal()
    j.new("ask", "SELL", 101.0, 1.0)
    j.new("ioc", "BUY", 100.0, 1.0, tif="IOC")
    j.end("ioc", "EXPIRE")
    j.new("fok", "BUY", 101.0, 2.0, tif="FOK")
    j.end("fok", "EXPIRE")
    top = _top(j)
    assert [r["seq"] for r in top] == [1]  # nothing after the resting ask changed the book
    assert _kinds(j) == []


def test_marketable_limit_rests_its_remainder_behind_earlier_orders_at_its_price() -> None:
    j = Journal()
    j.new("bid", "BUY", 100.5, 1.0)
    j.new("ask", "SELL", 100.5, 1.0)  # crosses: in flight, fills, rests the rest
    j.trade("bid", "ask", 100.5, 1.0)
    j.new("late", "SELL", 100.5, 0.3)
    j.new("ask2", "SELL", 101.0, 3.0)
    j.new("late2", "SELL", 100.5, 1.0)
    big = j.new("big", "SELL", 100.5, 2.0)  # back of 100.5
    del big
    last = _top(j)[-1]
    assert (last["best_ask"], last["best_ask_qty"], last["best_ask_orders"]) == (100.5, 3.3, 3)
    assert last["best_bid"] is None


def test_taker_remainder_rests_as_soon_as_it_no_longer_crosses() -> None:
    j = Journal()
    j.new("ask", "SELL", 101.0, 1.0)
    j.new("buy", "BUY", 101.5, 1.5)
    seq = j.trade("ask", "buy", 101.0, 1.0)
    rows = {r["seq"]: r for r in _top(j)}
    # after the taker's fill row its remainder is the best bid, before the next instruction
    assert (rows[seq + 1]["best_bid"], rows[seq + 1]["best_bid_qty"]) == (101.5, 0.5)


def test_market_order_never_rests() -> None:
    j = Journal()
    j.new("ask", "SELL", 101.0, 1.0)
    j.new("mkt", "BUY", None, 3.0, order_type="MARKET", tif="IOC")
    j.trade("ask", "mkt", 101.0, 1.0)
    j.end("mkt", "EXPIRE")
    j.new("next", "BUY", 99.0, 1.0)
    last = _top(j)[-1]
    assert (last["best_bid"], last["best_bid_orders"], last["best_ask"]) == (99.0, 1, None)


def test_top_reports_spread_mid_and_depth_within_the_bands() -> None:
    j = Journal()
    j.new("b1", "BUY", 99.5, 1.0)
    j.new("b2", "BUY", 89.0, 2.0)  # outside 10 bps and 100 bps of mid 100
    j.new("b3", "BUY", 99.0, 0.5)  # exactly 100 bps below mid 100: counted
    j.new("a1", "SELL", 100.5, 1.5)
    last = _top(j, depth_bps=(10, 100))[-1]
    assert (last["mid"], last["spread"], last["spread_ticks"]) == (100.0, 1.0, 2)
    assert last["spread_bps"] == pytest.approx(100.0)
    assert (last["bid_depth_10bps"], last["bid_depth_100bps"]) == (0.0, 1.5)
    assert (last["ask_depth_10bps"], last["ask_depth_100bps"]) == (0.0, 1.5)


def test_top_reports_the_amm_share_alone_flag_and_own_best_quotes() -> None:
    j = Journal()
    j.new("m1", "BUY", 100.0, 3.0, account=AMM)
    j.new("c1", "BUY", 100.0, 1.0)
    j.new("m2", "SELL", 101.0, 2.0, account=AMM)
    j.new("c2", "SELL", 100.5, 1.0)
    last = _top(j)[-1]
    assert (last["amm_bid_share"], last["amm_alone_bid"]) == (0.75, False)
    assert (last["amm_ask_share"], last["amm_alone_ask"]) == (0.0, False)
    assert (last["amm_best_bid"], last["amm_best_bid_qty"]) == (100.0, 3.0)
    assert (last["amm_best_ask"], last["amm_best_ask_qty"]) == (101.0, 2.0)
    j.end("c2")
    assert _top(j)[-1]["amm_alone_ask"] is True


def test_a_row_is_written_only_when_the_top_changes() -> None:
    j = Journal()
    j.new("b", "BUY", 100.0, 1.0)
    j.new("deep", "BUY", 50.0, 1.0, account="client-2")  # far outside every band
    j.new("a", "SELL", 101.0, 1.0)
    j.new("deep2", "BUY", 40.0, 1.0)
    assert [r["seq"] for r in _top(j)] == [1, 3]


def test_queue_lists_are_capped_but_position_counts_everyone() -> None:
    j = Journal()
    for k in range(4):
        j.new(f"c{k}", "BUY", 100.0, 1.0)
    j.new("m", "BUY", 100.0, 1.0, account=AMM)
    j.new("t", "SELL", 100.0, 1.0, tif="IOC")
    j.trade("m", "t", 100.0, 1.0)
    [row] = _queue(j, max_ahead=2)
    assert (row["queue_position"], row["ahead_order_ids"]) == (4, ["c0", "c1"])
    assert (row["ahead_truncated"], row["ahead_quantity"]) == (True, 4.0)


def test_maker_fill_away_from_the_best_is_a_finding() -> None:
    j = Journal()
    j.new("best", "BUY", 100.0, 1.0)
    j.new("worse", "BUY", 99.5, 1.0, account=AMM)
    j.new("t", "SELL", 99.5, 1.0, tif="IOC")
    seq = j.trade("worse", "t", 99.5, 1.0)
    findings = replay_table(j.table(), params()).findings.to_pylist()
    maker = [f for f in findings if f["kind"] == "MAKER_FILL_NOT_AT_BEST"]
    taker = [f for f in findings if f["kind"] == "TAKER_FILL_SKIPPED_LEVEL"]
    assert [(f["seq"], f["order_id"], f["price"], f["expected_price"]) for f in maker] == [
        (seq, "worse", 99.5, 100.0)
    ]
    assert [(f["seq"], f["order_id"], f["expected_price"]) for f in taker] == [
        (seq + 1, "t", 100.0)
    ]


def test_events_on_orders_not_in_the_book_are_findings_not_errors() -> None:
    j = Journal()
    j.new("a", "BUY", 100.0, 1.0)
    j.end("a")
    j.raw(
        order_id="a",
        account_id="client-1",
        event_type="CANCEL",
        side="BUY",
        order_type="LIMIT",
        time_in_force="GTC",
        price=100.0,
        quantity=1.0,
        leaves_quantity=0.0,
    )
    j.raw(
        order_id="ghost",
        account_id="client-1",
        event_type="FILL",
        side="SELL",
        order_type="LIMIT",
        time_in_force="GTC",
        price=100.0,
        quantity=1.0,
        leaves_quantity=0.0,
        fill_price=100.0,
        fill_quantity=1.0,
        trade_id="T9",
        liquidity="MAKER",
    )
    j.raw(
        order_id="never",
        account_id="client-1",
        event_type="REJECT",
        side="SELL",
        order_type="LIMIT",
        time_in_force="POST_ONLY",
        price=99.0,
        quantity=1.0,
        leaves_quantity=0.0,
    )
    assert _kinds(j) == [(3, "ORDER_NOT_IN_BOOK"), (4, "ORDER_NOT_IN_BOOK")]


def test_duplicate_new_wrong_leaves_crossed_book_and_off_grid_are_findings() -> None:
    j = Journal()
    j.new("a", "BUY", 100.0, 1.0)
    j.raw(
        order_id="a",
        account_id="client-1",
        event_type="NEW",
        side="BUY",
        order_type="LIMIT",
        time_in_force="GTC",
        price=100.0,
        quantity=1.0,
        leaves_quantity=1.0,
    )
    j.new("s", "SELL", 101.0, 2.0)
    j.new("t", "BUY", 101.0, 1.0, tif="IOC")
    j.fill("s", 101.0, 1.0, "MAKER", "T1")
    j.open["s"].leaves = 0.7  # the journal says 0.7 where 1.0 remain
    j.fill("s", 101.0, 0.2, "MAKER", "T2")
    j.raw(
        order_id="x",
        account_id="client-2",
        event_type="NEW",
        side="SELL",
        order_type="LIMIT",
        time_in_force="GTC",
        price=99.75,
        quantity=1.0,
        leaves_quantity=1.0,
    )  # 99.75 is off the 0.5 grid: read as 100.0, it crosses the bid, and no fill follows
    j.new("y", "BUY", 90.0, 1.0)  # the next instruction: x rests, crossed
    assert _kinds(j) == [
        (2, "DUPLICATE_NEW"),
        (6, "LEAVES_MISMATCH"),
        (7, "OFF_GRID"),
        (8, "CROSSED_BOOK"),
    ]


def test_a_journal_out_of_seq_order_is_refused() -> None:
    j = Journal()
    j.new("a", "BUY", 100.0, 1.0)
    j.new("b", "BUY", 100.0, 1.0)
    table = j.table()
    swapped = table.take(pa.array([1, 0]))
    with pytest.raises(
        InputError, match=r"column 'seq' .* strictly increasing, found seq 1 after 2"
    ):
        replay_table(swapped, params())


def test_open_order_table_stays_bounded_by_open_orders_over_a_long_day() -> None:
    j = Journal()
    for k in range(6_000):  # orders come and go; at most three are open at a time
        j.new(f"o{k}", "BUY" if k % 2 else "SELL", 99.0 if k % 2 else 101.0, 1.0)
        if k >= 2:
            j.end(f"o{k - 2}")
    table = j.table()
    p = params()
    replayer = BookReplayer(p, level_ticks([table.column(Orders.price)], p.tick_size))
    for batch in table.to_batches(max_chunksize=1_024):
        replayer.feed(batch)
    assert replayer.events == table.num_rows
    assert replayer.slots.shape[0] <= 2_048  # the chunk's new ids plus the open book
    assert len(replayer.open_ids) == 2
    assert np.count_nonzero(replayer.slots[:, 0]) == 2


def test_price_levels_span_every_tick_unless_a_stray_price_makes_the_span_too_wide() -> None:
    prices = pa.array([100.0, 100.5, None, 101.5])
    assert price_levels(lambda: [prices], 0.5).tolist() == [200, 201, 202, 203]
    stray = pa.array([100.0, 100.5, 1e9])  # a fat finger: the distinct ticks instead
    assert price_levels(lambda: [stray], 0.5).tolist() == [200, 201, 2_000_000_000]
    assert price_levels(lambda: [pa.array([None], pa.float64())], 0.5).tolist() == []
