"""The compiled per-chunk conversion (``replay.prepare``) equals the NumPy conversions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from surveillance.book import replay as rp
from surveillance.book.engine import to_counts

TICK, LOT = 0.01, 0.0001

_values = st.one_of(
    st.integers(-50, 50).map(lambda t: 600_000 + t),  # on the grid, in ticks of TICK
    st.floats(5_999.0, 6_001.0),  # mostly off the grid
    st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0]),
)


def _expected(
    price: np.ndarray,
    fill_price: np.ndarray,
    qty: np.ndarray,
    is_market: np.ndarray,
    tif_rests: np.ndarray,
    ticks: np.ndarray,
) -> tuple[list[np.ndarray], int, int]:
    """What the vectorised conversion computed: NumPy's arithmetic, column by column."""
    with np.errstate(invalid="ignore", over="ignore"):
        has_price = ~np.isnan(price)
        e_tick, off_p = to_counts(price, TICK)
        e_fill_tick, off_fp = to_counts(fill_price, TICK)
        e_tick[~has_price] = rp.NA
        e_fill_tick[np.isnan(fill_price)] = rp.NA
        e_qty, off_q = to_counts(qty, LOT)
        limit_priced = has_price & ~is_market
        e_flags = np.where(limit_priced & tif_rests, rp.FLAG_RESTS, 0) | np.where(
            is_market, rp.FLAG_MARKET, 0
        )
        e_level = np.full(len(price), -1, dtype=np.int64)
        lvl = np.searchsorted(ticks, e_tick)
        ok = lvl < len(ticks)
        ok[ok] = ticks[lvl[ok]] == e_tick[ok]
        e_level[limit_priced & ok] = lvl[limit_priced & ok]
    missing = int((limit_priced & ~ok).sum())
    off = int((off_p | off_fp | off_q).sum())
    return [e_tick, e_fill_tick, e_qty, e_flags, e_level], off, missing


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_values, _values, _values, st.booleans(), st.booleans()), min_size=1, max_size=40
    ),
    dense=st.booleans(),
)
def test_prepare_gives_the_ticks_lots_flags_and_levels_of_the_numpy_conversion(
    rows: list[tuple[float, float, float, bool, bool]], dense: bool
) -> None:
    price = np.array([r[0] * TICK if abs(r[0]) < 1e7 else r[0] for r in rows], dtype=np.float64)
    fill_price = np.array([r[1] * TICK if abs(r[1]) < 1e7 else r[1] for r in rows])
    qty = np.array([r[2] * LOT if abs(r[2]) < 1e7 else r[2] for r in rows], dtype=np.float64)
    is_market = np.array([r[3] for r in rows])
    tif_rests = np.array([r[4] for r in rows])
    # dense: every tick of a span; sparse: every other tick of it (some prices miss)
    ticks = np.arange(599_970, 600_031, 1 if dense else 2, dtype=np.int64)
    expected, off, missing = _expected(price, fill_price, qty, is_market, tif_rests, ticks)
    out = [np.empty(len(rows), dtype=np.int64) for _ in range(7)]
    nan = np.full(len(rows), np.nan)
    got_off, got_missing = rp.prepare(
        price, fill_price, qty, nan, nan, is_market, tif_rests, TICK, LOT, ticks, dense, *out
    )
    e_tick, e_fill_tick, e_qty, e_leaves, e_fill_qty, e_flags, e_level = out
    assert (got_off, got_missing) == (off, missing)
    for got, want in zip([e_tick, e_fill_tick, e_qty, e_flags], expected[:4], strict=True):
        assert got.tolist() == want.tolist()
    assert e_leaves.tolist() == e_fill_qty.tolist() == [0] * len(rows)  # null quantities
    if not missing:  # a missing level is an error: the levels are not used
        assert e_level.tolist() == expected[4].tolist()
