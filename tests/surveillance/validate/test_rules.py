"""Each contract rule flags exactly the row that breaks it, and a valid day flags nothing.

Every case corrupts the valid sample day in one place and names the row the rule must
flag. Some defects necessarily break a second rule too (a fill whose trade_id points
nowhere also leaves its trade one fill short); each case lists those explicitly, so a
rule that starts firing where it should not fails the test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from surveillance.contract import Orders, Trades
from surveillance.storage import Landing
from surveillance.validate import (
    RULES,
    VIOLATION_COLUMNS,
    LandingDay,
    Rule,
    find_violations,
    prepare_in_background,
    read_landing_day,
    rule_violations,
)

Frames = dict[str, pd.DataFrame]
_DAY = dt.date(2026, 3, 2)
BTC = "BTC-USD"
MS = pd.Timedelta(milliseconds=1)


def _o(f: Frames, seq: int, symbol: str = BTC) -> int:
    """Position of the orders row with ``seq`` in ``symbol``."""
    orders = f["orders"]
    hits = orders.index[(orders["seq"] == seq) & (orders["symbol"] == symbol)]
    return int(orders.index.get_loc(hits[0]))


def _t(f: Frames, trade_id: str, symbol: str = BTC) -> int:
    trades = f["trades"]
    hits = trades.index[(trades["trade_id"] == trade_id) & (trades["symbol"] == symbol)]
    return int(trades.index.get_loc(hits[0]))


def _set(f: Frames, dataset: str, pos: int, **values: Any) -> int:
    frame = f[dataset]
    for column, value in values.items():
        frame.iloc[pos, frame.columns.get_loc(column)] = value
    return pos


def _insert(f: Frames, dataset: str, pos: int, row: dict[str, Any]) -> int:
    frame = f[dataset]
    new = frame.iloc[[0]].copy()
    for column, value in row.items():
        new.iloc[0, new.columns.get_loc(column)] = value
    f[dataset] = pd.concat([frame.iloc[:pos], new, frame.iloc[pos:]], ignore_index=True)
    return pos


def _copy_row(f: Frames, dataset: str, source: int, at: int, **changes: Any) -> int:
    row = f[dataset].iloc[source].to_dict()
    row.update(changes)
    return _insert(f, dataset, at, row)


@dataclass
class Case:
    """A corruption of the valid day and the row (dataset position) it must get flagged."""

    code: str
    corrupt: Callable[[Frames], int]
    also: set[str] = field(default_factory=set)


def _move_orders_row(f: Frames, source: int, to: int) -> int:
    frame = f["orders"]
    order = list(range(len(frame)))
    order.insert(to, order.pop(source))
    f["orders"] = frame.iloc[order].reset_index(drop=True)
    return to


def _drop(f: Frames, dataset: str, pos: int) -> None:
    f[dataset] = f[dataset].drop(index=f[dataset].index[pos]).reset_index(drop=True)


def _first_event_case(f: Frames) -> int:
    _drop(f, "orders", _o(f, 12))  # o6 loses its NEW: its life starts with EXPIRE
    return _o(f, 13)


def _time_outside(f: Frames, dataset: str, pos: int, offset: pd.Timedelta) -> int:
    start = pd.Timestamp("2026-03-02", tz="UTC")
    return _set(f, dataset, pos, event_time=start + offset)


def _grow_leaves(f: Frames) -> int:
    # o2's REPLACE raises quantity to 2 but keeps leaves 1; its FILL then reports leaves
    # 1.2 (up from 1, and not 1 - 0.8).
    for seq in (6, 8, 10):
        _set(f, "orders", _o(f, seq), quantity=2.0)
    return _set(f, "orders", _o(f, 8), leaves_quantity=1.2)


def _orphan_fill(f: Frames) -> int:
    """t2's taker fill points at a trade that does not exist; returns t2's position."""
    _set(f, "orders", _o(f, 9), trade_id="t9")
    return _t(f, "t2")


def _both_fills_buy(f: Frames) -> int:
    """o4 (t2's taker) becomes a BUY order, so t2 has two BUY fills."""
    _set(f, "orders", _o(f, 7), side="BUY")
    _set(f, "orders", _o(f, 9), side="BUY")
    return _t(f, "t2")


def _both_fills_taker(f: Frames) -> int:
    """o2, the resting GTC order hit in t2, is reported as TAKER like o4."""
    _set(f, "orders", _o(f, 8), liquidity="TAKER")
    return _t(f, "t2")


def _ioc_rests(f: Frames) -> int:
    """o4 (IOC, quantity now 1) fills 0.8 and keeps 0.2 open instead of expiring it."""
    for seq in (7, 9):
        _set(f, "orders", _o(f, seq), quantity=1.0)
    _set(f, "orders", _o(f, 7), leaves_quantity=1.0)
    return _set(f, "orders", _o(f, 9), leaves_quantity=0.2)


def _market_order_makes(f: Frames) -> int:
    """t1's liquidity swapped: the MARKET order o3 becomes the maker."""
    _set(f, "orders", _o(f, 4), liquidity="TAKER")
    _set(f, "trades", _t(f, "t1"), aggressor_side="SELL")
    return _set(f, "orders", _o(f, 5), liquidity="MAKER")


def _post_only_takes(f: Frames) -> int:
    """o1 becomes POST_ONLY and takes in t1 (o3, now a resting GTC limit, makes)."""
    for seq in (1, 4, 14):
        _set(f, "orders", _o(f, seq), time_in_force="POST_ONLY")
    for seq in (3, 5):
        _set(f, "orders", _o(f, seq), order_type="LIMIT", time_in_force="GTC", price=100.0)
    _set(f, "orders", _o(f, 5), liquidity="MAKER")
    _set(f, "trades", _t(f, "t1"), aggressor_side="SELL")
    return _set(f, "orders", _o(f, 4), liquidity="TAKER")


def _fok_partly_filled(f: Frames) -> int:
    """o4 becomes a FOK for 1, fills 0.8 and has the rest expired."""
    for seq in (7, 9):
        _set(f, "orders", _o(f, seq), quantity=1.0, time_in_force="FOK")
    _set(f, "orders", _o(f, 7), leaves_quantity=1.0)
    _set(f, "orders", _o(f, 9), leaves_quantity=0.2)
    return _copy_row(
        f,
        "orders",
        _o(f, 9),
        _o(f, 14) + 1,
        seq=15,
        event_time=pd.Timestamp("2026-03-02 00:00:00.015", tz="UTC"),
        event_type="EXPIRE",
        leaves_quantity=0.0,
        fill_price=None,
        fill_quantity=None,
        trade_id=None,
        liquidity=None,
    )


CASES: list[Case] = [
    # Orders: required values and enumerations.
    Case("orders.null_required", lambda f: _set(f, "orders", _o(f, 2), account_id=None)),
    Case("orders.invalid_event_type", lambda f: _set(f, "orders", _o(f, 6), event_type="AMEND")),
    Case("orders.invalid_side", lambda f: _set(f, "orders", _o(f, 2), side="B")),
    Case("orders.invalid_order_type", lambda f: _set(f, "orders", _o(f, 2), order_type="STOP")),
    Case(
        "orders.invalid_time_in_force", lambda f: _set(f, "orders", _o(f, 2), time_in_force="DAY")
    ),
    Case("orders.invalid_liquidity", lambda f: _set(f, "orders", _o(f, 4), liquidity="M")),
    Case("orders.invalid_origin", lambda f: _set(f, "orders", _o(f, 2), origin="WEB")),
    # Orders: values by event and order type.
    Case("orders.price_by_order_type", lambda f: _set(f, "orders", _o(f, 3), price=100.0)),
    Case("orders.fill_fields", lambda f: _set(f, "orders", _o(f, 2), liquidity="MAKER")),
    Case(
        "orders.gateway_time_on_engine_event",
        lambda f: _set(
            f, "orders", _o(f, 4), gateway_time=f["orders"].iloc[_o(f, 4)]["event_time"] - MS
        ),
    ),
    Case(
        "orders.gateway_after_event",
        lambda f: _set(
            f, "orders", _o(f, 2), gateway_time=f["orders"].iloc[_o(f, 2)]["event_time"] + MS
        ),
    ),
    # Orders: positive values, tick and lot.
    Case("orders.nonpositive_price", lambda f: _set(f, "orders", _o(f, 2), price=-99.0)),
    Case("orders.nonpositive_quantity", lambda f: _set(f, "orders", _o(f, 11), quantity=0.0)),
    Case("orders.leaves_out_of_range", lambda f: _set(f, "orders", _o(f, 14), leaves_quantity=1.9)),
    Case("orders.off_tick", lambda f: _set(f, "orders", _o(f, 2), price=99.005)),
    Case("orders.off_lot", lambda f: _set(f, "orders", _o(f, 11), quantity=1.0005)),
    # Orders: times and sequence numbers.
    Case(
        "orders.event_time_outside_day",
        lambda f: _time_outside(f, "orders", _o(f, 14), pd.Timedelta(days=1, milliseconds=1)),
    ),
    Case(
        "orders.duplicate_seq",
        lambda f: _set(f, "orders", _o(f, 10), seq=9),
        also={"orders.seq_not_increasing_in_file"},
    ),
    Case(
        "orders.event_time_decreasing",
        lambda f: _set(
            f,
            "orders",
            _o(f, 10),
            event_time=pd.Timestamp("2026-03-02 00:00:00.006", tz="UTC"),
            gateway_time=pd.Timestamp("2026-03-02 00:00:00.005", tz="UTC"),
        ),
    ),
    Case(
        "orders.seq_not_increasing_in_file", lambda f: _move_orders_row(f, _o(f, 3), _o(f, 2)) + 1
    ),
    # Orders: each order's life.
    Case("orders.first_event_not_new", _first_event_case),
    Case(
        "orders.event_after_terminal",
        lambda f: _copy_row(
            f,
            "orders",
            _o(f, 10),
            _o(f, 14) + 1,
            seq=15,
            event_time=pd.Timestamp("2026-03-02 00:00:00.015", tz="UTC"),
            gateway_time=pd.Timestamp("2026-03-02 00:00:00.0149", tz="UTC"),
        ),
    ),
    Case(
        "orders.terminal_leaves_nonzero",
        lambda f: _set(f, "orders", _o(f, 13), leaves_quantity=5.0),
    ),
    Case(
        "orders.new_leaves_not_quantity",
        lambda f: _set(f, "orders", _o(f, 12), leaves_quantity=4.0),
    ),
    Case("orders.leaves_increased", _grow_leaves, also={"orders.fill_leaves_mismatch"}),
    Case("orders.fill_leaves_mismatch", lambda f: _set(f, "orders", _o(f, 4), leaves_quantity=1.4)),
    Case("orders.quantity_changed", lambda f: _set(f, "orders", _o(f, 10), quantity=1.2)),
    Case("orders.immediate_order_rests", _ioc_rests),
    Case("orders.immediate_order_maker_fill", _market_order_makes),
    Case("orders.post_only_taker_fill", _post_only_takes),
    Case("orders.fok_partial_fill", _fok_partly_filled),
    Case("orders.attribute_changed", lambda f: _set(f, "orders", _o(f, 10), account_id="HOUSE-1")),
    # Orders: references and fills.
    Case("orders.unknown_account", lambda f: _set(f, "orders", _o(f, 11), account_id="GHOST")),
    Case("orders.unknown_symbol", lambda f: _set(f, "orders", _o(f, 11), symbol="DOGE-USD")),
    Case(
        "orders.fill_without_trade",
        lambda f: _set(f, "orders", _o(f, 9), trade_id="t9"),
        also={"trades.fill_count"},
    ),
    # Trades.
    Case("trades.null_required", lambda f: _set(f, "trades", _t(f, "t1"), buy_order_id=None)),
    Case(
        "trades.invalid_aggressor_side",
        lambda f: _set(f, "trades", _t(f, "t1"), aggressor_side="B"),
    ),
    Case("trades.nonpositive_price", lambda f: _set(f, "trades", _t(f, "t1"), price=-100.0)),
    Case("trades.nonpositive_quantity", lambda f: _set(f, "trades", _t(f, "t1"), quantity=0.0)),
    Case(
        "trades.off_tick",
        lambda f: _set(f, "trades", _t(f, "t1"), price=100.005),
        also={"trades.fill_mismatch"},
    ),
    Case(
        "trades.off_lot",
        lambda f: _set(f, "trades", _t(f, "t1"), quantity=0.5004),
        also={"trades.fill_mismatch"},
    ),
    Case(
        "trades.event_time_outside_day",
        lambda f: _time_outside(f, "trades", _t(f, "t1"), -MS),
    ),
    Case(
        "trades.duplicate_trade_id",
        lambda f: _copy_row(f, "trades", _t(f, "t1"), _t(f, "t2") + 1),
    ),
    Case(
        "trades.unknown_account",
        lambda f: _set(f, "trades", _t(f, "t1"), buy_account_id="GHOST"),
        also={"trades.fill_ids_mismatch"},
    ),
    Case(
        "trades.unknown_symbol",
        lambda f: _set(f, "trades", _t(f, "t1"), symbol="DOGE-USD"),
        also={"trades.without_fills", "orders.fill_without_trade"},
    ),
    Case(
        "trades.without_fills",
        lambda f: _copy_row(f, "trades", _t(f, "t2"), _t(f, "t2") + 1, trade_id="t9"),
    ),
    Case(
        "trades.fill_count",
        _orphan_fill,
        also={"orders.fill_without_trade"},
    ),
    Case("trades.fill_mismatch", lambda f: _set(f, "trades", _t(f, "t2"), quantity=0.7)),
    Case(
        "trades.fill_sides",
        _both_fills_buy,
    ),
    Case("trades.fill_ids_mismatch", lambda f: _set(f, "trades", _t(f, "t2"), buy_order_id="o9")),
    Case("trades.fill_liquidity", _both_fills_taker),
    Case(
        "trades.aggressor_mismatch", lambda f: _set(f, "trades", _t(f, "t1"), aggressor_side="SELL")
    ),
    # Accounts.
    Case("accounts.null_required", lambda f: _set(f, "accounts", 2, entity_id=None)),
    Case("accounts.invalid_role", lambda f: _set(f, "accounts", 3, role="ADMIN")),
    Case("accounts.duplicate_account_id", lambda f: _copy_row(f, "accounts", 3, 4)),
    # Instruments.
    Case("instruments.null_required", lambda f: _set(f, "instruments", 1, base_asset=None)),
    Case("instruments.duplicate_symbol", lambda f: _copy_row(f, "instruments", 0, 2)),
    Case("instruments.nonpositive_increment", lambda f: _set(f, "instruments", 1, lot_size=0.0)),
    Case(
        "instruments.obligation_out_of_range",
        lambda f: _set(f, "instruments", 0, mm_min_uptime=1.5),
    ),
    # Reference prices.
    Case("reference_prices.null_required", lambda f: _set(f, "reference_prices", 1, price=None)),
    Case("reference_prices.nonpositive_price", lambda f: _set(f, "reference_prices", 1, price=0.0)),
    Case(
        "reference_prices.unknown_symbol",
        lambda f: _set(f, "reference_prices", 1, symbol="DOGE-USD"),
    ),
    Case(
        "reference_prices.event_time_outside_day",
        lambda f: _time_outside(f, "reference_prices", 1, pd.Timedelta(hours=25)),
    ),
]


def test_every_rule_has_a_case() -> None:
    assert sorted(c.code for c in CASES) == sorted(r.code for r in RULES)


def test_a_valid_day_has_no_violation(
    frames: Frames, violations: Callable[..., pd.DataFrame]
) -> None:
    found = violations(frames, files=2)
    assert found.empty, found.to_string()
    assert list(found.columns) == VIOLATION_COLUMNS


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_rule_flags_the_corrupted_row_once(
    case: Case, frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    dataset = case.code.split(".")[0]
    position = case.corrupt(frames)
    found = check(frames)
    mine = found[found["rule"] == case.code]
    assert len(mine) == 1, found.to_string()
    assert mine["dataset"].iloc[0] == dataset
    assert int(mine["row"].iloc[0]) == position
    assert mine["file"].iloc[0].endswith(f"{dataset}/date=2026-03-02/part-0.parquet")
    assert set(found["rule"]) == {case.code} | case.also, found.to_string()


def test_violation_names_the_values(
    frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    _set(frames, "orders", _o(frames, 2), price=99.005)
    row = check(frames).iloc[0]
    assert (row["column"], row["expected"], row["found"]) == (
        Orders.price,
        "multiple of tick_size 0.01",
        "99.005",
    )
    assert (row["symbol"], row["order_id"], row["seq"]) == (BTC, "o2", 2)


def test_trade_violation_names_the_fill(
    frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    _set(frames, "trades", _t(frames, "t2"), quantity=0.7)
    row = check(frames).iloc[0]
    assert (row["column"], row["trade_id"], row["found"]) == (Trades.quantity, "t2", "fill 0.8")
    assert row["order_id"] in {"o2", "o4"}


def test_a_row_breaking_several_rules_is_flagged_by_each(
    frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    _set(frames, "orders", _o(frames, 11), price=-100.005, account_id="GHOST")
    found = check(frames)
    assert sorted(found["rule"]) == ["orders.nonpositive_price", "orders.unknown_account"]


def test_a_rule_reports_each_row_once_naming_all_failing_columns(
    frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    _set(frames, "orders", _o(frames, 11), symbol=None, account_id=None)
    found = check(frames)
    assert found[["rule", "column"]].values.tolist() == [
        ["orders.null_required", "symbol, account_id"]
    ]


def test_an_empty_day_has_no_violation(
    frames: Frames, check: Callable[[Frames], pd.DataFrame]
) -> None:
    empty = {name: frame.iloc[0:0] for name, frame in frames.items()}
    assert check(empty).empty


def test_rules_can_be_chosen(frames: Frames, load: Callable[..., Any]) -> None:
    _set(frames, "orders", _o(frames, 2), price=99.005, account_id="GHOST")
    day = load(frames)
    chosen = [r for r in RULES if r.code == "orders.off_tick"]
    assert list(find_violations(day, chosen)["rule"]) == ["orders.off_tick"]


@pytest.mark.parametrize("case", CASES[::4], ids=[c.code for c in CASES[::4]])
def test_rules_run_in_the_background_find_what_they_find_in_the_foreground(
    case: Case, frames: Frames, write_landing: Callable[..., Landing]
) -> None:
    case.corrupt(frames)
    landing = write_landing(frames)
    foreground = read_landing_day(landing, _DAY)
    background = read_landing_day(landing, _DAY)
    prepare_in_background(background, RULES).join()
    for rule in RULES:
        expected = rule.check(foreground)
        found = rule_violations(background, rule.code)
        pd.testing.assert_frame_equal(found, expected)


def test_a_rule_that_raises_in_the_background_raises_for_its_caller(
    frames: Frames, load: Callable[..., LandingDay]
) -> None:
    def broken(day: LandingDay) -> pd.DataFrame:
        raise ValueError("rule broke")

    day = load(frames)
    rule = Rule("orders.broken", "orders", "A rule that fails.", broken)
    prepare_in_background(day, [rule]).join()
    with pytest.raises(ValueError, match="rule broke"):
        rule_violations(day, rule.code)
