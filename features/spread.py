"""Features of spread manipulation: quote fades, spread widening, spoofing.

* **Quote fade** (``SM_QUOTE_FADE``): for every client order that executed as taker
  (or was marketable on arrival), the AMM's instructions received at the gateway
  *after* the client's and applied by the engine *before* it, that cancelled or
  worsened the AMM quote on the side the client was about to hit. The AMM's
  ordinary churn is the baseline: how often its best quote on that side is pulled
  in a window of the same length at any time of the day.
* **Spread widening** (``SM_SPREAD_WIDENING``): the AMM's own quoted spread as its
  own instructions set it (time-weighted) in the second before large client orders
  (sized as entered), against the larger of its median spread a minute before and
  3-15 s after (a lasting change is not a widening aimed at the order), judged
  against the same ratio at placebo times away from large orders; external market
  makers' quoted spread over the same seconds is reported beside it.
* **Spoofing** (``SM_SPOOFING``): the whole sequence. Bursts of short-lived AMM
  orders on one side at several prices that raise the account's resting quantity
  there above its usual and are material against the visible depth, the account's
  executions as taker on the other side while they rest, and their cancellation
  soon after, nearly unfilled.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from features.book import asof_top, own_quotes, top_frame
from features.data import NS, SymbolDay
from features.windows import window_bounds
from surveillance.contract import DEFAULT_ORIGIN, GATEWAY_EVENTS, EventType, Role


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


def sampled_median(
    times: np.ndarray, values: np.ndarray, starts: np.ndarray, ends: np.ndarray, samples: int
) -> np.ndarray:
    """Median of a step function sampled at ``samples`` evenly spaced points of each window.

    Robust where a time-weighted mean is not: a level consumed for a few seconds, or a
    brief excursion, moves the mean of a baseline window but not its median. NaN
    values (no quote) are left out; a window with none gives NaN.
    """
    if len(times) == 0 or len(starts) == 0:
        return np.full(len(starts), np.nan)
    frac = (np.arange(samples) + 0.5) / samples
    at = starts[:, None] + ((ends - starts)[:, None] * frac[None, :]).astype(np.int64)
    idx = np.searchsorted(times, at, side="right") - 1
    vals = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(vals, axis=1)


def quote_spread_series(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The accounts' own quoted spread in bps after each of their events (NaN if one-sided)."""
    q = own_quotes(data, accounts)
    mid = (q["bid"] + q["ask"]) / 2
    return q.assign(spread_bps=(q["ask"] - q["bid"]) / mid * 1e4)


