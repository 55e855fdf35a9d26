"""Features of market-integrity conduct: wash trades, liquidation hunting, obligations.

* **Same-group trades** (``MI_WASH_TRADE``): trades whose buyer and seller are the same
  entity, or both accounts of the operator's group (roles ``AFFILIATED_MM`` and
  ``HOUSE``), grouped into episodes per pair of accounts.
* **Liquidation conduct** (``MI_LIQUIDATION_HUNTING``): bursts of ``LIQUIDATION``
  orders and, per account, the orders it entered just before that absorbed them (their
  size against the cluster's and against the account's usual sizes), its own share of
  the aggression that pushed the price to them while they rested, and their markout.
* **Obligation spans** (``MI_OBLIGATION_BREACH``): the AMM's own resting ladder over
  the day, marked compliant when each side holds ``mm_min_quote_quantity`` within a
  two-sided quote no wider than ``mm_max_spread_bps``. The measure lives in
  :mod:`features.obligations`, which also gives the day's obligation figures, so that
  the detector and every report of the figures use the one definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.data import GROUP_ROLES, SymbolDay
from features.obligations import non_compliant_spans, obligation_timeline
from features.windows import segments_from_gaps
from surveillance.contract import Origin

__all__ = [
    "liquidation_clusters",
    "liquidation_conduct",
    "non_compliant_spans",
    "obligation_timeline",
    "same_group_trades",
]


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


#: Columns of :func:`liquidation_conduct`.
CONDUCT_COLUMNS = [
    "account_id",
    "cluster",
    "start",
    "end",
    "sign",
    "liquidation_qty",
    "took_qty",
    "positioned_qty",
    "positioned_share",
    "order_qty",
    "size_ratio",
    "usual_size_share",
    "push_qty",
    "push_share",
    "market_push_qty",
    "first_entry",
    "last_fill",
    "avg_price",
    "markout_bps",
    "score",
    "order_ids",
    "trade_ids",
]


def liquidation_conduct(
    data: SymbolDay,
    clusters: pd.DataFrame,
    accounts: list[str],
    pre_ns: int,
    markout_ns: int,
    size_tolerance: float = 0.0025,
) -> pd.DataFrame:
    """How each account stood to each liquidation cluster: positioned, pushed, absorbed.

    One row per (account, cluster) where the account took part of the cluster's
    liquidation fills as maker. Liquidation hunting is a conjunction, and each part is
    measured on its own so that an analyst can see which held:

    * *positioned*: the liquidation volume the account absorbed with orders it entered
      within ``pre_ns`` before the cluster's first liquidation order (resting in wait,
      not an old ladder order nor a requote during the cascade), as a share of the
      cluster's liquidation volume (``positioned_share``); ``size_ratio`` compares the
      best such order's entered quantity with the cluster's liquidation quantity
      (1 when sized to the cluster, as someone who knew the positions would);
    * *pushed*: the account's own aggressive (taker) volume in the liquidations'
      direction while those orders rested, from the first one's entry to the last
      liquidation fill (``push_qty``), and its share of all non-liquidation aggressive
      volume in that direction over the same interval (``push_share``: 1 when the
      account alone moved the price towards its waiting order);
    * *profit*: the positioned fills' average price against the public price
      ``markout_ns`` after the cluster, in bps, positive when favourable.

    ``score = positioned_share × size_ratio × push_share`` is 1 for an account that
    alone pushed the price into a cluster it had waited for with an order of the
    cluster's size, and absorbed all of it.
    """
    tv = data.trade_view
    if clusters.empty or tv.empty:
        return pd.DataFrame(columns=CONDUCT_COLUMNS)
    summary = data.order_summary.set_index("order_id")
    liq = tv[tv["taker_origin"] == Origin.LIQUIDATION.value]
    cluster_of = {
        oid: int(c)
        for c, oids in zip(clusters["cluster"], clusters["order_ids"], strict=True)
        for oid in oids
    }
    liq = liq.assign(cluster=liq["taker_order"].map(cluster_of))
    liq = liq[liq["cluster"].notna()].astype({"cluster": np.int64})
    took = liq[liq["maker_account"].isin(accounts)]
    if took.empty:
        return pd.DataFrame(columns=CONDUCT_COLUMNS)
    info = clusters.set_index("cluster")
    # a maker order the journal does not show entering counts as never positioned
    born = took["maker_order"].map(summary["t"]).fillna(np.iinfo(np.int64).min)
    took = took.assign(
        born=born.to_numpy(dtype=np.int64),
        entered_qty=took["maker_order"].map(summary["quantity"]).to_numpy(dtype=float),
    )
    liq_qty = liq.groupby("cluster")["qty"].sum()
    # aggressive volume other than the liquidations themselves, by direction
    push = tv[tv["taker_origin"] != Origin.LIQUIDATION.value]
    push_t = push["t"].to_numpy()
    push_q = push["qty"].to_numpy(dtype=float)
    push_s = push["taker_sign"].to_numpy()
    push_acc = push["taker_account"].to_numpy()
    times, mids = data.mid_series
    entered_by_account = {
        a: np.sort(g.to_numpy(dtype=float))
        for a, g in summary.loc[summary["account_id"].isin(accounts), "quantity"].groupby(
            summary.loc[summary["account_id"].isin(accounts), "account_id"]
        )
    }
    rows = []
    for key, fills in took.groupby(["maker_account", "cluster"], sort=True):
        account, cluster = str(key[0]), int(key[1])  # type: ignore[call-overload]
        c = info.loc[cluster]
        start, sign = int(c["start"]), int(c["sign"])
        total = float(liq_qty.get(cluster, 0.0))
        positioned = fills[(fills["born"] >= start - pre_ns) & (fills["born"] < start)]
        row: dict[str, object] = {
            "account_id": account,
            "cluster": int(cluster),
            "start": start,
            "end": int(c["end"]),
            "sign": sign,
            "liquidation_qty": total,
            "took_qty": float(fills["qty"].sum()),
            "positioned_qty": float(positioned["qty"].sum()),
        }
        if positioned.empty or total <= 0:
            rows.append(row | _empty_conduct())
            continue
        entered = positioned["entered_qty"].to_numpy(dtype=float)
        ratio = np.minimum(entered, total) / np.maximum(entered, total)
        best = float(entered[int(np.argmax(ratio))])
        sizes = entered_by_account.get(account, np.zeros(0))
        lo_q, hi_q = np.searchsorted(
            sizes, [best * (1 - size_tolerance), best * (1 + size_tolerance)]
        )
        usual = float(hi_q - lo_q) / len(sizes) if len(sizes) else 0.0
        first, last = int(positioned["born"].min()), int(positioned["t"].max())
        lo, hi = np.searchsorted(push_t, [first, last + 1])
        in_dir = push_s[lo:hi] == sign
        market = float(push_q[lo:hi][in_dir].sum())
        own = float(push_q[lo:hi][in_dir & (push_acc[lo:hi] == account)].sum())
        avg = float(np.average(positioned["price"], weights=positioned["qty"]))
        k = np.searchsorted(times, int(c["end"]) + markout_ns, side="right") - 1
        later = float(mids[k]) if k >= 0 and len(mids) else np.nan
        share = float(positioned["qty"].sum()) / total
        push_share = own / market if market > 0 else 0.0
        row |= {
            "positioned_share": share,
            "order_qty": best,
            "size_ratio": float(ratio.max()),
            "usual_size_share": usual,
            "push_qty": own,
            "push_share": push_share,
            "market_push_qty": market,
            "first_entry": first,
            "last_fill": last,
            "avg_price": avg,
            "markout_bps": -sign * (later - avg) / avg * 1e4 if np.isfinite(later) else np.nan,
            "score": share * float(ratio.max()) * push_share,
            "order_ids": sorted(set(positioned["maker_order"]) | set(positioned["taker_order"])),
            "trade_ids": list(positioned["trade_id"]),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=CONDUCT_COLUMNS)


def _empty_conduct() -> dict[str, object]:
    return {
        "positioned_share": 0.0,
        "order_qty": np.nan,
        "size_ratio": 0.0,
        "usual_size_share": np.nan,
        "push_qty": 0.0,
        "push_share": 0.0,
        "market_push_qty": 0.0,
        "first_entry": np.nan,
        "last_fill": np.nan,
        "avg_price": np.nan,
        "markout_bps": np.nan,
        "score": 0.0,
        "order_ids": [],
        "trade_ids": [],
    }
