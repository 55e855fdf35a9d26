"""The AMM's daily obligation figures measure its ladder as the breach detector does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.data import SymbolDay
from features.obligations import (
    ObligationTerms,
    journal_quotes,
    non_compliant_spans,
    obligation_day,
    obligation_from_quotes,
    obligation_timeline,
    obligations,
)
from surveillance.book.schema import Top
from surveillance.contract import Accounts, Instruments, Orders, Trades
from surveillance.days import day_bounds
from surveillance.errors import InputError
from surveillance.storage import Lake, write_partition

DAY = dt.date(2026, 3, 2)
SYMBOL = "BTC-USD"
MM = "MM-1"
TERMS = ObligationTerms(max_spread_bps=20, min_quote_quantity=1.0, min_uptime=0.9)
INSTRUMENT = {
    Instruments.symbol: SYMBOL,
    Instruments.tick_size: 0.01,
    Instruments.mm_max_spread_bps: 20.0,
    Instruments.mm_min_quote_quantity: 1.0,
    Instruments.mm_min_uptime: 0.9,
}

#: (hour, order, event, side, price, leaves) of the AMM's ladder over the day:
#: 0-6 h compliant at the best levels (10 bps, 2 lots a side); 6-12 h a partial fill
#: leaves 0.5 lots at the best ask while the next ask level holds the size within the
#: spread (compliant: the ladder meets the obligation); 12-18 h that level is pulled
#: (too small); 18-24 h the size is back only 50 bps out (too wide).
LADDER = [
    (0, "b1", "NEW", "BUY", 99.95, 2.0),
    (0, "a1", "NEW", "SELL", 100.05, 2.0),
    (0, "a2", "NEW", "SELL", 100.08, 2.0),
    (6, "a1", "FILL", "SELL", 100.05, 0.5),
    (12, "a2", "CANCEL", "SELL", 100.08, 0.0),
    (18, "a3", "NEW", "SELL", 100.50, 2.0),
]


def _journal(rows: list[tuple[float, str, str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(_order_rows(rows))


def _order_rows(rows: list[tuple[float, str, str, str, float, float]]) -> list[dict[str, object]]:
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    return [
        {
            Orders.event_time: start + dt.timedelta(hours=hour),
            Orders.seq: seq,
            Orders.symbol: SYMBOL,
            Orders.order_id: oid,
            Orders.account_id: MM,
            Orders.event_type: event,
            Orders.side: side,
            Orders.order_type: "LIMIT",
            Orders.time_in_force: "GTC",
            Orders.price: price,
            Orders.quantity: 2.0,
            Orders.leaves_quantity: leaves,
            Orders.fill_price: price if event == "FILL" else None,
            Orders.fill_quantity: 2.0 - leaves if event == "FILL" else None,
            Orders.trade_id: f"T{seq}" if event == "FILL" else None,
            Orders.liquidity: "MAKER" if event == "FILL" else None,
            Orders.origin: "CLIENT",
        }
        for seq, (hour, oid, event, side, price, leaves) in enumerate(rows, start=1)
    ]


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {Accounts.account_id: [MM], Accounts.entity_id: ["E"], Accounts.role: ["AFFILIATED_MM"]}
    )


def test_the_ladder_meets_the_obligation_when_its_deeper_level_holds_the_size() -> None:
    quotes = journal_quotes(_journal(LADDER), [MM], DAY, SYMBOL, INSTRUMENT, TERMS)
    figures = obligation_from_quotes(quotes, DAY, SYMBOL, TERMS)
    # compliant 0-12 h: the best-level measure would have counted 6-12 h as too small
    assert figures.uptime == pytest.approx(0.5)
    assert figures.two_sided_share == pytest.approx(1.0)
    assert figures.breached
    # obligation spread: 10 bps, 13 bps to the deeper ask, 10 bps at the best levels
    # while the size is short, then 55 bps to where the ask reaches the size
    spreads = [10.0, 0.13 / 100.015 * 1e4, 10.0, 0.55 / 100.225 * 1e4]
    assert figures.amm_spread_bps == pytest.approx(np.mean(spreads), rel=1e-6)
    # quoted within 20 bps on both sides at once: 2, 2 (0.5 + 2 asks against 2 bids),
    # then only the 0.5 lots at the best ask
    assert figures.amm_size == pytest.approx((2 + 2 + 0.5 + 0.5) / 4)
    assert figures.market_spread_bps is None


def test_the_day_uptime_is_the_breach_detectors() -> None:
    data = SymbolDay(
        DAY, SYMBOL, _journal(LADDER), Trades.empty().to_pandas(), _accounts(), INSTRUMENT
    )
    start, end = (int(x.value) for x in day_bounds(DAY))
    spans = non_compliant_spans(obligation_timeline(data, [MM]), start, end)
    detector_uptime = 1.0 - float(spans["duration"].sum()) / (end - start)
    quotes = journal_quotes(data.orders, [MM], DAY, SYMBOL, INSTRUMENT)
    assert obligation_from_quotes(quotes, DAY, SYMBOL, TERMS).uptime == pytest.approx(
        detector_uptime, abs=1e-12
    )
    assert detector_uptime == pytest.approx(0.5)


def test_the_quoted_size_reaches_the_minimum_exactly_when_the_quote_complies() -> None:
    data = SymbolDay(
        DAY, SYMBOL, _journal(LADDER), Trades.empty().to_pandas(), _accounts(), INSTRUMENT
    )
    timeline = obligation_timeline(data, [MM])
    assert list(timeline["compliant"]) == list(timeline["quoted_size"] >= 1.0)
    assert timeline["compliant"].any() and not timeline["compliant"].all()


def test_without_obligations_in_reference_data_any_two_sided_quote_complies() -> None:
    rows = [
        (0, "b1", "NEW", "BUY", 99.5, 0.1),
        (0, "a1", "NEW", "SELL", 100.5, 0.1),
        (12, "a1", "CANCEL", "SELL", 100.5, 0.0),
    ]
    instrument = {Instruments.symbol: SYMBOL, Instruments.tick_size: 0.01}
    quotes = journal_quotes(_journal(rows), [MM], DAY, SYMBOL, instrument)
    figures = obligation_from_quotes(quotes, DAY, SYMBOL, ObligationTerms())
    assert figures.uptime == pytest.approx(0.5)
    assert figures.amm_size == pytest.approx(0.1)
    assert not figures.breached


def test_before_the_amms_first_event_it_is_not_quoting() -> None:
    rows = [(6, "b1", "NEW", "BUY", 99.95, 2.0), (6, "a1", "NEW", "SELL", 100.05, 2.0)]
    quotes = journal_quotes(_journal(rows), [MM], DAY, SYMBOL, INSTRUMENT, TERMS)
    figures = obligation_from_quotes(quotes, DAY, SYMBOL, TERMS)
    assert figures.uptime == pytest.approx(0.75)
    assert figures.breached


def test_other_accounts_orders_do_not_count_for_the_amm() -> None:
    journal = _journal(LADDER).assign(**{Orders.account_id: "CLIENT-1"})
    quotes = journal_quotes(journal, [MM], DAY, SYMBOL, INSTRUMENT, TERMS)
    figures = obligation_from_quotes(quotes, DAY, SYMBOL, TERMS)
    assert figures.uptime == 0.0 and figures.amm_spread_bps is None


def _write_lake(lake: Lake, *, book: bool) -> None:
    write_partition(
        Accounts.from_pylist(
            [
                {"account_id": MM, "entity_id": "E", "role": "AFFILIATED_MM"},
                {"account_id": "C-1", "entity_id": "C", "role": "CLIENT"},
            ]
        ),
        lake.curated(Accounts.name, DAY),
    )
    write_partition(
        Instruments.from_pylist(
            [INSTRUMENT | {"base_asset": "BTC", "quote_asset": "USD", "lot_size": 0.001}]
        ),
        lake.curated(Instruments.name, DAY),
    )
    client = _order_rows([(1, "c1", "NEW", "BUY", 100.04, 5.0)])
    client[0] |= {Orders.account_id: "C-1", Orders.seq: 100}
    write_partition(
        Orders.from_pylist(_order_rows(LADDER) + client), lake.curated("orders", DAY, SYMBOL)
    )
    if book:
        start = pd.Timestamp(DAY, tz="UTC")
        top = pa.table(
            {
                Top.event_time: pa.array(
                    [start, start + pd.Timedelta(hours=12)], pa.timestamp("ns", tz="UTC")
                ),
                Top.spread_bps: [4.0, 8.0],
            }
        )
        write_partition(top, lake.book(Top.name, DAY, SYMBOL))


def test_the_lake_figures_replay_the_amms_journal_and_read_the_market_spread(
    tmp_path: Path,
) -> None:
    lake = Lake(tmp_path / "lake")
    _write_lake(lake, book=False)
    assert obligation_day(lake, DAY, SYMBOL) is None  # no book built yet
    assert obligations(lake, [DAY]) == []
    _write_lake(lake, book=True)
    figures = obligation_day(lake, DAY, SYMBOL)
    assert figures is not None
    assert figures.terms == TERMS
    assert figures.uptime == pytest.approx(0.5)
    assert figures.market_spread_bps == pytest.approx(6.0)
    assert obligations(lake, [DAY]) == [figures]


def test_a_journal_without_the_replays_columns_is_refused_plainly() -> None:
    journal = _journal(LADDER).drop(columns=[Orders.leaves_quantity])
    with pytest.raises(InputError, match="leaves_quantity"):
        journal_quotes(journal, [MM], DAY, SYMBOL, INSTRUMENT, TERMS)
