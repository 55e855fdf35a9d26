"""The AMM's daily obligation figures are time-weighted over the book's states."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.obligations import ObligationTerms, obligation_figures
from surveillance.book.schema import Top

DAY = dt.date(2026, 3, 2)
HOUR = 3600


def _top(rows: list[tuple[float, float, float, float, float]]) -> pd.DataFrame:
    """Book states at hour marks: (hour, amm bid, bid qty, amm ask, ask qty)."""
    start = pd.Timestamp(DAY, tz="UTC")
    return pd.DataFrame(
        {
            Top.event_time: [start + pd.Timedelta(hours=h) for h, *_ in rows],
            Top.spread_bps: [10.0] * len(rows),
            Top.amm_best_bid: [r[1] for r in rows],
            Top.amm_best_bid_qty: [r[2] for r in rows],
            Top.amm_best_ask: [r[3] for r in rows],
            Top.amm_best_ask_qty: [r[4] for r in rows],
        }
    )


def test_uptime_counts_only_compliant_two_sided_time() -> None:
    # 0-6h compliant (10 bps wide, size 2); 6-12h too wide (100 bps); 12-18h too small;
    # 18-24h one-sided.
    top = _top(
        [
            (0, 99.95, 2.0, 100.05, 2.0),
            (6, 99.5, 2.0, 100.5, 2.0),
            (12, 99.95, 0.5, 100.05, 2.0),
            (18, 99.95, 2.0, np.nan, 0.0),
        ]
    )
    terms = ObligationTerms(max_spread_bps=20, min_quote_quantity=1.0, min_uptime=0.9)
    figures = obligation_figures(top, DAY, "BTC-USD", terms)
    assert figures.uptime == pytest.approx(0.25)
    assert figures.two_sided_share == pytest.approx(0.75)
    assert figures.breached
    # spread averaged over the 18 two-sided hours: (10 + 100 + 10) / 3 bps
    assert figures.amm_spread_bps == pytest.approx(40.0, rel=1e-3)
    assert figures.amm_size == pytest.approx((2 + 2 + 0.5) / 3)


def test_without_obligations_in_reference_data_any_two_sided_quote_complies() -> None:
    top = _top([(0, 99.5, 0.1, 100.5, 0.1), (12, np.nan, 0.0, np.nan, 0.0)])
    figures = obligation_figures(top, DAY, "BTC-USD", ObligationTerms())
    assert figures.uptime == pytest.approx(0.5)
    assert not figures.breached


def test_before_the_first_book_event_the_amm_is_not_quoting() -> None:
    top = _top([(6, 99.95, 2.0, 100.05, 2.0)])
    figures = obligation_figures(top, DAY, "BTC-USD", ObligationTerms(min_uptime=0.5))
    assert figures.uptime == pytest.approx(0.75)
    assert not figures.breached
