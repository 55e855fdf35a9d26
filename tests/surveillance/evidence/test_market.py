"""The top of book replayed from the order journal matches the book that made the journal."""

from __future__ import annotations

from typing import Any

import pandas as pd

from surveillance.evidence.market import state_at, top_of_book


def _journal(market: tuple[Any, Any]) -> pd.DataFrame:
    return pd.DataFrame(market[1].orders)


def test_the_final_top_of_book_is_the_matchers_book(market: tuple[Any, Any]) -> None:
    matcher = market[1]
    top = top_of_book(_journal(market))
    last = top.iloc[-1]
    best_bid = matcher.book["BUY"][0]
    best_ask = matcher.book["SELL"][0]
    assert last["bid"] == best_bid.price
    assert last["bid_quantity"] == sum(
        o.leaves for o in matcher.book["BUY"] if o.price == best_bid.price
    )
    assert last["ask"] == best_ask.price


def test_the_amms_own_quotes_exclude_other_accounts(market: tuple[Any, Any]) -> None:
    matcher = market[1]
    own = top_of_book(_journal(market), ["amm-1"]).iloc[-1]
    amm_bids = [o for o in matcher.book["BUY"] if o.account == "amm-1"]
    assert own["bid"] == max(o.price for o in amm_bids)
    assert own["bid_quantity"] == sum(o.leaves for o in amm_bids if o.price == own["bid"])


def test_the_book_is_never_crossed_between_an_order_and_its_fills(
    market: tuple[Any, Any],
) -> None:
    top = top_of_book(_journal(market))
    both = top.dropna(subset=["bid", "ask"])
    assert (both["bid"] < both["ask"]).all()


def test_state_just_before_a_time_is_what_an_arriving_order_met() -> None:
    top = pd.DataFrame(
        {
            "event_time": pd.to_datetime(["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]),
            "bid": [1.0, 2.0],
            "bid_quantity": [1.0, 1.0],
            "ask": [3.0, 4.0],
            "ask_quantity": [1.0, 1.0],
        }
    )
    times = pd.Series(pd.to_datetime(["2026-01-01T00:00:02Z", "2026-01-01T00:00:00Z"]))
    assert state_at(top, times)["bid"].tolist()[0] == 2.0
    before = state_at(top, times, strictly_before=True)["bid"].tolist()
    assert before[0] == 1.0 and pd.isna(before[1])
