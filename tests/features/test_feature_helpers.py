"""Feature building blocks: window arithmetic, own-quote replay, order summaries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from features.book import own_quotes
from features.data import from_ns, to_ns
from features.scenario import Scenario
from features.spread import time_weighted
from features.windows import segments_from_gaps, window_sum
from models.rules.spread import poisson_tail


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 1000), min_size=0, max_size=40),
    start=st.integers(-10, 1010),
    width=st.integers(0, 300),
)
def test_window_sum_equals_a_plain_loop(times: list[int], start: int, width: int) -> None:
    t = np.sort(np.array(times, dtype=np.int64))
    v = np.arange(1, len(t) + 1, dtype=float)
    got = window_sum(t, v, np.array([start]), np.array([start + width]))[0]
    assert got == sum(x for x, ti in zip(v, t, strict=True) if start <= ti < start + width)


def test_time_weighted_mean_of_a_step_function() -> None:
    times = np.array([0, 10, 20], dtype=np.int64)
    values = np.array([1.0, 3.0, np.nan])
    # [5, 15): 5 units at 1 and 5 units at 3; the NaN step after 20 carries no weight
    assert time_weighted(times, values, np.array([5]), np.array([15]))[0] == 2.0
    assert time_weighted(times, values, np.array([15]), np.array([30]))[0] == 3.0


def test_segments_split_where_the_gap_is_too_long() -> None:
    assert list(segments_from_gaps(np.array([0, 1, 2, 10, 11, 30]), 5)) == [0, 0, 0, 1, 1, 2]


def test_own_quotes_match_the_reference_book_for_the_amm() -> None:
    s = Scenario()
    b = s.new(1, "AMM-1", "BUY", 67990.0, 0.5)
    a = s.new(2, "AMM-1", "SELL", 68010.0, 0.5)
    s.new(3, "AMM-2", "BUY", 67995.0, 0.2)
    s.replace(4, b, price=67999.0)
    s.cancel(5, a)
    data = s.build()
    quotes = own_quotes(data, data.amm_accounts)
    top = data.top
    assert top is not None
    amm_rows = top[top["seq"].isin(quotes["seq"])]
    np.testing.assert_allclose(quotes["bid"], amm_rows["amm_best_bid"].astype(float))
    np.testing.assert_allclose(
        quotes["ask"].fillna(-1), amm_rows["amm_best_ask"].astype(float).fillna(-1)
    )


def test_order_summary_reports_each_orders_own_end() -> None:
    s = Scenario()
    first = s.new(1, "CLI-1", "BUY", 67990.0, 0.5)
    second = s.new(2, "CLI-2", "SELL", 68010.0, 0.5)
    s.take(3, "CLI-3", "BUY", [(second, 0.5)])
    s.cancel(4, first)
    summary = s.build().order_summary.set_index("order_id")
    assert (summary.loc[first, "end_type"], summary.loc[second, "end_type"]) == ("CANCEL", "FILL")


def test_nanosecond_times_round_trip() -> None:
    s = Scenario()
    stamp = s.at(12.000000001)
    assert from_ns(int(to_ns([stamp])[0])) == stamp


def test_poisson_tail_matches_its_definition() -> None:
    assert poisson_tail(0, 0.3) == 1.0
    assert abs(poisson_tail(1, 0.3) - (1 - np.exp(-0.3))) < 1e-12
    assert abs(poisson_tail(2, 0.3) - (1 - np.exp(-0.3) * 1.3)) < 1e-12
