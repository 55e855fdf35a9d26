"""Features of market-integrity conduct: wash trades, liquidation hunting, obligations.

* **Same-group trades** (``MI_WASH_TRADE``): trades whose buyer and seller are the same
  entity, or both accounts of the operator's group (roles ``AFFILIATED_MM`` and
  ``HOUSE``), grouped into episodes per pair of accounts.
* **Liquidation clusters** (``MI_LIQUIDATION_HUNTING``): bursts of ``LIQUIDATION``
  orders, the AMM's aggressive flow in their direction just before (against its own
  aggression at other times of the day and against its peers), and its share of the
  liquidation fills it then took on the other side, with their markout.
* **Obligation spans** (``MI_OBLIGATION_BREACH``): the AMM's own two-sided quote over
  the day, marked compliant when both sides rest, the spread is within
  ``mm_max_spread_bps`` and each side holds ``mm_min_quote_quantity``.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from features.data import GROUP_ROLES, SymbolDay
from features.windows import segments_from_gaps, window_sum
from surveillance.contract import EventType, Origin


def same_group_trades(data: SymbolDay, group_roles: frozenset[str] = GROUP_ROLES) -> pd.DataFrame:
    """Trades with no change of beneficial ownership, one row each.

    ``same_entity``: buyer and seller share ``entity_id``. ``group``: both accounts
    have a role of the operator's group. ``pair`` names the two accounts (sorted)
    so that episodes can be grouped whichever side each took.
    """
    tv = data.trade_view
    same_entity = (tv["buy_entity"] == tv["sell_entity"]) & (tv["buy_entity"] != "")
    group = np.isin(tv["buy_role"], list(group_roles)) & np.isin(tv["sell_role"], list(group_roles))
    out = tv.loc[same_entity | group].copy()
    out["same_entity"] = same_entity[same_entity | group].to_numpy()
    out["group"] = group[(same_entity | group).to_numpy()]
    pair = np.where(
        out["buy_account"] < out["sell_account"],
        out["buy_account"] + "|" + out["sell_account"],
        out["sell_account"] + "|" + out["buy_account"],
    )
    out["pair"] = pair
    out["notional"] = out["price"] * out["qty"]
    return out.reset_index(drop=True)


def liquidation_clusters(data: SymbolDay, max_gap_ns: int) -> pd.DataFrame:
    """Bursts of liquidation orders: consecutive ones less than ``max_gap_ns`` apart.

    One row per cluster: its first and last order time, its net side (+1 when the
    liquidations sell, i.e. push the price down, is encoded as ``-1``: the sign of
    the liquidation orders' side), the quantity and the orders.
    """
    summary = data.order_summary
    liq = summary[summary["origin"] == Origin.LIQUIDATION.value].sort_values("t")
    cols = ["cluster", "start", "end", "sign", "quantity", "n_orders", "order_ids"]
    if liq.empty:
        return pd.DataFrame(columns=cols)
    liq = liq.assign(cluster=segments_from_gaps(liq["t"].to_numpy(), max_gap_ns))
    liq = liq.assign(signed=liq["sign"] * liq["quantity"])
    grouped = liq.groupby("cluster", sort=True)
    out = pd.DataFrame(
        {
            "start": grouped["t"].min(),
            "end": grouped["t"].max(),
            "signed": grouped["signed"].sum(),
            "quantity": grouped["quantity"].sum(),
            "n_orders": grouped.size(),
            "order_ids": grouped["order_id"].agg(list),
        }
    )
    out["sign"] = np.sign(out["signed"]).astype(int)
    return out.reset_index()[cols]


def aggressive_flow_rate(
    data: SymbolDay, accounts: list[str], starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Signed taker quantity of ``accounts`` in each window, and the day's taker times.

    Returns the signed quantity (+ bought) in each ``[start, end)`` window and the
    sorted taker fill times of these accounts (for baselines).
    """
    tv = data.trade_view
    mine = tv[tv["taker_account"].isin(accounts)]
    times = mine["t"].to_numpy()
    signed = (mine["taker_sign"] * mine["qty"]).to_numpy(dtype=float)
    return window_sum(times, signed, starts, ends), times


@numba.njit(cache=True)
def _obligation_prices(
    order_idx: np.ndarray,
    removes: np.ndarray,
    is_buy: np.ndarray,
    price_ticks: np.ndarray,
    leaves: np.ndarray,
    n_orders: int,
    min_qty: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """After each event: best bid/ask, their sizes, and the prices holding ``min_qty``.

    The *obligation* bid is the highest price at which the accounts' bids from the
    best down add up to ``min_qty`` (-1 when their whole bid side holds less); the
    obligation ask likewise from the best ask up.
    """
    open_qty = np.zeros(n_orders)
    open_price = np.zeros(n_orders, dtype=np.int64)
    bid_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    ask_levels = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    n = len(order_idx)
    bid = np.full(n, -1, dtype=np.int64)
    ask = np.full(n, -1, dtype=np.int64)
    ob_bid = np.full(n, -1, dtype=np.int64)
    ob_ask = np.full(n, -1, dtype=np.int64)
    bid_qty = np.zeros(n)
    ask_qty = np.zeros(n)
    for i in range(n):
        k = order_idx[i]
        levels = bid_levels if is_buy[i] else ask_levels
        if open_qty[k] > 0:
            p = open_price[k]
            remaining = levels[p] - open_qty[k]
            if remaining <= 1e-12:
                del levels[p]
            else:
                levels[p] = remaining
            open_qty[k] = 0.0
        if not removes[i] and leaves[i] > 0 and price_ticks[i] >= 0:
            open_qty[k] = leaves[i]
            open_price[k] = price_ticks[i]
            p = price_ticks[i]
            levels[p] = levels.get(p, 0.0) + leaves[i]
        for side in range(2):
            lv = bid_levels if side == 0 else ask_levels
            m = len(lv)
            if m == 0:
                continue
            prices = np.empty(m, dtype=np.int64)
            for j, p in enumerate(lv):
                prices[j] = p
            prices.sort()
            if side == 0:
                prices = prices[::-1]
            cum = 0.0
            reach = -1
            for j in range(m):
                cum += lv[prices[j]]
                if cum >= min_qty - 1e-12:
                    reach = prices[j]
                    break
            if side == 0:
                bid[i] = prices[0]
                bid_qty[i] = lv[prices[0]]
                ob_bid[i] = reach
            else:
                ask[i] = prices[0]
                ask_qty[i] = lv[prices[0]]
                ob_ask[i] = reach
    return bid, ask, bid_qty, ask_qty, ob_bid, ob_ask


def obligation_timeline(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The AMM's own quote after each of its events with a compliance flag.

    The obligation is a two-sided quote of at least ``mm_min_quote_quantity`` on
    each side no wider than ``mm_max_spread_bps`` (instruments reference data). A
    market maker meets it with its whole resting ladder, not only its best level: a
    partial fill that leaves a few lots at the best price while the next level holds
    the size within the spread is still a compliant quote. So each side's
    *obligation price* is the price at which the accounts' resting size, counted
    from their best price outwards, first reaches the least size, and the
    obligation spread is measured between those two prices, in basis points of
    their mid.

    Columns: ``seq``, ``t`` (ns), ``bid``, ``ask``, ``bid_qty``, ``ask_qty`` (best
    levels), ``ob_bid``, ``ob_ask`` (obligation prices, NaN when a side holds less
    than the least size), ``spread_bps`` (obligation spread, else the best-level
    spread), ``two_sided``, ``spread_ok``, ``size_ok``, ``compliant``. Obligation
    fields missing from the instrument reference impose no constraint.
    """
    ev = data.events
    mine = ev[ev["account_id"].isin(accounts)]
    cols = ["seq", "t", "bid", "ask", "bid_qty", "ask_qty", "ob_bid", "ob_ask", "spread_bps"]
    flags = ["two_sided", "spread_ok", "size_ok", "compliant"]
    if mine.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        return frame.assign(**{f: pd.Series(dtype=bool) for f in flags})
    max_spread = data.instrument.get("mm_max_spread_bps")
    min_qty = data.instrument.get("mm_min_quote_quantity")
    tick = data.tick_size
    prices = mine["price"].to_numpy(dtype=float)
    if not tick or tick <= 0:
        positive = prices[np.isfinite(prices) & (prices > 0)]
        tick = float(np.min(positive)) * 1e-6 if len(positive) else 1.0
    resting = (
        np.isfinite(prices)
        & (mine["order_type"].to_numpy() == "LIMIT")
        & ~np.isin(mine["tif"].to_numpy(), ["IOC", "FOK"])
    )
    ticks = np.where(resting, np.round(np.nan_to_num(prices) / tick), -1).astype(np.int64)
    removes = np.isin(
        mine["event_type"].to_numpy(),
        [EventType.CANCEL.value, EventType.EXPIRE.value, EventType.REJECT.value],
    )
    codes, uniques = pd.factorize(mine["order_id"])
    least = float(min_qty) if min_qty is not None and float(min_qty) > 0 else 1e-12
    bid, ask, bid_qty, ask_qty, ob_bid, ob_ask = _obligation_prices(
        codes.astype(np.int64),
        removes,
        mine["sign"].to_numpy() > 0,
        ticks,
        np.nan_to_num(mine["leaves"].to_numpy(dtype=float)),
        len(uniques),
        least,
    )
    as_price = lambda x: np.where(x >= 0, x * tick, np.nan)  # noqa: E731
    two_sided = (bid >= 0) & (ask >= 0)
    size_ok = (ob_bid >= 0) & (ob_ask >= 0)
    lo = np.where(size_ok, as_price(ob_bid), as_price(bid))
    hi = np.where(size_ok, as_price(ob_ask), as_price(ask))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_bps = (hi - lo) / ((hi + lo) / 2) * 1e4
    spread_ok = two_sided & (
        np.ones(len(mine), dtype=bool)
        if max_spread is None
        else np.nan_to_num(spread_bps, nan=np.inf) <= float(max_spread) + 1e-9
    )
    return pd.DataFrame(
        {
            "seq": mine["seq"].to_numpy(),
            "t": mine["t"].to_numpy(),
            "bid": as_price(bid),
            "ask": as_price(ask),
            "bid_qty": bid_qty,
            "ask_qty": ask_qty,
            "ob_bid": as_price(ob_bid),
            "ob_ask": as_price(ob_ask),
            "spread_bps": spread_bps,
            "two_sided": two_sided,
            "spread_ok": spread_ok,
            "size_ok": size_ok,
            "compliant": two_sided & size_ok & spread_ok,
        }
    )


def non_compliant_spans(timeline: pd.DataFrame, day_start: int, day_end: int) -> pd.DataFrame:
    """Maximal intervals of the day during which the quote was not compliant.

    The quote before the account's first event of the day is unknown; it is taken
    as not compliant (the account had nothing resting that the day's journal shows).
    Columns: ``start``, ``end``, ``duration`` (ns), ``reason`` (the most frequent of
    ``one_sided``, ``spread``, ``size`` during the span), ``worst_spread_bps``.
    """
    t = timeline["t"].to_numpy()
    ok = timeline["compliant"].to_numpy(dtype=bool)
    times = np.concatenate([[day_start], t, [day_end]])
    state = np.concatenate([[False], ok])
    # intervals [times[i], times[i+1]) carry state[i]
    durations = np.diff(times)
    bad = ~state
    change = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts_idx = np.flatnonzero(change == 1)
    ends_idx = np.flatnonzero(change == -1)
    cols = ["start", "end", "duration", "reason", "worst_spread_bps"]
    if len(starts_idx) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    two = np.concatenate([[False], timeline["two_sided"].to_numpy(dtype=bool)])
    sp_ok = np.concatenate([[False], timeline["spread_ok"].to_numpy(dtype=bool)])
    spread = np.concatenate([[np.nan], timeline["spread_bps"].to_numpy(dtype=float)])
    badf = bad.astype(float)
    # Sums over each bad span; good intervals between spans are zeroed by ``badf``.
    one_sided = np.add.reduceat(durations * badf * ~two, starts_idx)
    wide = np.add.reduceat(durations * badf * (two & ~sp_ok), starts_idx)
    small = np.add.reduceat(durations * badf * (two & sp_ok), starts_idx)
    masked = np.where(bad & np.isfinite(spread), spread, -np.inf)
    worst = np.maximum.reduceat(masked, starts_idx)
    reasons = np.array(["one_sided", "spread", "size"], dtype=object)[
        np.argmax(np.vstack([one_sided, wide, small]), axis=0)
    ]
    return pd.DataFrame(
        {
            "start": times[starts_idx],
            "end": times[ends_idx],
            "duration": times[ends_idx] - times[starts_idx],
            "reason": reasons,
            "worst_spread_bps": np.where(np.isfinite(worst), worst, np.nan),
        }
    )
