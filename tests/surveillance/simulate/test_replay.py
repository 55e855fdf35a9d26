"""The journal replays to the engine's own book, and keeps price-time priority."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def test_engine_truth_matches_the_documented_replay(
    frames: Any, replay_book: Callable[[pd.DataFrame], Any]
) -> None:
    for symbol in frames.orders["symbol"].unique():
        truth = frames.truth(symbol)
        top = replay_book(frames.symbol_orders(symbol)).top
        expected = truth[["best_bid", "best_bid_qty", "best_ask", "best_ask_qty"]].to_numpy()
        assert len(top) == len(expected)
        np.testing.assert_allclose(top, expected, rtol=0, atol=1e-9, err_msg=symbol)


def test_engine_truth_has_one_row_per_journal_row_with_the_same_seq(frames: Any) -> None:
    for symbol in frames.orders["symbol"].unique():
        truth = frames.truth(symbol)
        assert truth["seq"].tolist() == frames.symbol_orders(symbol)["seq"].tolist()


def test_clean_day_never_breaks_price_time_priority(
    clean_frames: Any, replay_book: Callable[[pd.DataFrame], Any]
) -> None:
    for symbol in clean_frames.orders["symbol"].unique():
        assert replay_book(clean_frames.symbol_orders(symbol)).jumps == [], symbol


def test_only_labelled_trades_break_price_time_priority(
    frames: Any, replay_book: Callable[[pd.DataFrame], Any]
) -> None:
    labels = frames.labels
    cited = labels[labels["typology"].isin(["PT_PRIORITY_BREACH", "PT_OFF_MARKET_EXECUTION"])]
    labelled = {t for ids in cited["trade_ids"] for t in ids}
    jumped = set()
    for symbol in frames.orders["symbol"].unique():
        orders = frames.symbol_orders(symbol)
        rows = replay_book(orders).jumps
        jumped |= set(orders.loc[rows, "trade_id"])
    assert jumped and jumped <= labelled