def instructed_spread_series(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The accounts' own quoted spread (bps) as their own instructions left it.

    Like :func:`quote_spread_series`, but each side holds the price the accounts' last
    instruction (NEW, REPLACE, CANCEL) on that side left, and only rows of instructions
    are kept. A client consuming the best level widens the quoted spread until the
    account requotes that side; that is the client's act, not the account's, and on a
    busy day it happens often enough to hide a deliberate widening among ordinary ones.
    """
    s = quote_spread_series(data, accounts)
    ev = data.events
    mine = ev["account_id"].isin(accounts)
    kinds = ev.loc[mine, "event_type"].to_numpy()
    if len(kinds) != len(s):  # own_quotes keeps one row per event of the accounts
        raise ValueError(f"own quotes: expected {len(kinds)} rows, found {len(s)}")
    instructed = np.isin(kinds, [e.value for e in GATEWAY_EVENTS])
    sign = ev.loc[mine, "sign"].to_numpy()
    bid = s["bid"].where(instructed & (sign > 0)).ffill()
    ask = s["ask"].where(instructed & (sign < 0)).ffill()
    # a side emptied by an instruction stays empty until the next one on that side
    bid = bid.where(~(instructed & (sign > 0)) | s["bid"].notna())
    ask = ask.where(~(instructed & (sign < 0)) | s["ask"].notna())
    mid = (bid + ask) / 2
    out = s.assign(bid=bid, ask=ask, spread_bps=(ask - bid) / mid * 1e4)
    return out[instructed].reset_index(drop=True)


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


def resting_quantity(data: SymbolDay, account: str) -> dict[int, pd.DataFrame]:
    """The account's total resting quantity per side (+1 bid, -1 ask) after each of its events.

    One frame per side with ``seq``, ``t`` and ``qty``: a step function that a spoofing
    layer raises above the account's ordinary resting size on that side, while an
    ordinary requote (cancel and new, or replace) leaves it where it was.
    """
    ev = data.events
    mine = ev[
        (ev["account_id"] == account)
        & (ev["order_type"] == "LIMIT")
        & ~ev["tif"].isin(["IOC", "FOK"])
    ]
    terminal = (
        mine["event_type"]
        .isin([EventType.CANCEL.value, EventType.EXPIRE.value, EventType.REJECT.value])
        .to_numpy()
    )
    live = np.where(terminal, 0.0, np.nan_to_num(mine["leaves"].to_numpy(dtype=float)))
    prev = pd.Series(live, index=mine.index).groupby(mine["order_id"], sort=False).shift(1)
    delta = live - prev.fillna(0.0).to_numpy()
    out = {}
    for sign in (1, -1):
        side = mine["sign"].to_numpy() == sign
        out[sign] = pd.DataFrame(
            {
                "seq": mine["seq"].to_numpy()[side],
                "t": mine["t"].to_numpy()[side],
                "qty": np.maximum(np.cumsum(delta[side]), 0.0),
            }
        )
    return out


def time_weighted_median(times: np.ndarray, values: np.ndarray) -> float:
    """Median of a step function over its span (each value weighted by how long it held)."""
    if len(times) == 0:
        return float("nan")
    weight = np.diff(times, append=times[-1]).astype(float)
    if weight.sum() <= 0:
        return float(np.median(values))
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weight[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2.0)])


def spoof_bursts(
    data: SymbolDay,
    depth_col: str | None,
    cluster_gap_ns: int,
    life_ns: tuple[int, int],
    max_fill_ratio: float,
) -> pd.DataFrame:
    """One row per one-sided burst of short-lived AMM orders, with what spoofing would show.

    Layer candidates are the AMM's limit orders cancelled after a life within
    ``life_ns`` (min, max) with at most ``max_fill_ratio`` executed; the account's
    ordinary quotes entered at the same moment live on and are left out. A burst is
    the candidates one account entered on one side less than ``cluster_gap_ns``
    apart; an execution of the account on the other side closes a burst.

    Columns: ``account_id``, ``sign``, ``burst``, ``n_orders``, ``n_prices``,
    ``start``/``last_new`` (time of the first and last entry), ``first_seq``/
    ``last_seq``, ``first_end``/``last_end`` (times of the first and last cancel),
    ``first_end_seq``/``last_end_seq``, ``life_max`` (ns), ``burst_qty``, ``filled``,
    ``depth_before`` (visible depth on the side before the first), ``resting_before``
    (the account's total resting quantity on the side just before the first entry),
    ``resting_after`` (its time-weighted mean from the last entry to the first cancel),
    ``usual_resting`` (its time-weighted median over the day), ``life_quantile``
    (share of the account's cancelled orders that lived at most as long), and the
    account's executions as taker on the other side after the last entry and before
    the first cancel: ``opp_qty``, ``opp_trades``, ``opp_last_t``, ``opp_trade_ids``,
    ``opp_order_ids``; ``prices_cancelled_after``, the distinct prices of the burst's
    orders cancelled later than the last such execution; ``order_ids`` lists the
    burst's orders.
    """
    every = spoof_orders(data, depth_col)
    cols = [
        "account_id", "sign", "burst", "n_orders", "n_prices", "start", "last_new",
        "first_seq", "last_seq", "first_end", "last_end", "first_end_seq", "last_end_seq",
        "life_max", "burst_qty", "filled", "depth_before", "resting_before", "resting_after",
        "usual_resting", "life_quantile", "opp_qty", "opp_trades", "opp_last_t",
        "opp_trade_ids", "opp_order_ids", "prices_cancelled_after", "order_ids",
    ]  # fmt: skip
    if every.empty:
        return pd.DataFrame(columns=cols)
    every["is_cancel"] = every["end_type"] == EventType.CANCEL.value
    with np.errstate(invalid="ignore", divide="ignore"):
        fill_ratio = (every["filled"] / every["max_quantity"]).to_numpy()
    orders = every[
        every["is_cancel"].to_numpy()
        & (every["lifetime"].to_numpy() >= life_ns[0])
        & (every["lifetime"].to_numpy() <= life_ns[1])
        & (fill_ratio <= max_fill_ratio)
    ]
    if orders.empty:
        return pd.DataFrame(columns=cols)
    orders = orders.sort_values(["account_id", "sign", "t"], kind="stable").reset_index(drop=True)
    tv = data.trade_view
    taker = tv[tv["taker_account"].isin(orders["account_id"].unique())].sort_values(
        "seq", kind="stable"
    )
    # an execution on the other side closes a burst: orders entered after it are not
    # the layers it was made under
    opp_before = np.zeros(len(orders), dtype=np.int64)
    o_acc, o_sign, o_seq_all = (
        orders["account_id"].to_numpy(),
        orders["sign"].to_numpy(),
        orders["seq"].to_numpy(),
    )
    for account, sign in set(zip(o_acc, o_sign, strict=True)):
        mask = (taker["taker_account"] == account) & (taker["taker_sign"] == -sign)
        opp_seq = taker.loc[mask, "seq"].to_numpy()
        pos = np.flatnonzero((o_acc == account) & (o_sign == sign))
        opp_before[pos] = np.searchsorted(opp_seq, o_seq_all[pos], side="left")
    new_burst = (
        (orders["account_id"] != orders["account_id"].shift())
        | (orders["sign"] != orders["sign"].shift())
        | (orders["t"].diff().fillna(cluster_gap_ns + 1) > cluster_gap_ns)
        | (np.diff(opp_before, prepend=-1) != 0)
    )
    orders["burst"] = np.cumsum(new_burst.to_numpy())
    g = orders.groupby("burst", sort=True)
    bursts = pd.DataFrame(
        {
            "account_id": g["account_id"].first(),
            "sign": g["sign"].first(),
            "n_orders": g.size(),
            "n_prices": g["price"].nunique(),
            "start": g["t"].min(),
            "last_new": g["t"].max(),
            "first_seq": g["seq"].min(),
            "last_seq": g["seq"].max(),
            "first_end": g["end_t"].min(),
            "last_end": g["end_t"].max(),
            "first_end_seq": g["end_seq"].min(),
            "last_end_seq": g["end_seq"].max(),
            "life_max": g["lifetime"].max(),
            "burst_qty": g["max_quantity"].sum(),
            "filled": g["filled"].sum(),
            "depth_before": g["depth_same_side"].first(),
            "order_ids": g["order_id"].agg(list),
        }
    ).reset_index()
    parts = []
    resting_by_account: dict[str, dict[int, pd.DataFrame]] = {}
    pairs = sorted(set(zip(bursts["account_id"], bursts["sign"], strict=True)))
    for account, sign in pairs:
        b = bursts[(bursts["account_id"] == account) & (bursts["sign"] == sign)].copy()
        if account not in resting_by_account:
            resting_by_account[account] = resting_quantity(data, account)
        resting = resting_by_account[account][int(sign)]
        r_seq, r_qty = resting["seq"].to_numpy(), resting["qty"].to_numpy()
        i_before = np.searchsorted(r_seq, b["first_seq"].to_numpy(), side="left") - 1
        i_after = np.searchsorted(r_seq, b["last_seq"].to_numpy(), side="right") - 1
        b["resting_before"] = np.where(i_before >= 0, r_qty[np.clip(i_before, 0, None)], 0.0)
        # what the account rested on the side while all layers were in (time-weighted,
        # from the last entry to the first cancel): a requote's cancel landing just
        # before or just after its replacement moves a moment, not the whole life
        during = time_weighted(
            resting["t"].to_numpy(),
            r_qty,
            b["last_new"].to_numpy(),
            b["first_end"].to_numpy(),
        )
        at_entry = np.where(i_after >= 0, r_qty[np.clip(i_after, 0, None)], 0.0)
        b["resting_after"] = np.where(np.isfinite(during), during, at_entry)
        b["usual_resting"] = time_weighted_median(resting["t"].to_numpy(), r_qty)
        mine = every[(every["account_id"] == account) & every["is_cancel"]]
        lives = np.sort(mine["lifetime"].to_numpy())
        b["life_quantile"] = np.searchsorted(lives, b["life_max"].to_numpy(), side="right") / max(
            len(lives), 1
        )
        # the account's executions as taker on the other side, in engine order
        opp = taker[(taker["taker_account"] == account) & (taker["taker_sign"] == -sign)]
        o_seq = opp["seq"].to_numpy()
        lo = np.searchsorted(o_seq, b["last_seq"].to_numpy(), side="right")
        hi = np.searchsorted(o_seq, b["first_end_seq"].to_numpy(), side="left")
        hi = np.maximum(hi, lo)
        qty_cum = np.concatenate([[0.0], np.cumsum(opp["qty"].to_numpy(dtype=float))])
        b["opp_qty"] = qty_cum[hi] - qty_cum[lo]
        b["opp_trades"] = hi - lo
        o_t = opp["t"].to_numpy()
        b["opp_last_t"] = np.where(hi > lo, o_t[np.clip(hi - 1, 0, None)], np.iinfo(np.int64).min)
        tids, oids = opp["trade_id"].to_numpy(), opp["taker_order"].to_numpy()
        b["opp_trade_ids"] = [list(tids[x:y]) for x, y in zip(lo, hi, strict=True)]
        b["opp_order_ids"] = [sorted(set(oids[x:y])) for x, y in zip(lo, hi, strict=True)]
        parts.append(b)
    out = pd.concat(parts, ignore_index=True)
    # the layers withdrawn after the execution (the account's decision once it had
    # traded), as distinct prices; a quote cancelled with the execution is not one
    last_opp = orders["burst"].map(out.set_index("burst")["opp_last_t"])
    later = orders[orders["end_t"].to_numpy() > last_opp.to_numpy()]
    out["prices_cancelled_after"] = (
        out["burst"].map(later.groupby("burst")["price"].nunique()).fillna(0).astype(np.int64)
    )
    return out[cols]


def large_client_arrivals(
    data: SymbolDay, quantile: float, parent_gap_ns: int
) -> tuple[pd.DataFrame, float]:
    """The first slice of each large client parent order, sized as the client entered it.

    Client orders meant to trade on arrival (market, IOC or FOK, or any that executed
    as taker) of one account and side less than ``parent_gap_ns`` apart are one
    parent; a parent is large when its *entered* quantity is at or above ``quantile``
    of the day's client parents. The entered size, not the executed one, is what a
    widening anticipates: a limit order that meets a widened spread may execute
    little of it. Returns one row per large parent (``order_id``, ``account_id``,
    ``sign``, ``arrival`` = gateway time when known, ``quantity`` of the first slice,
    ``parent_qty``) and the threshold.
    """
    summary = data.order_summary
    wants_now = (
        (summary["order_type"] == "MARKET")
        | summary["tif"].isin(["IOC", "FOK"])
        | (summary["taker_qty"] > 0)
    )
    clients = summary[
        (summary["role"] == Role.CLIENT.value)
        & (summary["origin"] == DEFAULT_ORIGIN.value)
        & wants_now
    ].copy()
    cols = ["order_id", "account_id", "sign", "arrival", "quantity", "parent_qty"]
    if clients.empty:
        return pd.DataFrame(columns=cols), float("nan")
    clients["arrival"] = np.where(
        clients["gw"] > np.iinfo(np.int64).min, clients["gw"], clients["t"]
    )
    clients = clients.sort_values(["account_id", "sign", "arrival"], kind="stable")
    new = (
        (clients["account_id"] != clients["account_id"].shift())
        | (clients["sign"] != clients["sign"].shift())
        | (clients["arrival"].diff().fillna(parent_gap_ns + 1) > parent_gap_ns)
    )
    clients["parent"] = np.cumsum(new.to_numpy())
    size = clients.groupby("parent")["max_quantity"].sum()
    threshold = float(np.quantile(size, quantile))
    clients["parent_qty"] = clients["parent"].map(size).to_numpy()
    first = clients.drop_duplicates("parent")
    large = first[first["parent_qty"].to_numpy() >= threshold]
    return large.sort_values("arrival")[cols].reset_index(drop=True), threshold
