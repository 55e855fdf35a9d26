"""The top of book the reports use matches the book that made the journal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from surveillance import storage
from surveillance.evidence.market import load_top, state_at

DAY = dt.date(2026, 3, 2)


def _top(market: tuple[Any, Any]) -> tuple[pd.DataFrame, str]:
    return load_top(market[0].lake, DAY, "BTC-USD", {"amm-1"})


def test_without_book_outputs_the_journal_is_replayed_with_the_book_engine(
    market: tuple[Any, Any],
) -> None:
    _, source = _top(market)
    assert source.startswith("replayed with the book engine from")


def test_the_final_top_of_book_is_the_matchers_book(market: tuple[Any, Any]) -> None:
    matcher = market[1]
    last = _top(market)[0].iloc[-1]
    best_bid, best_ask = matcher.book["BUY"][0], matcher.book["SELL"][0]
    assert last["bid"] == best_bid.price
    assert last["bid_quantity"] == sum(
        o.leaves for o in matcher.book["BUY"] if o.price == best_bid.price
    )
    assert last["ask"] == best_ask.price


def test_the_amms_own_quotes_exclude_other_accounts(market: tuple[Any, Any]) -> None:
    matcher = market[1]
    last = _top(market)[0].iloc[-1]
    amm_bids = [o for o in matcher.book["BUY"] if o.account == "amm-1"]
    assert last["amm_bid"] == max(o.price for o in amm_bids)
    assert last["amm_bid_quantity"] == sum(o.leaves for o in amm_bids if o.price == last["amm_bid"])


def test_one_row_per_engine_time_and_never_crossed(market: tuple[Any, Any]) -> None:
    top = _top(market)[0]
    assert top["event_time"].is_unique
    both = top.dropna(subset=["bid", "ask"])
    assert (both["bid"] < both["ask"]).all()


def test_the_book_stages_output_is_preferred_when_the_lake_has_it(
    market: tuple[Any, Any],
) -> None:
    from surveillance.book.engine import ReplayParams, replay_table
    from surveillance.contract import Orders

    settings, matcher = market
    # A book output whose AMM is client-2: only the stored output can say that.
    book = replay_table(
        Orders.from_pylist(matcher.orders),
        ReplayParams("BTC-USD", 0.1, 0.001, frozenset({"client-2"}), (10,)),
    )
    storage.write_partition(book.top, settings.lake.book("top", DAY, "BTC-USD"))
    top, source = _top(market)
    assert source.startswith("book stage output")
    client_bids = [o for o in matcher.book["BUY"] if o.account == "client-2"]
    assert top["amm_bid"].iloc[-1] == max(o.price for o in client_bids)


def test_a_missing_journal_gives_an_empty_book_and_says_why(market: tuple[Any, Any]) -> None:
    top, source = load_top(market[0].lake, DAY, "ETH-USD", {"amm-1"})
    assert top.empty
    assert source.startswith("absent: neither")


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
