"""Day-level measures of a symbol's ``top`` output: time-weighted spread, AMM presence.

Each ``top`` row holds from its ``event_time`` until the next row's (the last until
the end of the trading day), so averages over the rows are weighted by how long
the book looked like that, not by how many events happened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from surveillance.book.schema import Top
from surveillance.days import day_bounds


@dataclass(frozen=True)
class TopSummary:
    """Time-weighted measures of one symbol's book over a day (NaN when undefined)."""

    #: Mean spread in basis points of mid, over the time both sides were quoted.
    spread_bps: float
    #: Mean spread in ticks, likewise.
    spread_ticks: float
    #: Fraction of the day both sides of the book were quoted.
    two_sided: float
    #: Fraction of the time a bid existed that the AMM had an order at the best bid.
    amm_at_best_bid: float
    #: Likewise at the best ask.
    amm_at_best_ask: float
    #: Fraction of the time a bid existed that the AMM was alone at the best bid.
    amm_alone_bid: float
    #: Likewise at the best ask.
    amm_alone_ask: float


def _weighted(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> float:
    total = float(weights[mask].sum())
    if total <= 0:
        return float("nan")
    return float((values[mask] * weights[mask]).sum() / total)


def summarise_top(top: pa.Table, day: dt.date) -> TopSummary:
    """Time-weighted spread and AMM presence of a ``top`` table of ``day``."""
    nan = float("nan")
    if top.num_rows == 0:
        return TopSummary(nan, nan, 0.0, nan, nan, nan, nan)
    start, end = day_bounds(day)
    times = np.asarray(top.column(Top.event_time).cast(pa.int64()).to_numpy(), dtype=np.int64)
    stop = np.append(times[1:], max(int(end.value), int(times[-1])))
    weights = (stop - times).astype(np.float64)
    total = float(max(int(end.value) - int(start.value), 1))

    def col(name: str) -> np.ndarray:
        return np.asarray(top.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)

    bps = col(Top.spread_bps)
    ticks = col(Top.spread_ticks)
    both = ~np.isnan(bps)
    has_bid = ~np.isnan(col(Top.best_bid))
    has_ask = ~np.isnan(col(Top.best_ask))
    share_b = np.nan_to_num(col(Top.amm_bid_share))
    share_a = np.nan_to_num(col(Top.amm_ask_share))
    alone_b = col(Top.amm_alone_bid)
    alone_a = col(Top.amm_alone_ask)
    return TopSummary(
        spread_bps=_weighted(bps, weights, both),
        spread_ticks=_weighted(ticks, weights, both),
        two_sided=float(weights[both].sum() / total),
        amm_at_best_bid=_weighted((share_b > 0).astype(np.float64), weights, has_bid),
        amm_at_best_ask=_weighted((share_a > 0).astype(np.float64), weights, has_ask),
        amm_alone_bid=_weighted(alone_b, weights, has_bid),
        amm_alone_ask=_weighted(alone_a, weights, has_ask),
    )
