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

import numpy as np
import pandas as pd

from features.book import own_quotes
from features.data import GROUP_ROLES, SymbolDay
from features.windows import segments_from_gaps, window_sum
from surveillance.contract import Origin


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


def obligation_timeline(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The AMM's own quote after each of its events with a compliance flag.

    Columns: ``t`` (ns), ``bid``, ``ask``, ``bid_qty``, ``ask_qty``, ``spread_bps``,
    ``two_sided``, ``spread_ok``, ``size_ok``, ``compliant``. Obligation fields
    missing from the instrument reference impose no constraint.
    """
    quotes = own_quotes(data, accounts)
    max_spread = data.instrument.get("mm_max_spread_bps")
    min_qty = data.instrument.get("mm_min_quote_quantity")
    bid, ask = quotes["bid"].to_numpy(), quotes["ask"].to_numpy()
    mid = (bid + ask) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_bps = (ask - bid) / mid * 1e4
    two_sided = np.isfinite(bid) & np.isfinite(ask)
    spread_ok = two_sided & (
        np.ones(len(quotes), dtype=bool)
        if max_spread is None
        else np.nan_to_num(spread_bps, nan=np.inf) <= float(max_spread) + 1e-9
    )
    size_ok = two_sided & (
        np.ones(len(quotes), dtype=bool)
        if min_qty is None
        else (quotes["bid_qty"].to_numpy() >= float(min_qty) - 1e-12)
        & (quotes["ask_qty"].to_numpy() >= float(min_qty) - 1e-12)
    )
    out = quotes.assign(
        spread_bps=spread_bps,
        two_sided=two_sided,
        spread_ok=spread_ok,
        size_ok=size_ok,
        compliant=two_sided & spread_ok & size_ok,
    )
    return out


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
