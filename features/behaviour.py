"""Behaviour vectors: how each market maker behaves, per time bucket and per day.

The anomaly models (``models.anomaly``) do not look for a described conduct; they
compare a market maker's *behaviour* with its own history, with the time of day and
with its peers. This module turns one (day, symbol) into that behaviour: one row per
(entity, symbol, bucket) of ``bucket_s`` seconds (default 5 minutes) and one row per
(entity, symbol, day), for every market-making entity (the affiliated market maker,
all its ``AFFILIATED_MM`` accounts together as one entity, and each external market
maker), with the features of :data:`FEATURES`.

Every feature is scale-free (a ratio, a share, basis points or a logarithm), so that
one model serves symbols whose prices and sizes differ by orders of magnitude. A
feature with nothing to measure in a bucket (no trades, no cancels) is NaN rather
than a made-up zero; the models treat NaN as "at the baseline".

Quotes are sampled on a one-second grid (the entity's own best bid and ask from
:func:`features.book.own_quotes`, the market's from the book stage's ``top``): a
bucket's quote features are means over its seconds, which is the time-weighted mean
to within a second and keeps the computation a few array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.book import own_quotes, top_frame
from features.data import NS, SymbolDay
from features.front_running import (
    amm_net_flow,
    client_large_orders,
    flow_buckets,
    lead_statistic,
    sent_to_take,
)
from features.windows import window_sum
from surveillance.contract import EventType, Role
from surveillance.days import day_bounds

#: Grid step of the quote sampling (seconds).
GRID_S = 1


@dataclass(frozen=True)
class Feature:
    """One behaviour feature: its name, what it measures, and which way is suspicious.

    ``direction`` is +1 when a high value is what a market maker exploiting clients
    would show (a wide spread, a high markout against clients), -1 when a low value
    is (a short quote presence), 0 when both ways matter. ``typology`` is the
    typology the feature points to when it drives an alert (``None``: only a family).

    Two settings change how the day's drift statistic reads the feature (the
    models' per-bucket scores do not change): ``standardised`` marks a value that is
    already a z-score against the same day's own placebo (its null is 0 whatever the
    day), which the drift averages as it is; ``drift_clip`` (robust z units, ``None``:
    the models' default) widens the clip of each bucket's z for a feature measured
    against its own day, whose sustained shifts are the point rather than outliers.
    """

    name: str
    description: str
    direction: int
    family: str
    typology: str | None
    standardised: bool = False
    drift_clip: float | None = None


#: Every behaviour feature, in column order.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "new_orders_log",
        "log(1 + orders entered in the bucket): quoting activity",
        0,
        "SPREAD_MANIPULATION",
        None,
    ),
    Feature(
        "cancel_ratio",
        "cancels per order entered (capped at 5)",
        1,
        "SPREAD_MANIPULATION",
        "SM_QUOTE_FADE",
    ),
    Feature(
        "order_to_trade_log",
        "log((instructions + 1) / (fills + 1)): order-to-trade ratio",
        1,
        "SPREAD_MANIPULATION",
        "SM_SPOOFING",
    ),
    Feature(
        "cancel_latency_p10_log_ms",
        "log10 of the 10th percentile life (ms) of the orders it cancelled in the bucket",
        -1,
        "SPREAD_MANIPULATION",
        "SM_QUOTE_FADE",
    ),
    Feature(
        "cancel_latency_p50_log_ms",
        "log10 of the median life (ms) of the orders it cancelled in the bucket",
        -1,
        "SPREAD_MANIPULATION",
        "SM_QUOTE_FADE",
    ),
    Feature(
        "presence",
        "share of the bucket's seconds with its own quote on both sides",
        -1,
        "MARKET_INTEGRITY",
        "MI_OBLIGATION_BREACH",
    ),
    Feature(
        "spread_bps",
        "its own quoted spread (best ask - best bid) in bps of its mid, mean over seconds",
        1,
        "SPREAD_MANIPULATION",
        "SM_SPREAD_WIDENING",
    ),
    Feature(
        "spread_vs_market",
        "its own mean quoted spread over the market's mean spread while it quoted",
        1,
        "SPREAD_MANIPULATION",
        "SM_SPREAD_WIDENING",
    ),
    Feature(
        "spread_vs_day",
        "its quoted spread over its own median spread of the day, as the median over the "
        "two hours around the bucket: a sustained change of its spread within the day "
        "(a burst shorter than an hour does not move it)",
        1,
        "SPREAD_MANIPULATION",
        "SM_SPREAD_WIDENING",
        drift_clip=12.0,
    ),
    Feature(
        "at_touch",
        "share of seconds its bid (ask) is the market's best bid (ask), both sides averaged",
        -1,
        "SPREAD_MANIPULATION",
        "SM_SPREAD_WIDENING",
    ),
    Feature(
        "size_share",
        "its quantity at the market's best price as a share of the level, both sides averaged",
        -1,
        "SPREAD_MANIPULATION",
        None,
    ),
    Feature(
        "volume_share",
        "its traded quantity as a share of the symbol's traded quantity",
        0,
        "FRONT_RUNNING",
        None,
    ),
    Feature(
        "taker_share",
        "share of its traded quantity it took as aggressor",
        1,
        "FRONT_RUNNING",
        "FR_TRADING_AHEAD",
    ),
    Feature(
        "client_share",
        "share of its traded quantity whose counterparty is a client",
        0,
        "FRONT_RUNNING",
        None,
    ),
    Feature(
        "inventory_swing",
        "range of its running position within the bucket over its traded quantity",
        1,
        "FRONT_RUNNING",
        "FR_TRADING_AHEAD",
    ),
    Feature(
        "markout_1s_bps",
        "its gain on trades with clients 1 s later, bps, quantity-weighted",
        1,
        "FRONT_RUNNING",
        None,
    ),
    Feature(
        "markout_10s_bps",
        "its gain on trades with clients 10 s later, bps, quantity-weighted",
        1,
        "FRONT_RUNNING",
        None,
    ),
    Feature(
        "markout_60s_bps",
        "its gain on trades with clients 60 s later, bps, quantity-weighted",
        1,
        "FRONT_RUNNING",
        None,
    ),
    Feature(
        "taker_markout_60s_bps",
        "its gain 60 s later on the trades it took as aggressor, bps, quantity-weighted",
        1,
        "FRONT_RUNNING",
        "FR_TRADING_AHEAD",
    ),
    Feature(
        "ahead_of_large_share",
        "share of its aggressive quantity traded in the direction of a large client order "
        "arriving within the next 30 s",
        1,
        "FRONT_RUNNING",
        "FR_TRADING_AHEAD",
    ),
    Feature(
        "parent_lead_z",
        "its quantity sent to take liquidity now (IOC, FOK, market) in the direction of a "
        "large client parent order in the 10 s to 5 min before the parent's first order, "
        "and the other way in the 10 s to 5 min after its last, as a z-score against the "
        "same parents moved to other times of the day; mean over the parents starting in "
        "the bucket",
        1,
        "FRONT_RUNNING",
        "FR_TRADING_AHEAD",
        standardised=True,
    ),
    Feature(
        "flow_lead",
        "its aggressive trades' alignment with clients' net flow in the next 30 s minus the "
        "previous 30 s (-1 to 1): leading client flow rather than following it",
        1,
        "FRONT_RUNNING",
        "FR_FLOW_ANTICIPATION",
    ),
    Feature(
        "quote_response",
        "share of client marketable orders after whose gateway arrival it sent an "
        "instruction within 50 ms: its quotes reacting to client order arrivals",
        1,
        "SPREAD_MANIPULATION",
        "SM_QUOTE_FADE",
    ),
    Feature(
        "latency_p10_ms",
        "10th percentile of its gateway-to-engine latency (ms)",
        -1,
        "PREFERENTIAL_TREATMENT",
        "PT_SEQUENCING_ADVANTAGE",
    ),
    Feature(
        "queue_jump_rate",
        "share of its maker fills executed while other orders rested ahead at the level",
        1,
        "PREFERENTIAL_TREATMENT",
        "PT_PRIORITY_BREACH",
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

#: Day-level features added to the day vectors (beside the day means of FEATURES).
DAY_FEATURES: tuple[str, ...] = ("lead_t", "active_buckets")

#: Key columns of the vectors.
BUCKET_KEYS = ("entity_id", "role", "symbol", "date", "bucket", "bucket_start")
DAY_KEYS = ("entity_id", "role", "symbol", "date")

_MARKOUT_HORIZONS = (("markout_1s_bps", 1), ("markout_10s_bps", 10), ("markout_60s_bps", 60))
_LEAD_WINDOW_NS = 30 * NS
_AHEAD_WINDOW_NS = 30 * NS
_RESPONSE_NS = 50_000_000
#: Large client parents: at or above this quantile of the day's client parents by size.
_PARENT_QUANTILE = 0.99
_PARENT_GAP_NS = 60 * NS
#: Horizons (s) of the windows before a parent's first order and after its last.
_PARENT_HORIZONS_S = (10, 30, 60, 120, 300)
#: Placebo shifts of the parents around the day.
_PARENT_PLACEBOS = 100
#: Width (buckets) of the centred window of the sustained spread, and the least
#: number of measured buckets in it.
_SUSTAINED_BUCKETS = 25
_SUSTAINED_MIN = 6
_INSTRUCTIONS = (EventType.NEW.value, EventType.REPLACE.value, EventType.CANCEL.value)


def market_makers(data: SymbolDay) -> dict[str, tuple[str, list[str]]]:
    """Market-making entities of the day: entity_id -> (role, its accounts).

    The affiliated market maker is one entity whatever the number of its accounts;
    each external market maker is its own entity.
    """
    out: dict[str, tuple[str, list[str]]] = {}
    for role in (Role.AFFILIATED_MM, Role.EXTERNAL_MM):
        for account in data.accounts_with_role(role):
            entity = data.entity_of.get(account, account)
            out.setdefault(entity, (role.value, []))[1].append(account)
    return out


def _bucket_index(times: np.ndarray, day_start: int, bucket_ns: int, n: int) -> np.ndarray:
    return np.clip((times - day_start) // bucket_ns, 0, n - 1).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bucket_mean(values: np.ndarray, per_bucket: int) -> np.ndarray:
    """Mean of finite grid values per bucket (NaN for a bucket with none)."""
    grid = values.reshape(-1, per_bucket)
    finite = np.isfinite(grid)
    count = finite.sum(axis=1)
    total = np.where(finite, grid, 0.0).sum(axis=1)
    return _ratio(total, count.astype(float))


def _weighted(idx: np.ndarray, values: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    ok = np.isfinite(values) & (weights > 0)
    num = np.bincount(idx[ok], values[ok] * weights[ok], minlength=n)
    den = np.bincount(idx[ok], weights[ok], minlength=n)
    return _ratio(num, den)


def _bucket_quantile(idx: np.ndarray, values: np.ndarray, q: float, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(values):
        frame = pd.DataFrame({"b": idx, "v": values})
        quant = frame.groupby("b")["v"].quantile(q)
        out[quant.index.to_numpy(dtype=np.int64)] = quant.to_numpy()
    return out


class _Market:
    """What every entity's features share for one (day, symbol): computed once."""

    def __init__(self, data: SymbolDay, bucket_ns: int) -> None:
        start, _ = day_bounds(data.day)
        self.day_start = int(start.value)
        self.bucket_ns = bucket_ns
        self.n = int(np.ceil(86_400 * NS / bucket_ns))
        self.grid = self.day_start + np.arange(0, self.n * bucket_ns, GRID_S * NS, dtype=np.int64)
        self.per_bucket = bucket_ns // (GRID_S * NS)
        top = top_frame(data)
        if len(top):
            t = top["t"].to_numpy()
            k = np.searchsorted(t, self.grid, side="right") - 1
            ok = k >= 0
            kk = np.clip(k, 0, None)
            self.bid = np.where(ok, top["bid"].to_numpy()[kk], np.nan)
            self.ask = np.where(ok, top["ask"].to_numpy()[kk], np.nan)
            self.bid_qty = np.where(ok, top["bid_qty"].to_numpy()[kk], np.nan)
            self.ask_qty = np.where(ok, top["ask_qty"].to_numpy()[kk], np.nan)
        else:
            self.bid = self.ask = self.bid_qty = self.ask_qty = np.full(len(self.grid), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            mid = (self.bid + self.ask) / 2
            self.spread_bps = (self.ask - self.bid) / mid * 1e4
        tv = data.trade_view
        self.trade_t = tv["t"].to_numpy()
        self.volume = np.bincount(
            _bucket_index(self.trade_t, self.day_start, bucket_ns, self.n),
            tv["qty"].to_numpy(dtype=float),
            minlength=self.n,
        )
        # Clients' signed taker flow, cumulated, for lead-lag windows.
        client = (tv["taker_role"] == Role.CLIENT.value).to_numpy()
        self.client_t = self.trade_t[client]
        signed = (tv["taker_sign"] * tv["qty"]).to_numpy(dtype=float)[client]
        self.client_cum = np.concatenate([[0.0], np.cumsum(signed)])
        scale_w = self.day_start + np.arange(0, 86_400 * NS, _LEAD_WINDOW_NS, dtype=np.int64)
        flows = self.client_flow(scale_w, scale_w + _LEAD_WINDOW_NS)
        nz = np.abs(flows[flows != 0])
        self.flow_scale = float(np.median(nz)) if len(nz) else 1.0
        # Large client orders (slices of large parents) and client marketable arrivals.
        large, _ = client_large_orders(data, 0.9, 60 * NS)
        self.large_arrival = large["arrival"].to_numpy(dtype=np.int64) if len(large) else None
        self.large_sign = large["sign"].to_numpy(dtype=float) if len(large) else None
        parents, _ = client_large_orders(data, _PARENT_QUANTILE, _PARENT_GAP_NS)
        if len(parents):
            g = parents.groupby("parent")
            self.parent_t0 = g["arrival"].min().to_numpy(dtype=np.int64)
            self.parent_t1 = g["arrival"].max().to_numpy(dtype=np.int64)
            self.parent_sign = g["sign"].first().to_numpy(dtype=float)
        else:
            self.parent_t0 = self.parent_t1 = np.zeros(0, dtype=np.int64)
            self.parent_sign = np.zeros(0)
        summary = data.order_summary
        takers = summary[(summary["role"] == Role.CLIENT.value) & (summary["taker_qty"] > 0)]
        arrival = np.where(
            takers["gw"].to_numpy() > np.iinfo(np.int64).min,
            takers["gw"].to_numpy(),
            takers["t"].to_numpy(),
        )
        self.client_arrivals = np.sort(arrival.astype(np.int64))
        queue = data.queue
        self.queue = queue if queue is not None else pd.DataFrame()

    def client_flow(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        lo = np.searchsorted(self.client_t, starts, side="right")
        hi = np.searchsorted(self.client_t, ends, side="right")
        return self.client_cum[hi] - self.client_cum[lo]

    def bucket(self, times: np.ndarray) -> np.ndarray:
        return _bucket_index(times, self.day_start, self.bucket_ns, self.n)


def _entity_features(
    data: SymbolDay, market: _Market, accounts: list[str]
) -> dict[str, np.ndarray]:
    n = market.n
    out: dict[str, np.ndarray] = {}
    ev = data.events
    mine = ev[ev["account_id"].isin(accounts)]
    etype = mine["event_type"].to_numpy()
    b = market.bucket(mine["t"].to_numpy())
    new = np.bincount(b[etype == EventType.NEW.value], minlength=n).astype(float)
    cancels = np.bincount(b[etype == EventType.CANCEL.value], minlength=n).astype(float)
    instr = np.bincount(b[np.isin(etype, _INSTRUCTIONS)], minlength=n).astype(float)
    fills = np.bincount(b[etype == EventType.FILL.value], minlength=n).astype(float)
    out["new_orders_log"] = np.log1p(new)
    out["cancel_ratio"] = np.clip(_ratio(cancels, new), 0.0, 5.0)
    out["order_to_trade_log"] = np.log((instr + 1.0) / (fills + 1.0))
    summary = data.order_summary
    own_orders = summary[summary["account_id"].isin(accounts)]
    cancelled = own_orders[own_orders["end_type"] == EventType.CANCEL.value]
    life_ms = (cancelled["end_t"] - cancelled["t"]).to_numpy(dtype=float) / 1e6
    life_log = np.log10(np.maximum(life_ms, 1e-3))
    cb = market.bucket(cancelled["end_t"].to_numpy())
    out["cancel_latency_p10_log_ms"] = _bucket_quantile(cb, life_log, 0.1, n)
    out["cancel_latency_p50_log_ms"] = _bucket_quantile(cb, life_log, 0.5, n)
    # Latency of its instructions, gateway to engine.
    gw = mine["gw"].to_numpy()
    has_gw = (gw > np.iinfo(np.int64).min) & np.isin(etype, _INSTRUCTIONS)
    lat_ms = (mine["t"].to_numpy()[has_gw] - gw[has_gw]) / 1e6
    out["latency_p10_ms"] = _bucket_quantile(b[has_gw], lat_ms, 0.1, n)
    # Quotes on the one-second grid.
    q = own_quotes(data, accounts)
    if len(q):
        k = np.searchsorted(q["t"].to_numpy(), market.grid, side="right") - 1
        ok = k >= 0
        kk = np.clip(k, 0, None)
        bid = np.where(ok, q["bid"].to_numpy()[kk], np.nan)
        ask = np.where(ok, q["ask"].to_numpy()[kk], np.nan)
        bid_qty = np.where(ok, q["bid_qty"].to_numpy()[kk], 0.0)
        ask_qty = np.where(ok, q["ask_qty"].to_numpy()[kk], 0.0)
    else:
        bid = ask = np.full(len(market.grid), np.nan)
        bid_qty = ask_qty = np.zeros(len(market.grid))
    two_sided = np.isfinite(bid) & np.isfinite(ask)
    per = market.per_bucket
    out["presence"] = two_sided.reshape(-1, per).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        own_spread = np.where(two_sided, (ask - bid) / ((ask + bid) / 2) * 1e4, np.nan)
    out["spread_bps"] = _bucket_mean(own_spread, per)
    # A ratio of means, not a mean of ratios: a client order inside the spread for a
    # second must not make the ratio explode.
    market_when_quoting = np.where(two_sided, market.spread_bps, np.nan)
    out["spread_vs_market"] = _ratio(out["spread_bps"], _bucket_mean(market_when_quoting, per))
    out["spread_vs_day"] = sustained_ratio(out["spread_bps"])
    mkt_ok = np.isfinite(market.bid) & np.isfinite(market.ask)
    at_bid = np.isfinite(bid) & (bid >= market.bid - 1e-12)
    at_ask = np.isfinite(ask) & (ask <= market.ask + 1e-12)
    touch = np.where(mkt_ok, (at_bid.astype(float) + at_ask.astype(float)) / 2, np.nan)
    out["at_touch"] = _bucket_mean(touch, per)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_b = np.where(at_bid, bid_qty / market.bid_qty, 0.0)
        share_a = np.where(at_ask, ask_qty / market.ask_qty, 0.0)
    size = np.where(mkt_ok, (np.clip(share_b, 0, 1) + np.clip(share_a, 0, 1)) / 2, np.nan)
    out["size_share"] = _bucket_mean(size, per)
    # Trades.
    flow = amm_net_flow(data, accounts)
    t = flow["t"].to_numpy()
    tb = market.bucket(t)
    signed = flow["signed"].to_numpy(dtype=float)
    qty = np.abs(signed)
    taker = flow["taker"].to_numpy(dtype=bool)
    gross = np.bincount(tb, qty, minlength=n)
    out["volume_share"] = _ratio(gross, market.volume)
    out["taker_share"] = _ratio(np.bincount(tb[taker], qty[taker], minlength=n), gross)
    with_client = (flow["counterparty_role"] == Role.CLIENT.value).to_numpy()
    out["client_share"] = _ratio(np.bincount(tb[with_client], qty[with_client], minlength=n), gross)
    out["inventory_swing"] = _inventory_swing(tb, signed, gross, n)
    price = flow["price"].to_numpy(dtype=float)
    sign = np.sign(signed)
    for name, horizon in _MARKOUT_HORIZONS:
        later = data.price_at(t + horizon * NS)
        gain = sign * (later / price - 1.0) * 1e4
        out[name] = _weighted(tb[with_client], gain[with_client], qty[with_client], n)
    later60 = data.price_at(t + 60 * NS)
    gain60 = sign * (later60 / price - 1.0) * 1e4
    out["taker_markout_60s_bps"] = _weighted(tb[taker], gain60[taker], qty[taker], n)
    # Ahead of large client orders: its aggressive quantity in their direction.
    ahead = np.zeros(len(t), dtype=bool)
    if market.large_arrival is not None and taker.any():
        for s in (1.0, -1.0):
            arr = market.large_arrival[market.large_sign == s]
            if len(arr) == 0:
                continue
            nxt = np.searchsorted(arr, t, side="right")
            has = nxt < len(arr)
            gap = np.where(has, arr[np.clip(nxt, 0, len(arr) - 1)] - t, np.iinfo(np.int64).max)
            ahead |= taker & (sign == s) & (gap <= _AHEAD_WINDOW_NS)
    taker_qty = np.bincount(tb[taker], qty[taker], minlength=n)
    out["ahead_of_large_share"] = _ratio(np.bincount(tb[ahead], qty[ahead], minlength=n), taker_qty)
    # Lead-lag: does its aggressive flow lead clients' flow rather than follow it?
    future = market.client_flow(t, t + _LEAD_WINDOW_NS)
    past = market.client_flow(t - _LEAD_WINDOW_NS, t)
    align = sign * (np.tanh(future / market.flow_scale) - np.tanh(past / market.flow_scale)) / 2
    out["flow_lead"] = _weighted(tb[taker], align[taker], qty[taker], n)
    # Ahead of large parents and back after them, against placebo times.
    immediate = taker & sent_to_take(data, flow["own_order"])
    z = parent_lead_z(
        t[immediate],
        signed[immediate],
        market.parent_t0,
        market.parent_t1,
        market.parent_sign,
        market.day_start,
    )
    pb = market.bucket(market.parent_t0)
    ok = np.isfinite(z)
    out["parent_lead_z"] = _ratio(
        np.bincount(pb[ok], z[ok], minlength=n), np.bincount(pb[ok], minlength=n).astype(float)
    )
    # Quote response to client arrivals: an instruction of its within 50 ms after one.
    own_gw = np.sort(gw[has_gw])
    arrivals = market.client_arrivals
    if len(arrivals):
        k = np.searchsorted(own_gw, arrivals, side="right")
        if len(own_gw):
            nxt_gw = own_gw[np.clip(k, 0, len(own_gw) - 1)]
            reacted = (k < len(own_gw)) & (nxt_gw - arrivals <= _RESPONSE_NS)
        else:
            reacted = np.zeros(len(arrivals), dtype=bool)
        ab = market.bucket(arrivals)
        out["quote_response"] = _ratio(
            np.bincount(ab[reacted], minlength=n).astype(float),
            np.bincount(ab, minlength=n).astype(float),
        )
    else:
        out["quote_response"] = np.full(n, np.nan)
    # Priority: its maker fills with other orders still resting ahead of them.
    qf = market.queue
    if len(qf):
        from surveillance.book.schema import Queue

        qm = qf[qf[Queue.account_id].isin(accounts)]
        qt = (
            pd.to_datetime(qm[Queue.event_time], utc=True)
            .astype("datetime64[ns, UTC]")
            .to_numpy(dtype="datetime64[ns]")
            .view(np.int64)
        )
        qb = market.bucket(qt)
        jumped = qm[Queue.queue_position].to_numpy() > 0
        out["queue_jump_rate"] = _ratio(
            np.bincount(qb[jumped], minlength=n).astype(float),
            np.bincount(qb, minlength=n).astype(float),
        )
    else:
        out["queue_jump_rate"] = np.full(n, np.nan)
    return out


def sustained_ratio(
    values: np.ndarray, width: int = _SUSTAINED_BUCKETS, min_count: int = _SUSTAINED_MIN
) -> np.ndarray:
    """Per bucket, the median of ``values`` over the ``width`` buckets centred on it,
    over the median of the day's ``values`` (NaN buckets left out).

    A change held for hours moves it by its full size; a burst shorter than half the
    window hardly moves it (a median, not a mean). NaN where the bucket itself, or
    its window (fewer than ``min_count`` measured buckets), has nothing to measure.
    """
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if len(finite) == 0:
        return np.full(len(v), np.nan)
    day = float(np.median(finite))
    local = pd.Series(v).rolling(width, center=True, min_periods=min_count).median().to_numpy()
    out = _ratio(local, np.full(len(v), day))
    return np.where(np.isfinite(v), out, np.nan)


def parent_lead_z(
    times: np.ndarray,
    signed: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    signs: np.ndarray,
    day_start: int,
    horizons_s: tuple[int, ...] = _PARENT_HORIZONS_S,
    placebos: int = _PARENT_PLACEBOS,
) -> np.ndarray:
    """Event study of an entity's aggressive flow around large client parent orders.

    ``times`` (sorted) and ``signed`` (+ bought) are its trades sent to take
    liquidity now; each parent runs from ``t0`` (its first order) to ``t1`` (its last)
    in the direction ``signs``. For each horizon ``h`` the entity's net quantity in the
    parent's direction over ``[t0 - h, t0)`` (ahead) and against it over
    ``(t1, t1 + h]`` (back) is divided by the spread of its net quantity over windows
    of ``h`` tiling the day; the sum over horizons is the parent's statistic. The
    same parents moved by ``placebos`` shifts spread evenly over the day (wrapping
    round it) give the statistic's distribution at times unrelated to the parents:
    the result is each parent's z against it. NaN when the entity has no such trades.
    """
    t0 = np.asarray(t0, dtype=np.int64)
    out = np.full(len(t0), np.nan)
    if len(times) == 0 or len(t0) == 0:
        return out
    day = 86_400 * NS
    t = np.asarray(times, dtype=np.int64)
    v = np.asarray(signed, dtype=float)
    s = np.asarray(signs, dtype=float)
    shifts = np.r_[0, (np.arange(1, placebos + 1) * day) // (placebos + 1)].astype(np.int64)
    a0 = day_start + (t0[None, :] - day_start + shifts[:, None]) % day
    a1 = day_start + (np.asarray(t1, dtype=np.int64)[None, :] - day_start + shifts[:, None]) % day
    total = np.zeros(a0.shape)
    for h in horizons_s:
        width = h * NS
        tiles = day_start + np.arange(0, day, width, dtype=np.int64)
        scale = float(np.std(window_sum(t, v, tiles, tiles + width)))
        if scale <= 0:
            continue
        ahead = window_sum(t, v, (a0 - width).ravel(), a0.ravel()).reshape(a0.shape)
        back = window_sum(t, v, a1.ravel(), (a1 + width).ravel(), closed="right")
        total += s[None, :] * (ahead - back.reshape(a1.shape)) / scale
    placebo = total[1:]
    sd = placebo.std(axis=0)
    ok = sd > 0
    out[ok] = (total[0, ok] - placebo.mean(axis=0)[ok]) / sd[ok]
    return out


def _inventory_swing(tb: np.ndarray, signed: np.ndarray, gross: np.ndarray, n: int) -> np.ndarray:
    """Range of the running position within each bucket over the bucket's gross quantity."""
    if len(tb) == 0:
        return np.full(n, np.nan)
    frame = pd.DataFrame({"b": tb, "s": signed})
    pos = frame.groupby("b")["s"].cumsum()
    frame["pos"] = pos
    # the position before the bucket's first trade is 0 relative to the bucket
    hi = frame.groupby("b")["pos"].max().clip(lower=0.0)
    lo = frame.groupby("b")["pos"].min().clip(upper=0.0)
    swing = np.full(n, np.nan)
    idx = hi.index.to_numpy(dtype=np.int64)
    swing[idx] = (hi - lo).to_numpy()
    return _ratio(swing, gross)


def bucket_vectors(data: SymbolDay, bucket_s: int = 300) -> pd.DataFrame:
    """Behaviour vectors per (market-making entity, bucket) for one (day, symbol).

    Columns: :data:`BUCKET_KEYS` (``bucket`` is the bucket's index in the day,
    ``bucket_start`` its start in ns) then :data:`FEATURE_NAMES`. Buckets in which
    the entity neither quoted nor traded are kept (their quote features say so).

    Raises
    ------
    ValueError
        If ``bucket_s`` does not divide the day into whole seconds-grid buckets.
    """
    if bucket_s <= 0 or 86_400 % bucket_s or bucket_s % GRID_S:
        raise ValueError(
            f"behaviour bucket {bucket_s} s: must divide the day (86400 s) evenly, e.g. 300"
        )
    market = _Market(data, bucket_s * NS)
    frames = []
    for entity, (role, accounts) in sorted(market_makers(data).items()):
        feats = _entity_features(data, market, accounts)
        frame = pd.DataFrame(
            {
                "entity_id": entity,
                "role": role,
                "symbol": data.symbol,
                "date": data.day.isoformat(),
                "bucket": np.arange(market.n, dtype=np.int64),
                "bucket_start": market.day_start
                + np.arange(market.n, dtype=np.int64) * market.bucket_ns,
            }
        )
        for name in FEATURE_NAMES:
            frame[name] = np.asarray(feats[name], dtype=float)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*BUCKET_KEYS, *FEATURE_NAMES])
    return pd.concat(frames, ignore_index=True)


def day_vectors(data: SymbolDay, buckets: pd.DataFrame, lead_bucket_s: int = 10) -> pd.DataFrame:
    """Behaviour vectors per (market-making entity, day) for one (day, symbol).

    Each feature of :data:`FEATURE_NAMES` is its mean over the day's buckets (NaN
    buckets left out); ``lead_t`` is the t-statistic of the lead of the entity's
    signed flow over clients' future flow (:func:`features.front_running.lead_statistic`
    on buckets of ``lead_bucket_s``), and ``active_buckets`` the share of buckets in
    which it traded.
    """
    client_flow, returns, mm_flow, _ = flow_buckets(data, lead_bucket_s * NS)
    rows = []
    for entity, (role, accounts) in sorted(market_makers(data).items()):
        mine = buckets[buckets["entity_id"] == entity]
        row: dict[str, object] = {
            "entity_id": entity,
            "role": role,
            "symbol": data.symbol,
            "date": data.day.isoformat(),
        }
        for name in FEATURE_NAMES:
            values = mine[name].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            row[name] = float(values.mean()) if len(values) else np.nan
        flow = np.sum([mm_flow[a] for a in accounts if a in mm_flow], axis=0)
        row["lead_t"] = (
            lead_statistic(np.asarray(flow, dtype=float), client_flow, returns, 3)["t"]
            if np.ndim(flow)
            else np.nan
        )
        row["active_buckets"] = float(np.isfinite(mine["taker_share"].to_numpy()).mean())
        rows.append(row)
    return pd.DataFrame(rows, columns=[*DAY_KEYS, *FEATURE_NAMES, *DAY_FEATURES])
