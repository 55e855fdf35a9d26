"""The compiled replay agrees exactly with the plain reference book on random journals."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from book_journal import AMM, DAY, SYMBOL, T0, params
from book_reference import reference_replay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveillance.book.engine import ORDER_KEY, BookReplayer, level_ticks, replay_table
from surveillance.contract import Orders
from surveillance.ingest.curated import ORDER_KEY as INGEST_ORDER_KEY
from surveillance.ingest.curated import with_order_key

ORDER_IDS = [f"o{i}" for i in range(7)]
ACCOUNTS = [AMM, "client-1", "client-2"]
EVENT_TYPES = ["NEW"] * 5 + ["REPLACE"] * 2 + ["CANCEL", "EXPIRE", "REJECT"] + ["FILL"] * 4
TIFS = ["GTC"] * 5 + ["IOC", "FOK", "POST_ONLY"]
TICK, LOT = 0.5, 0.1
_ = DAY


@st.composite
def journals(draw: st.DrawFn) -> pa.Table:
    """Random journals over few ids and prices: crossings, replaces, partial fills, IOC, FOK.

    Four rows in five are plausible (they follow what the generator opened, with
    consistent open quantities and maker fills at the order's price); the rest are
    not (fills of unknown orders, wrong leaves, off-grid prices), so the findings are
    exercised as much as the book.
    """
    n = draw(st.integers(1, 70))
    rows: list[dict[str, Any]] = []
    price_ticks = st.integers(197, 203)
    live: dict[str, list[Any]] = {}  # id -> [side, price, leaves lots] of what was opened
    for seq in range(1, n + 1):
        event_type = draw(st.sampled_from(EVENT_TYPES))
        plausible = draw(st.integers(0, 4)) > 0
        fresh = [i for i in ORDER_IDS if i not in live]
        if event_type == "NEW" and plausible and fresh:
            order_id = draw(st.sampled_from(fresh))
        elif event_type != "NEW" and plausible and live:
            order_id = draw(st.sampled_from(sorted(live)))
        else:
            order_id = draw(st.sampled_from(ORDER_IDS))
        tracked = live.get(order_id) if plausible and event_type != "NEW" else None
        market = draw(st.integers(0, 9)) == 0
        price: float | None = None if market else draw(price_ticks) * TICK
        if price is not None and draw(st.integers(0, 40)) == 0:
            price += 0.2  # off the tick grid
        side = tracked[0] if tracked else draw(st.sampled_from(["BUY", "SELL"]))
        if price is not None and plausible and event_type == "NEW":
            # plausible orders cluster on three levels a side, so queues form
            price = (draw(st.integers(198, 200)) + (2 if side == "SELL" else 0)) * TICK
        quantity_lots = draw(st.integers(1, 6))
        leaves_lots = draw(st.integers(0, 6))
        row: dict[str, Any] = {
            "event_time": T0 + pd_ms(seq // 2),  # some rows share a timestamp
            "seq": seq * 3,
            "symbol": SYMBOL,
            "order_id": order_id,
            "account_id": draw(st.sampled_from(ACCOUNTS)),
            "event_type": event_type,
            "side": side,
            "order_type": "MARKET" if market else "LIMIT",
            "time_in_force": draw(st.sampled_from(TIFS)),
            "price": price,
        }
        if event_type == "NEW" and plausible:
            leaves_lots = quantity_lots
            if not market and row["time_in_force"] in ("GTC", "POST_ONLY"):
                live[order_id] = [side, price, leaves_lots]
        elif event_type in ("CANCEL", "EXPIRE", "REJECT"):
            live.pop(order_id, None)
            leaves_lots = 0
        elif event_type == "REPLACE" and tracked:
            if draw(st.booleans()):
                row["price"] = tracked[1]  # size change only
            leaves_lots = quantity_lots
            tracked[1:] = [row["price"], leaves_lots]
        elif event_type == "FILL":
            fill_lots = draw(st.integers(1, 3))
            fill_price = draw(price_ticks) * TICK
            if tracked:
                fill_lots = min(fill_lots, max(tracked[2], 1))
                leaves_lots = max(tracked[2] - fill_lots, 0)
                tracked[2] = leaves_lots
                if tracked[1] is not None and draw(st.booleans()):
                    fill_price = tracked[1]
                    row["price"] = tracked[1]
                if leaves_lots == 0:
                    live.pop(order_id)
            row.update(
                fill_price=fill_price,
                fill_quantity=round(fill_lots * LOT, 10),
                trade_id=f"T{seq}",
                liquidity=draw(st.sampled_from(["MAKER", "MAKER", "TAKER", "TAKER", None])),
            )
        row.update(
            quantity=round(quantity_lots * LOT, 10),
            leaves_quantity=round(leaves_lots * LOT, 10),
            origin="CLIENT",
        )
        rows.append(row)
    return Orders.from_pylist(rows)


def pd_ms(n: int) -> Any:
    import pandas as pd

    return pd.Timedelta(milliseconds=n)


def _findings(table: pa.Table) -> list[dict[str, Any]]:
    keep = ["seq", "kind", "order_id", "price", "expected_price", "quantity", "expected_quantity"]
    out = []
    for row in table.select(keep).to_pylist():
        out.append({"seq": row["seq"], "kind": row["kind"]} if row["kind"] == "OFF_GRID" else row)
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    orders=journals(),
    chunk_rows=st.integers(1, 80),
    max_ahead=st.integers(1, 3),
)
def test_replay_matches_reference(orders: pa.Table, chunk_rows: int, max_ahead: int) -> None:
    p = params(max_ahead=max_ahead, depth_bps=(10, 50, 150))
    book = replay_table(orders, p, chunk_rows=chunk_rows)
    top, queue, findings = reference_replay(orders, p)
    assert book.top.to_pylist() == top
    assert book.queue.to_pylist() == queue
    assert _findings(book.findings) == findings


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=journals(), chunk_rows=st.integers(1, 80), spread=st.sampled_from([1, 1000]))
def test_keying_orders_by_order_key_gives_the_outputs_of_hashing_ids(
    orders: pa.Table, chunk_rows: int, spread: int
) -> None:
    """The ingest's dense ``order_key`` (or any distinct integers, even sparse ones)
    replaces hashing ids without changing a row: ids are reused after an order ends,
    referenced when unknown, and orders span chunks."""
    assert ORDER_KEY == INGEST_ORDER_KEY
    keyed = with_order_key(orders)
    keys = pa.array(keyed.column(ORDER_KEY).to_numpy() * spread)
    keyed = keyed.set_column(keyed.schema.get_field_index(ORDER_KEY), ORDER_KEY, keys)
    p = params(max_ahead=2, depth_bps=(10, 50))
    ticks = level_ticks([orders.column("price")], p.tick_size)
    outputs = []
    for table, key_mode in ((orders, False), (keyed, True)):
        replayer = BookReplayer(p, ticks)
        for batch in table.to_batches(max_chunksize=chunk_rows):
            replayer.feed(batch)
        assert replayer.key_mode is key_mode
        outputs.append((replayer.finish(), replayer.open_orders()))
    (by_id, open_by_id), (by_key, open_by_key) = outputs
    assert by_key.top.to_pylist() == by_id.top.to_pylist()
    assert by_key.queue.to_pylist() == by_id.queue.to_pylist()
    assert by_key.findings.to_pylist() == by_id.findings.to_pylist()
    assert open_by_key.to_pylist() == open_by_id.to_pylist()


def _state_at(rows: list[dict[str, Any]], seq: int) -> dict[str, Any] | None:
    """The top row in force after event ``seq`` (None: no row yet), without its keys."""
    found = None
    for row in rows:
        if row["seq"] > seq:
            break
        found = row
    if found is None:
        return None
    state = {k: v for k, v in found.items() if k not in ("seq", "event_time")}
    empty = all(state[k] is None for k in ("best_bid", "best_ask", "amm_best_bid", "amm_best_ask"))
    return None if empty else state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=journals(), cut=st.floats(0.0, 1.0))
def test_a_day_seeded_with_the_previous_days_open_book_replays_as_one_journal(
    orders: pa.Table, cut: float
) -> None:
    """Splitting a journal between two instructions and carrying the open book over
    gives the same book, queue evidence and findings as replaying it whole."""
    times = orders.column("event_time").to_pylist()
    types = orders.column("event_type").to_pylist()
    ids = orders.column("order_id").to_pylist()
    # days end between instructions: a new event_time, and not a FILL (no fill starts
    # one), nor the end of an order of the instruction just before (it would belong to it)
    bounds = [
        k
        for k in range(1, len(times))
        if times[k] != times[k - 1]
        and types[k] != "FILL"
        and not (
            types[k] in ("CANCEL", "EXPIRE", "REJECT")
            and ids[k] in {ids[j] for j in range(k) if times[j] == times[k - 1]}
        )
    ]
    if not bounds:
        return
    k = bounds[min(int(cut * len(bounds)), len(bounds) - 1)]
    first, second = orders.slice(0, k), orders.slice(k)
    p = params(max_ahead=3, depth_bps=(10, 50))
    whole = replay_table(orders, p)
    day1 = BookReplayer(p, level_ticks([orders.column("price")], p.tick_size))
    day1.feed(first)
    opening = day1.open_orders()
    day2 = BookReplayer(p, level_ticks([orders.column("price")], p.tick_size))
    day2.seed(opening)
    day2.feed(second)
    split = day2.finish()
    whole_top, split_top = whole.top.to_pylist(), split.top.to_pylist()
    for seq in second.column("seq").to_pylist():
        assert _state_at(split_top, seq) == _state_at(whole_top, seq), seq
    later = second.column("seq")[0].as_py()
    drop = {"joined_seq", "ahead_joined_seqs"}  # carried orders are renumbered
    assert [{c: v for c, v in r.items() if c not in drop} for r in split.queue.to_pylist()] == [
        {c: v for c, v in r.items() if c not in drop}
        for r in whole.queue.to_pylist()
        if r["seq"] >= later
    ]
    assert split.findings.to_pylist() == [
        r for r in whole.findings.to_pylist() if r["seq"] >= later
    ]
