"""The quarantine grows from failing rows to whole orders and trades, and no further."""

from __future__ import annotations

import pandas as pd

from surveillance.contract import Orders, Trades
from surveillance.ingest.quarantine import ORDER_QUARANTINED, TRADE_QUARANTINED, expand


def _orders(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Orders rows as (symbol, order_id, event_type, trade_id)."""
    return pd.DataFrame(
        rows, columns=[Orders.symbol, Orders.order_id, Orders.event_type, Orders.trade_id]
    )


def _trades(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[Trades.symbol, Trades.trade_id])


def _failures(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["dataset", "position", "reason"])


# A traded with B (T1); B traded with C (T2); D traded with E (T3), in another group.
ORDERS = _orders(
    [
        ("X", "A", "NEW", None),  # 0
        ("X", "B", "NEW", None),  # 1
        ("X", "A", "FILL", "T1"),  # 2
        ("X", "B", "FILL", "T1"),  # 3
        ("X", "C", "NEW", None),  # 4
        ("X", "C", "FILL", "T2"),  # 5
        ("X", "B", "FILL", "T2"),  # 6
        ("X", "D", "NEW", None),  # 7
        ("X", "D", "FILL", "T3"),  # 8
        ("X", "E", "FILL", "T3"),  # 9
        ("Y", "A", "NEW", None),  # 10: same order id on another symbol
    ]
)
TRADES = _trades([("X", "T1"), ("X", "T2"), ("X", "T3")])


def test_a_failing_row_takes_every_order_and_trade_linked_to_it() -> None:
    found = expand(
        {Orders.name: ORDERS, Trades.name: TRADES},
        _failures([(Orders.name, 0, "orders.off_tick")]),
    )
    assert found.masks[Orders.name].tolist() == [True] * 7 + [False] * 4
    assert found.masks[Trades.name].tolist() == [True, True, False]


def test_failing_rows_keep_their_reasons_and_linked_rows_say_why_they_went() -> None:
    found = expand(
        {Orders.name: ORDERS, Trades.name: TRADES},
        _failures([(Orders.name, 0, "orders.off_tick"), (Orders.name, 0, "not_positive:price")]),
    )
    reasons = found.reasons[Orders.name]
    assert reasons[0] == ["not_positive:price", "orders.off_tick"]
    assert reasons[6] == [ORDER_QUARANTINED]
    assert found.reasons[Trades.name].tolist() == [[TRADE_QUARANTINED]] * 2


def test_a_trade_without_fills_goes_alone() -> None:
    trades = _trades([("X", "T1"), ("X", "T2"), ("X", "T3"), ("X", "GHOST")])
    found = expand(
        {Orders.name: ORDERS, Trades.name: trades},
        _failures([(Trades.name, 3, "trades.without_fills")]),
    )
    assert not found.masks[Orders.name].any()
    assert found.masks[Trades.name].tolist() == [False, False, False, True]
