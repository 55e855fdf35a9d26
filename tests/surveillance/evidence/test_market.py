"""The top of book replayed from the order journal matches the book that made the journal."""

from __future__ import annotations

import datetime as dt
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


def _book_stage(market: tuple[Any, Any]) -> Any:
    from surveillance.book.engine import ReplayParams, replay_table
    from surveillance.contract import Orders

    orders = Orders.from_pylist(market[1].orders)
    return replay_table(orders, ReplayParams("BTC-USD", 0.1, 0.001, frozenset({"amm-1"}), (10, 25)))


def test_the_replay_agrees_with_the_book_stage_at_every_engine_time(
    market: tuple[Any, Any],
) -> None:
    book = _book_stage(market).top.to_pandas().drop_duplicates("event_time", keep="last")
    mine = top_of_book(_journal(market))
    joined = pd.merge_asof(mine, book, on="event_time")
    assert joined["bid"].fillna(-1).equals(joined["best_bid"].fillna(-1))
    assert joined["ask"].fillna(-1).equals(joined["best_ask"].fillna(-1))
    assert joined["bid_quantity"].fillna(0).equals(joined["best_bid_qty"].fillna(0))


def test_the_book_stages_output_is_preferred_when_the_lake_has_it(
    market: tuple[Any, Any],
) -> None:
    from surveillance import storage
    from surveillance.evidence.market import load_top

    settings, _ = market
    day = dt.date(2026, 3, 2)
    storage.write_partition(_book_stage(market).top, settings.lake.book("top", day, "BTC-USD"))
    top, source = load_top(settings.lake, day, "BTC-USD", {"amm-1"})
    assert source.startswith("book stage output")
    replayed = top_of_book(_journal(market), ["amm-1"])
    assert top["amm_bid"].iloc[-1] == replayed["bid"].iloc[-1]
