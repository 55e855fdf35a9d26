"""Every label is true: the orders and trades it cites show the conduct it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from surveillance.contract import Labels, Typology


def _labels(frames: Any, typology: Typology) -> pd.DataFrame:
    found = frames.labels[frames.labels["typology"] == typology.value]
    assert len(found), f"no {typology} label in the simulated day"
    return found


def _rows(frames: Any, label: pd.Series) -> pd.DataFrame:
    orders = frames.orders
    return orders[
        (orders["symbol"] == label["symbol"]) & orders["order_id"].isin(label["order_ids"])
    ]


def _trades(frames: Any, label: pd.Series) -> pd.DataFrame:
    trades = frames.trades
    return trades[
        (trades["symbol"] == label["symbol"]) & trades["trade_id"].isin(label["trade_ids"])
    ]


def test_the_day_has_labels_of_every_typology(frames: Any) -> None:
    assert set(frames.labels["typology"]) == {t.value for t in Typology}


def test_labels_follow_the_contract_label_schema(frames: Any) -> None:
    assert list(frames.labels.columns) == Labels.names()


def test_labels_name_an_affiliated_mm_account_and_an_ordered_window(frames: Any) -> None:
    labels = frames.labels
    assert set(labels["account_id"].map(frames.role)) == {"AFFILIATED_MM"}
    assert (labels["window_start"] <= labels["window_end"]).all()


def test_labels_cite_orders_and_trades_that_exist(frames: Any) -> None:
    for _, label in frames.labels.iterrows():
        assert set(_rows(frames, label)["order_id"]) == set(label["order_ids"])
        assert set(_trades(frames, label)["trade_id"]) == set(label["trade_ids"])


def test_label_ids_are_unique(frames: Any) -> None:
    assert frames.labels["label_id"].is_unique


def test_trading_ahead_amm_trades_before_the_client_then_reverses(frames: Any) -> None:
    for _, label in _labels(frames, Typology.FR_TRADING_AHEAD).iterrows():
        trades = _trades(frames, label).sort_values("event_time")
        amm = label["account_id"]
        takers = trades.apply(_taker, axis=1)
        client = trades[takers.map(frames.role) == "CLIENT"]
        side = client["aggressor_side"].iloc[0]
        assert (client["aggressor_side"] == side).all()
        amm_buys = trades["buy_account_id"] == amm
        amm_sells = trades["sell_account_id"] == amm
        same = trades[amm_buys if side == "BUY" else amm_sells]
        back = trades[amm_sells if side == "BUY" else amm_buys]
        assert same["event_time"].min() < client["event_time"].max()
        assert back["event_time"].max() > same["event_time"].min()


def _taker(trade: Any) -> str:
    return str(trade.buy_account_id if trade.aggressor_side == "BUY" else trade.sell_account_id)


def test_flow_anticipation_amm_flow_leads_client_flow(frames: Any) -> None:
    for _, label in _labels(frames, Typology.FR_FLOW_ANTICIPATION).iterrows():
        day = pd.Timestamp(label["window_start"])
        assert label["window_end"] - label["window_start"] >= pd.Timedelta(hours=23, minutes=59)
        assert day == day.normalize()
        trades = frames.trades[frames.trades["symbol"] == label["symbol"]]
        taker_role = trades.apply(_taker, axis=1).map(frames.role)
        sign = np.where(trades["aggressor_side"] == "BUY", 1.0, -1.0)
        # Clients' signed flow: the net count of client-initiated buys over sells.
        client_flow = pd.Series(
            np.where(taker_role == "CLIENT", sign, 0.0), index=trades["event_time"]
        ).sort_index()
        cum = pd.concat([pd.Series([0.0], index=[day]), client_flow.cumsum()])
        amm = _trades(frames, label)
        after, before = [], []
        five = pd.Timedelta(minutes=5)
        for t in amm.itertuples():
            s = 1 if t.buy_account_id == label["account_id"] else -1
            now = cum.asof(t.event_time)
            after.append(s * (cum.asof(t.event_time + five) - now))
            before.append(s * (now - cum.asof(max(day, t.event_time - five))))
        lead = np.asarray(after)
        # Clients go on to trade the AMM's way more often than not, and more than before.
        assert (lead > 0).sum() / max(1, (lead != 0).sum()) > 0.55
        assert np.mean(after) > np.mean(before)


def test_priority_breach_amm_fill_jumped_an_earlier_resting_client_order(frames: Any) -> None:
    for _, label in _labels(frames, Typology.PT_PRIORITY_BREACH).iterrows():
        rows = _rows(frames, label)
        fill = rows[(rows["event_type"] == "FILL") & (rows["liquidity"] == "MAKER")]
        fill = fill[fill["trade_id"].isin(label["trade_ids"])].iloc[0]
        assert frames.role[fill["account_id"]] == "AFFILIATED_MM"
        amm_joined = rows[(rows["order_id"] == fill["order_id"]) & (rows["event_type"] == "NEW")]
        victims = rows[
            (rows["account_id"].map(frames.role) == "CLIENT")
            & (rows["side"] == fill["side"])
            & (rows["price"] == fill["price"])
        ]
        jumped = []
        for oid, events in victims.groupby("order_id"):
            joined = events[events["event_type"] == "NEW"]["seq"].min()
            ended = events[events["leaves_quantity"] == 0]["seq"].min()
            if joined < amm_joined["seq"].min() and not (ended < fill["seq"]):
                jumped.append(oid)
        assert jumped, label["label_id"]


def test_sequencing_advantage_amm_instruction_later_at_gateway_earlier_at_engine(
    frames: Any,
) -> None:
    for _, label in _labels(frames, Typology.PT_SEQUENCING_ADVANTAGE).iterrows():
        rows = _rows(frames, label)
        instr = rows[rows["event_type"].isin(["NEW", "CANCEL"])]
        is_amm = instr["account_id"].map(frames.role) == "AFFILIATED_MM"
        client = instr[~is_amm].iloc[0]
        amm = instr[is_amm & (instr["gateway_time"] > client["gateway_time"])]
        assert (amm["event_time"] < client["event_time"]).any(), label["label_id"]


def test_off_market_client_paid_worse_than_the_best_price_offered(frames: Any) -> None:
    for _, label in _labels(frames, Typology.PT_OFF_MARKET_EXECUTION).iterrows():
        rows = _rows(frames, label)
        taker = rows[(rows["liquidity"] == "TAKER") & rows["trade_id"].isin(label["trade_ids"])]
        taker = taker.iloc[0]
        assert frames.role[taker["account_id"]] == "CLIENT"
        new = rows[(rows["order_id"] == taker["order_id"]) & (rows["event_type"] == "NEW")]
        truth = frames.truth(label["symbol"]).set_index("seq")
        before = truth.loc[int(new["seq"].iloc[0])]
        if taker["side"] == "BUY":
            assert before["best_ask"] < taker["fill_price"]
        else:
            assert before["best_bid"] > taker["fill_price"]


def test_quote_fade_amm_worsened_its_quote_while_the_client_order_was_in_flight(
    frames: Any,
) -> None:
    for _, label in _labels(frames, Typology.SM_QUOTE_FADE).iterrows():
        rows = _rows(frames, label)
        client_new = rows[
            (rows["event_type"] == "NEW") & (rows["account_id"].map(frames.role) == "CLIENT")
        ]
        c = client_new.iloc[0]
        amm = rows[rows["account_id"].map(frames.role) == "AFFILIATED_MM"]
        fade = amm[
            amm["event_type"].isin(["REPLACE", "CANCEL"])
            & (amm["gateway_time"] > c["gateway_time"])
            & (amm["event_time"] < c["event_time"])
        ]
        assert len(fade) == 1, label["label_id"]
        f = fade.iloc[0]
        before = amm[(amm["order_id"] == f["order_id"]) & (amm["seq"] < f["seq"])].iloc[-1]
        if f["event_type"] == "REPLACE":
            worse = (
                f["price"] > before["price"]
                if f["side"] == "SELL"
                else f["price"] < before["price"]
            )
            assert worse


def _quotes_by_symbol(frames: Any, amm_quotes_of: Callable[..., Any]) -> dict[str, Any]:
    amm = {a for a, r in frames.role.items() if r == "AFFILIATED_MM"}
    return {
        s: amm_quotes_of(frames.symbol_orders(s), amm) for s in frames.orders["symbol"].unique()
    }


def test_spread_widening_amm_quotes_wider_when_the_large_order_arrives(
    frames: Any, amm_quotes_of: Callable[..., Any]
) -> None:
    quotes_of = _quotes_by_symbol(frames, amm_quotes_of)
    for _, label in _labels(frames, Typology.SM_SPREAD_WIDENING).iterrows():
        quotes = quotes_of[label["symbol"]]
        rows = _rows(frames, label)
        large = rows[
            (rows["event_type"] == "NEW") & (rows["account_id"].map(frames.role) == "CLIENT")
        ]
        # Baseline: the AMM's median quoted spread over the ten minutes before.
        start = label["window_start"]
        before = [quotes.at(start - pd.Timedelta(seconds=30 * k)) for k in range(1, 21)]
        baseline = np.nanmedian([ask - bid for bid, _, ask, _ in before])
        bid, _, ask, _ = quotes.at(large["event_time"].iloc[0] - pd.Timedelta(microseconds=1))
        assert ask - bid > baseline, label["label_id"]


def test_spoofing_layers_are_cancelled_unfilled_after_a_trade_on_the_other_side(
    frames: Any,
) -> None:
    for _, label in _labels(frames, Typology.SM_SPOOFING).iterrows():
        rows = _rows(frames, label)
        trades = _trades(frames, label)
        trade_side = rows[
            rows["trade_id"].isin(label["trade_ids"]) & (rows["liquidity"] == "TAKER")
        ]
        side = trade_side["side"].iloc[0]
        layers = rows[(rows["side"] != side) & (rows["account_id"] == label["account_id"])]
        cancelled = layers[layers["event_type"] == "CANCEL"]
        assert len(cancelled) >= 1
        assert cancelled["event_time"].max() > trades["event_time"].min()
        layer_qty = layers[layers["event_type"] == "NEW"]["quantity"].sum()
        assert layer_qty > trades["quantity"].sum()


def test_wash_trades_have_both_sides_in_one_entity(frames: Any) -> None:
    for _, label in _labels(frames, Typology.MI_WASH_TRADE).iterrows():
        trades = _trades(frames, label)
        assert len(trades)
        buyer = trades["buy_account_id"].map(frames.entity)
        seller = trades["sell_account_id"].map(frames.entity)
        assert (buyer == seller).all()


def test_liquidation_hunting_amm_pushes_then_takes_the_liquidation_orders(frames: Any) -> None:
    for _, label in _labels(frames, Typology.MI_LIQUIDATION_HUNTING).iterrows():
        rows = _rows(frames, label)
        fills = rows[(rows["event_type"] == "FILL") & rows["trade_id"].isin(label["trade_ids"])]
        liquidation = fills[fills["origin"] == "LIQUIDATION"]
        push = fills[(fills["account_id"] == label["account_id"]) & (fills["liquidity"] == "TAKER")]
        assert len(liquidation) and len(push)
        counterparties = fills[fills["trade_id"].isin(liquidation["trade_id"])]
        assert (counterparties["account_id"] == label["account_id"]).any()
        assert push["event_time"].min() <= liquidation["event_time"].min()
        push_side = push["side"].iloc[0]
        assert (liquidation["side"] == push_side).all()


@pytest.mark.parametrize("points", [25])
def test_obligation_breach_amm_has_no_compliant_quote_during_the_window(
    frames: Any, amm_quotes_of: Callable[..., Any], points: int
) -> None:
    quotes_of = _quotes_by_symbol(frames, amm_quotes_of)
    for _, label in _labels(frames, Typology.MI_OBLIGATION_BREACH).iterrows():
        inst = frames.instrument(label["symbol"])
        quotes = quotes_of[label["symbol"]]
        start = label["window_start"] + pd.Timedelta(seconds=1)
        span = label["window_end"] - start
        for k in range(points):
            bid, bq, ask, aq = quotes.at(start + span * (k / points))
            mid = (bid + ask) / 2
            compliant = (
                not np.isnan(bid)
                and not np.isnan(ask)
                and (ask - bid) / mid * 1e4 <= inst["mm_max_spread_bps"]
                and min(bq, aq) >= inst["mm_min_quote_quantity"]
            )
            assert not compliant, (label["label_id"], k)


def test_amm_meets_its_quoting_obligations_on_a_clean_day(
    clean_frames: Any, amm_quotes_of: Callable[..., Any]
) -> None:
    amm = {a for a, r in clean_frames.role.items() if r == "AFFILIATED_MM"}
    for symbol in clean_frames.orders["symbol"].unique():
        inst = clean_frames.instrument(symbol)
        quotes = amm_quotes_of(clean_frames.symbol_orders(symbol), amm)
        ends = np.append(quotes.times[1:], quotes.times[-1])
        durations = (ends - quotes.times).astype(np.int64)
        ok = np.array(
            [
                quotes.compliant(k, inst["mm_max_spread_bps"], inst["mm_min_quote_quantity"])
                for k in range(len(quotes.quotes))
            ]
        )
        uptime = durations[ok].sum() / 86_400e9
        assert uptime >= inst["mm_min_uptime"], (symbol, uptime)
