"""Features of preferential treatment: queue jumps, sequencing inversions, off-market prints.

* **Queue jumps** (``PT_PRIORITY_BREACH``): the book's queue evidence for every maker
  fill (``surveillance.book.schema.Queue``) lists the orders that were resting ahead
  of the filled order at its price and side. For an AMM fill, each such order of
  another account is a jump over an earlier order, unless self-trade prevention
  explains it (the jumped order belongs to the taker's own entity).
* **Sequencing inversions** (``PT_SEQUENCING_ADVANTAGE``): pairs of an AMM
  instruction and a client instruction where the gateway received the client's
  first but the engine applied the AMM's first, and the AMM gained (its cancel or
  worsening replace of a quote the client's order would have hit, or its taker
  order ahead of the client's on the same side). Natural latency jitter inverts
  pairs in clean data too; what an engine favouring its affiliate shows is an AMM
  instruction applied faster than the day's gateway-to-engine latencies allow, so
  each inversion carries the share of the day's instructions that were as fast.
* **Off-market prints** (``PT_OFF_MARKET_EXECUTION``): AMM-client fills at a price
  worse for the client than the best the book offered on the client's side just
  before the fill, or outside a band around the external reference price whose
  width is judged against the day's own deviations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.book import asof_top
from features.data import SymbolDay
from surveillance.book.schema import Queue
from surveillance.contract import EventType, ReferencePrices, Role

# ---------------------------------------------------------------- queue jumps


def queue_jumps(data: SymbolDay, victim_roles: frozenset[str]) -> pd.DataFrame:
    """AMM maker fills that executed while earlier orders of others rested ahead.

    One row per AMM maker fill with at least one jumped order: the fill, its order,
    the jumped orders (ids, accounts, quantities, when they joined) and
    ``jumped_qty``. Jumped orders of the taker's own entity are ignored (self-trade
    prevention may skip them), as are orders of roles outside ``victim_roles``.
    """
    cols = [
        "seq",
        "t",
        "trade_id",
        "order_id",
        "account_id",
        "side",
        "price",
        "fill_qty",
        "joined_seq",
        "queue_position",
        "jumped_order_ids",
        "jumped_accounts",
        "jumped_qty",
        "jumped_joined_seqs",
        "taker_account",
    ]
    q = data.queue
    if q is None or q.empty:
        return pd.DataFrame(columns=cols)
    amm = q[q[Queue.is_amm].astype(bool) & (q[Queue.queue_position] > 0)]
    if amm.empty:
        return pd.DataFrame(columns=cols)
    tv = data.trade_view.set_index("trade_id")
    taker = amm[Queue.trade_id].map(tv["taker_account"]).fillna("")
    rows = []
    for rec, taker_acc in zip(amm.to_dict("records"), taker, strict=True):
        taker_entity = data.entity_of.get(str(taker_acc), "")
        ids, accs, qtys, seqs = [], [], [], []
        for oid, acc, qty, jseq in zip(
            rec[Queue.ahead_order_ids],
            rec[Queue.ahead_account_ids],
            rec[Queue.ahead_quantities],
            rec[Queue.ahead_joined_seqs],
            strict=True,
        ):
            if data.role_of.get(acc) not in victim_roles:
                continue
            if taker_entity and data.entity_of.get(acc) == taker_entity:
                continue
            if int(jseq) >= int(rec[Queue.joined_seq]):
                continue
            ids.append(str(oid))
            accs.append(str(acc))
            qtys.append(float(qty))
            seqs.append(int(jseq))
        if not ids:
            continue
        rows.append(
            {
                "seq": int(rec[Queue.seq]),
                "t": int(pd.Timestamp(rec[Queue.event_time]).value),
                "trade_id": rec[Queue.trade_id],
                "order_id": rec[Queue.order_id],
                "account_id": rec[Queue.account_id],
                "side": rec[Queue.side],
                "price": float(rec[Queue.price]),
                "fill_qty": float(rec[Queue.fill_quantity] or 0.0),
                "joined_seq": int(rec[Queue.joined_seq]),
                "queue_position": int(rec[Queue.queue_position]),
                "jumped_order_ids": ids,
                "jumped_accounts": accs,
                "jumped_qty": float(sum(qtys)),
                "jumped_joined_seqs": seqs,
                "taker_account": str(taker_acc),
            }
        )
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------- sequencing inversions


def latencies(data: SymbolDay) -> np.ndarray:
    """Gateway-to-engine latencies (ns) of every instruction of the day, sorted."""
    ev = data.events
    gw = ev["gw"].to_numpy()
    ok = gw > np.iinfo(np.int64).min
    lat = (ev["t"].to_numpy()[ok] - gw[ok]).astype(float)
    return np.sort(lat[lat >= 0])


def fast_tail(sorted_latencies: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """P(L <= observed) under the day's latencies, as (count + 1) / (n + 1).

    The +1 keeps the estimate honest at the edge of the sample: an instruction
    faster than every other of the day gets 1 / (n + 1), not 0.
    """
    n = len(sorted_latencies)
    counts = np.searchsorted(sorted_latencies, observed, side="right")
    return (counts + 1.0) / (n + 1.0)


def sequencing_inversions(data: SymbolDay, horizon: int = 64) -> pd.DataFrame:
    """AMM instructions applied before earlier-received client instructions, with benefit.

    For each AMM instruction (NEW, REPLACE, CANCEL with a gateway time), looks at the
    next ``horizon`` client instructions in engine order and keeps those received at
    the gateway earlier. ``benefit`` says how the AMM gained:

    ``dodge``
        the AMM's CANCEL, or REPLACE to a worse price or a smaller size, removed a
        quote that the client's NEW order (opposite side, marketable at the quote's
        price) would have hit;
    ``ahead``
        the AMM's NEW order took liquidity (it has TAKER fills) on the same side as
        the client's NEW order, which was also marketable.

    ``gap`` is how much earlier the client's instruction reached the gateway (ns);
    ``margin`` is the latency difference the inversion needed
    (``latency_client - latency_amm``).
    """
    ev = data.events
    cols = [
        "amm_seq",
        "amm_t",
        "amm_gw",
        "amm_account",
        "amm_order",
        "amm_event",
        "client_seq",
        "client_t",
        "client_gw",
        "client_account",
        "client_order",
        "gap",
        "margin",
        "benefit",
        "amm_price",
        "client_price",
    ]
    gw_ok = ev["gw"].to_numpy() > np.iinfo(np.int64).min
    gateway = ev[
        gw_ok
        & ev["event_type"]
        .isin([e.value for e in (EventType.NEW, EventType.REPLACE, EventType.CANCEL)])
        .to_numpy()
    ]
    if gateway.empty:
        return pd.DataFrame(columns=cols)
    prev_price = ev.groupby("order_id", sort=False)["price"].shift(1)
    prev_qty = ev.groupby("order_id", sort=False)["leaves"].shift(1)
    gateway = gateway.assign(
        prev_price=prev_price[gateway.index].to_numpy(),
        prev_leaves=prev_qty[gateway.index].to_numpy(),
    )
    summary = data.order_summary.set_index("order_id")
    amm = gateway[gateway["role"] == Role.AFFILIATED_MM.value]
    client = gateway[
        (gateway["role"] == Role.CLIENT.value) & (gateway["event_type"] == EventType.NEW.value)
    ]
    if amm.empty or client.empty:
        return pd.DataFrame(columns=cols)
    c_seq = client["seq"].to_numpy()
    c_gw = client["gw"].to_numpy()
    start = np.searchsorted(c_seq, amm["seq"].to_numpy(), side="right")
    k = np.arange(horizon)
    idx = start[:, None] + k[None, :]
    valid = idx < len(c_seq)
    idx = np.minimum(idx, len(c_seq) - 1)
    inverted = valid & (c_gw[idx] < amm["gw"].to_numpy()[:, None])
    ai, ki = np.nonzero(inverted)
    if len(ai) == 0:
        return pd.DataFrame(columns=cols)
    a = amm.iloc[ai].reset_index(drop=True)
    c = client.iloc[idx[ai, ki]].reset_index(drop=True)
    a_sign = a["sign"].to_numpy()
    c_sign = c["sign"].to_numpy()
    c_market = c["order_type"].to_numpy() == "MARKET"
    c_price = c["price"].to_numpy()
    # the AMM quote's price before its instruction
    a_before = np.where(
        a["event_type"].to_numpy() == EventType.NEW.value, a["price"], a["prev_price"]
    ).astype(float)
    a_after = a["price"].to_numpy(dtype=float)
    crosses = c_market | np.where(
        c_sign > 0, c_price >= a_before - 1e-12, c_price <= a_before + 1e-12
    )
    event = a["event_type"].to_numpy()
    worse = np.where(a_sign > 0, a_after < a_before - 1e-12, a_after > a_before + 1e-12)
    smaller = a["leaves"].to_numpy() < a["prev_leaves"].to_numpy() - 1e-12
    pulls = (event == EventType.CANCEL.value) | (
        (event == EventType.REPLACE.value) & (worse | smaller)
    )
    dodge = pulls & (a_sign != c_sign) & crosses
    a_taker = a["order_id"].map(summary["taker_qty"]).fillna(0.0).to_numpy() > 0
    c_marketable = c["order_id"].map(summary["taker_qty"]).fillna(0.0).to_numpy() > 0
    ahead = (
        (event == EventType.NEW.value) & a_taker & (a_sign == c_sign) & (c_marketable | c_market)
    )
    keep = dodge | ahead
    out = pd.DataFrame(
        {
            "amm_seq": a["seq"],
            "amm_t": a["t"],
            "amm_gw": a["gw"],
            "amm_account": a["account_id"],
            "amm_order": a["order_id"],
            "amm_event": a["event_type"],
            "client_seq": c["seq"],
            "client_t": c["t"],
            "client_gw": c["gw"],
            "client_account": c["account_id"],
            "client_order": c["order_id"],
            "gap": a["gw"] - c["gw"],
            "margin": (c["t"] - c["gw"]) - (a["t"] - a["gw"]),
            "benefit": np.where(dodge, "dodge", "ahead"),
            "amm_price": a_before,
            "client_price": c_price,
        }
    )
    return out[keep].reset_index(drop=True)


# ------------------------------------------------------------ off-market prints


def amm_client_fills(data: SymbolDay) -> pd.DataFrame:
    """Trades between an AMM account and a client, with the client's side and role."""
    tv = data.trade_view
    amm_buy = tv["buy_role"] == Role.AFFILIATED_MM.value
    amm_sell = tv["sell_role"] == Role.AFFILIATED_MM.value
    client_buy = tv["buy_role"] == Role.CLIENT.value
    client_sell = tv["sell_role"] == Role.CLIENT.value
    keep = (amm_buy & client_sell) | (amm_sell & client_buy)
    out = tv[keep].copy()
    out["client_sign"] = np.where(client_buy[keep], 1, -1)
    out["amm_account"] = np.where(amm_buy[keep], out["buy_account"], out["sell_account"])
    out["client_account"] = np.where(client_buy[keep], out["buy_account"], out["sell_account"])
    out["client_is_taker"] = out["taker_account"] == out["client_account"]
    return out.reset_index(drop=True)


