"""Features of spread manipulation: quote fades, spread widening, spoofing.

* **Quote fade** (``SM_QUOTE_FADE``): for every client order that executed as taker
  (or was marketable on arrival), the AMM's instructions received at the gateway
  *after* the client's and applied by the engine *before* it, that cancelled or
  worsened the AMM quote on the side the client was about to hit. The AMM's
  ordinary churn is the baseline: how often its best quote on that side is pulled
  in a window of the same length at any time of the day.
* **Spread widening** (``SM_SPREAD_WIDENING``): the AMM's own quoted spread
  (time-weighted) in the seconds before large client orders, against its own median
  spread in the same volatility decile over the day, and against external market
  makers' quoted spread over the same seconds.
* **Spoofing** (``SM_SPOOFING``): AMM orders large against the visible depth on
  their side and against the AMM's own usual order size, cancelled unfilled after a
  short life, in layers, while the AMM executed on the other side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.book import asof_top, own_quotes, top_frame
from features.data import NS, SymbolDay
from features.windows import window_bounds
from surveillance.contract import EventType, Role


def time_weighted(
    times: np.ndarray, values: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Time-weighted mean of a step function (value in force from each time) per window.

    NaN values (no quote) are left out of the weights; a window with no finite
    value gives NaN.
    """
    if len(times) == 0:
        return np.full(len(starts), np.nan)
    finite = np.isfinite(values)
    v = np.where(finite, values, 0.0)
    # integral of the step function from times[0] up to each time
    dt_ = np.diff(times, append=times[-1]).astype(float)
    area = np.concatenate([[0.0], np.cumsum(v * dt_)])
    weight = np.concatenate([[0.0], np.cumsum(finite * dt_)])

    def integral(cum: np.ndarray, val: np.ndarray, x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(times, x, side="right") - 1
        ic = np.clip(i, 0, None)
        out = cum[ic] + val[ic] * (x - times[ic])
        return np.where(i >= 0, out, 0.0)

    num = integral(area, v, ends) - integral(area, v, starts)
    den = integral(weight, finite.astype(float), ends) - integral(
        weight, finite.astype(float), starts
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def quote_spread_series(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The accounts' own quoted spread in bps after each of their events (NaN if one-sided)."""
    q = own_quotes(data, accounts)
    mid = (q["bid"] + q["ask"]) / 2
    return q.assign(spread_bps=(q["ask"] - q["bid"]) / mid * 1e4)


def realised_vol(data: SymbolDay, times: np.ndarray, window_ns: int) -> np.ndarray:
    """Realised volatility (bps, sum of squared log mid changes) over ``window_ns`` before each time."""
    t, mid = data.mid_series
    if len(t) < 2:
        return np.zeros(len(times))
    r = np.diff(np.log(mid))
    r2 = np.concatenate([[0.0], np.cumsum(r * r)])
    tt = t[1:]
    hi = np.searchsorted(tt, times, side="right")
    lo = np.searchsorted(tt, times - window_ns, side="right")
    return np.sqrt(np.maximum(r2[hi] - r2[lo], 0.0)) * 1e4


def fade_candidates(data: SymbolDay) -> pd.DataFrame:
    """AMM pulls of the quote a client's in-flight marketable order was about to hit.

    One row per (client order, AMM instruction) where the AMM instruction reached
    the gateway after the client's order and was applied before it (``seq`` lower),
    within the client's in-flight interval, and cancelled the AMM order or moved it
    to a worse price or smaller size, on the side opposite the client's, at a price
    the client's order would have reached.
    """
    ev = data.events
    summary = data.order_summary
    cols = [
        "client_order",
        "client_account",
        "client_sign",
        "client_gw",
        "client_t",
        "client_seq",
        "client_price",
        "client_qty",
        "client_filled",
        "amm_account",
        "amm_order",
        "amm_event",
        "amm_gw",
        "amm_t",
        "amm_seq",
        "before_price",
        "after_price",
        "before_qty",
        "after_qty",
    ]
    # every client order: one the fade left unfilled counts too ("or not at all"); the
    # price check below keeps only orders that would have reached the AMM's quote
    clients = summary[
        (summary["role"] == Role.CLIENT.value) & (summary["gw"] > np.iinfo(np.int64).min)
    ].sort_values("seq")
    ev_prev_price = ev.groupby("order_id", sort=False)["price"].shift(1)
    ev_prev_leaves = ev.groupby("order_id", sort=False)["leaves"].shift(1)
    amm = ev[
        (ev["role"] == Role.AFFILIATED_MM.value)
        & ev["event_type"].isin([EventType.CANCEL.value, EventType.REPLACE.value])
    ].assign(
        before_price=lambda f: ev_prev_price[f.index].to_numpy(),
        before_qty=lambda f: ev_prev_leaves[f.index].to_numpy(),
    )
    if clients.empty or amm.empty:
        return pd.DataFrame(columns=cols)
    a_seq = amm["seq"].to_numpy()
    # AMM instructions applied in the client's in-flight interval, before the client
    lo, hi = window_bounds(
        amm["t"].to_numpy(), clients["gw"].to_numpy(), clients["t"].to_numpy(), closed="both"
    )
    counts = hi - lo
    if counts.sum() == 0:
        return pd.DataFrame(columns=cols)
    ci = np.repeat(np.arange(len(clients)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    ai = np.repeat(lo, counts) + offsets
    c = clients.iloc[ci].reset_index(drop=True)
    a = amm.iloc[ai].reset_index(drop=True)
    before = a["before_price"].to_numpy(dtype=float)
    after = a["price"].to_numpy(dtype=float)
    a_sign = a["sign"].to_numpy()
    c_sign = c["sign"].to_numpy()
    c_price = c["price"].to_numpy(dtype=float)
    market = c["order_type"].to_numpy() == "MARKET"
    reaches = market | np.where(c_sign > 0, c_price >= before - 1e-12, c_price <= before + 1e-12)
    is_cancel = a["event_type"].to_numpy() == EventType.CANCEL.value
    worse = np.where(a_sign > 0, after < before - 1e-12, after > before + 1e-12)
    smaller = a["leaves"].to_numpy() < a["before_qty"].to_numpy() - 1e-12
    pulled = is_cancel | worse | smaller
    keep = (
        (a["gw"].to_numpy() > c["gw"].to_numpy())
        & (a_seq[ai] < c["seq"].to_numpy())
        & (a_sign != c_sign)
        & reaches
        & pulled
    )
    out = pd.DataFrame(
        {
            "client_order": c["order_id"],
            "client_account": c["account_id"],
            "client_sign": c_sign,
            "client_gw": c["gw"],
            "client_t": c["t"],
            "client_seq": c["seq"],
            "client_price": c_price,
            "client_qty": c["quantity"],
            "client_filled": c["filled"],
            "amm_account": a["account_id"],
            "amm_order": a["order_id"],
            "amm_event": a["event_type"],
            "amm_gw": a["gw"],
            "amm_t": a["t"],
            "amm_seq": a["seq"],
            "before_price": before,
            "after_price": after,
            "before_qty": a["before_qty"],
            "after_qty": a["leaves"],
        }
    )
    return out[keep].reset_index(drop=True)


def pull_rate(data: SymbolDay, account: str) -> tuple[float, float]:
    """The account's rate of quote pulls (CANCEL, worsening or reducing REPLACE) per
    second per side over the day, and the share of its pulls that were at its own
    best price on that side."""
    ev = data.events
    mine = ev[ev["account_id"] == account]
    if mine.empty:
        return 0.0, 0.0
    prev_price = mine.groupby("order_id", sort=False)["price"].shift(1)
    prev_leaves = mine.groupby("order_id", sort=False)["leaves"].shift(1)
    et = mine["event_type"].to_numpy()
    sign = mine["sign"].to_numpy()
    price = mine["price"].to_numpy(dtype=float)
    worse = np.where(sign > 0, price < prev_price - 1e-12, price > prev_price + 1e-12)
    smaller = mine["leaves"].to_numpy() < prev_leaves.to_numpy() - 1e-12
    pulls = (et == EventType.CANCEL.value) | ((et == EventType.REPLACE.value) & (worse | smaller))
    active = max((mine["t"].max() - mine["t"].min()) / NS, 1.0)
    return float(pulls.sum()) / active / 2.0, float(pulls.mean())


def spread_before(
    data: SymbolDay, accounts: list[str], starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """The accounts' time-weighted own quoted spread (bps) in each window."""
    s = quote_spread_series(data, accounts)
    return time_weighted(s["t"].to_numpy(), s["spread_bps"].to_numpy(dtype=float), starts, ends)


def spread_baseline_by_vol(
    data: SymbolDay,
    accounts: list[str],
    window_ns: int,
    vol_window_ns: int,
    n_bins: int,
    day_start: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The accounts' median quoted spread per volatility bin, over windows tiling the day.

    Returns (bin edges of realised volatility, median spread per bin). Windows
    where the accounts had no two-sided quote are left out.
    """
    n = int(np.ceil(24 * 3600 * NS / window_ns))
    starts = day_start + np.arange(n, dtype=np.int64) * window_ns
    spreads = spread_before(data, accounts, starts, starts + window_ns)
    vols = realised_vol(data, starts + window_ns, vol_window_ns)
    ok = np.isfinite(spreads)
    if ok.sum() < n_bins:
        overall = float(np.nanmedian(spreads)) if ok.any() else np.nan
        return np.array([-np.inf, np.inf]), np.array([overall])
    edges = np.unique(np.quantile(vols[ok], np.linspace(0, 1, n_bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    bins = np.clip(np.searchsorted(edges, vols[ok], side="right") - 1, 0, len(edges) - 2)
    med = np.array(
        [
            float(np.median(spreads[ok][bins == b])) if (bins == b).any() else np.nan
            for b in range(len(edges) - 1)
        ]
    )
    return edges, med


def spoof_orders(data: SymbolDay, depth_col: str | None) -> pd.DataFrame:
    """AMM limit orders with their size against the book and the AMM's habits.

    Columns: the order summary's, plus ``lifetime`` (ns, to the terminal event),
    ``depth_same_side`` (visible depth on the order's side just before it, from the
    book's depth column ``depth_col`` or, without one, the best level's quantity),
    ``size_vs_depth`` and ``size_vs_usual`` (against the account's median order size).
    """
    summary = data.order_summary
    amm = summary[
        (summary["role"] == Role.AFFILIATED_MM.value) & (summary["order_type"] == "LIMIT")
    ].copy()
    if amm.empty:
        return amm.assign(lifetime=[], depth_same_side=[], size_vs_depth=[], size_vs_usual=[])
    top = asof_top(data, amm["seq"].to_numpy())
    is_buy = amm["sign"].to_numpy() > 0
    if depth_col is not None and f"bid_{depth_col}" in top and f"ask_{depth_col}" in top:
        depth = np.where(
            is_buy,
            top[f"bid_{depth_col}"].to_numpy(dtype=float),
            top[f"ask_{depth_col}"].to_numpy(dtype=float),
        )
    else:
        depth = np.where(
            is_buy, top["bid_qty"].to_numpy(dtype=float), top["ask_qty"].to_numpy(dtype=float)
        )
    size = amm["max_quantity"].to_numpy(dtype=float)
    usual = amm.groupby("account_id")["max_quantity"].transform("median").to_numpy(dtype=float)
    amm["lifetime"] = amm["end_t"] - amm["t"]
    amm["depth_same_side"] = depth
    with np.errstate(invalid="ignore", divide="ignore"):
        amm["size_vs_depth"] = np.where(depth > 0, size / depth, np.inf)
        amm["size_vs_usual"] = size / usual
    amm["usual_size"] = usual
    mid = top["mid"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        amm["distance_bps"] = np.where(is_buy, mid - amm["price"], amm["price"] - mid) / mid * 1e4
    return amm.reset_index(drop=True)


def depth_columns(data: SymbolDay) -> list[str]:
    """The book's depth distances present, as ``depth_<n>bps`` suffixes."""
    top = top_frame(data)
    return sorted(
        {c[len("bid_") :] for c in top.columns if c.startswith("bid_depth_")},
        key=lambda c: int(c.split("_")[1].removesuffix("bps")),
    )