def fill_seqs(data: SymbolDay, trade_ids: pd.Series) -> np.ndarray:
    """The seq of the first FILL row of each trade (the book is read just before it)."""
    ev = data.events
    fills = ev[ev["event_type"] == EventType.FILL.value]
    first = fills.groupby("trade_id", sort=False)["seq"].min()
    return trade_ids.map(first).fillna(-1).to_numpy(dtype=np.int64)


def off_market_features(data: SymbolDay) -> pd.DataFrame:
    """AMM-client fills against the book just before them and the reference price.

    ``book_worse_bps``: how much worse for the client the price was than the best on
    the client's side (best ask for a client buy, best bid for a sell), in bps of mid,
    positive when worse. ``ref_dev_bps``: the signed deviation from the reference
    price, positive when worse for the client. ``maker_taker`` fills of a sweep are
    judged against the book just before each fill, so walking the book is not
    off-market.
    """
    fills = amm_client_fills(data)
    if fills.empty:
        return fills.assign(book_worse_bps=[], ref_dev_bps=[], mid=[], best_client_side=[])
    seqs = fill_seqs(data, fills["trade_id"])
    top = asof_top(data, seqs)
    sign = fills["client_sign"].to_numpy()
    taker = fills["client_is_taker"].to_numpy(dtype=bool)
    # A client taker could have had the best opposite price resting just before the
    # fill; a client maker is owed its own limit price (the maker's price is the trade's).
    best_opposite = np.where(
        sign > 0, top["ask"].to_numpy(dtype=float), top["bid"].to_numpy(dtype=float)
    )
    ev = data.events
    limit_by_trade_order = ev[ev["event_type"] == EventType.FILL.value].set_index(
        ["trade_id", "order_id"]
    )["price"]
    client_order = np.where(sign > 0, fills["buy_order"], fills["sell_order"])
    limit = (
        pd.Series(list(zip(fills["trade_id"], client_order, strict=True)))
        .map(limit_by_trade_order.to_dict())
        .to_numpy(dtype=float)
    )
    best = np.where(taker, best_opposite, limit)
    mid = top["mid"].to_numpy(dtype=float)
    price = fills["price"].to_numpy()
    half_tick = 0.5 * data.tick_size
    with np.errstate(invalid="ignore"):
        worse = sign * (price - best)
        worse = np.where(worse > half_tick, worse, 0.0)
        book_worse_bps = worse / np.where(np.isfinite(mid), mid, price) * 1e4
    ref = reference_at(data, fills["t"].to_numpy())
    with np.errstate(invalid="ignore"):
        ref_dev_bps = sign * (price - ref) / ref * 1e4
    return fills.assign(
        fill_seq=seqs,
        mid=mid,
        best_client_side=best,
        book_worse_bps=np.nan_to_num(book_worse_bps),
        reference=ref,
        ref_dev_bps=ref_dev_bps,
    )


def reference_at(data: SymbolDay, times: np.ndarray) -> np.ndarray:
    """The external reference price in force at each time (NaN before the first)."""
    refs = data.reference_prices
    if refs is None or refs.empty:
        return np.full(len(times), np.nan)
    from features.data import to_ns

    order = np.argsort(to_ns(refs[ReferencePrices.event_time]), kind="stable")
    t = to_ns(refs[ReferencePrices.event_time])[order]
    p = refs[ReferencePrices.price].to_numpy(dtype=float)[order]
    idx = np.searchsorted(t, times, side="right") - 1
    return np.where(idx >= 0, p[np.clip(idx, 0, None)], np.nan)


def all_reference_deviations(data: SymbolDay) -> np.ndarray:
    """|trade price - reference| in bps for every trade of the day (the baseline)."""
    tv = data.trade_view
    ref = reference_at(data, tv["t"].to_numpy())
    with np.errstate(invalid="ignore"):
        dev = np.abs(tv["price"].to_numpy() - ref) / ref * 1e4
    return dev[np.isfinite(dev)]
