"""Features of front running: trading ahead of large client orders, anticipating flow.

**Client parent orders.** A client working a large order sends slices; the slices
of one account on one side less than ``parent_gap`` apart are one *parent order*.
Its size is the quantity it executed as taker; "large" is judged against the day's
distribution of client parent sizes in the symbol (a quantile), never a fixed
number of coins.

**Ahead, during and after.** For each large parent executing from ``t0`` (its first
instruction, at the gateway when known) to ``t1`` (its last fill), the AMM's net
signed quantity in the client's direction is measured in ``[t0 - pre, t1)``
(excluding its trades with that client, which are the client's own fills), and its
net quantity in the opposite direction in ``(t1, t1 + post]``. The AMM's *usual*
net flow over windows of the same length at other times of the day is the baseline.

**Lead-lag.** Over the day, in buckets of ``bucket`` seconds, the AMM's net signed
flow against non-clients is regressed against the clients' future signed taker
flow, controlling for the clients' own past flow and past public returns (flow
that follows momentum is not anticipation). The t-statistic of the partial
correlation is compared with the same statistic for each external market maker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.data import NS, SymbolDay
from features.windows import segments_from_gaps, window_sum
from surveillance.contract import DEFAULT_ORIGIN, Role
from surveillance.days import day_bounds


def client_parents(data: SymbolDay, parent_gap_ns: int) -> pd.DataFrame:
    """Client taker activity grouped into parent orders (account, side, gap).

    Columns: ``parent`` id, ``account_id``, ``sign``, ``t0`` (first instruction:
    gateway time when known, else engine time), ``t_first_fill``, ``t1`` (last
    fill), ``qty`` (taker quantity executed), ``n_orders``, ``order_ids``,
    ``trade_ids``, ``vwap``.
    """
    tv = data.trade_view
    clients = tv[tv["taker_role"] == Role.CLIENT.value]
    cols = [
        "parent",
        "account_id",
        "sign",
        "t0",
        "t_first_fill",
        "t1",
        "qty",
        "n_orders",
        "order_ids",
        "trade_ids",
        "vwap",
    ]
    if clients.empty:
        return pd.DataFrame(columns=cols)
    summary = data.order_summary.set_index("order_id")
    arrival = summary["gw"].where(summary["gw"] > 0, summary["t"])
    c = clients[["taker_account", "taker_sign", "t", "qty", "price", "taker_order", "trade_id"]]
    c = c.assign(arrival=c["taker_order"].map(arrival).fillna(c["t"]).astype(np.int64))
    c = c.sort_values(["taker_account", "taker_sign", "t"], kind="stable")
    key_change = (c["taker_account"] != c["taker_account"].shift()) | (
        c["taker_sign"] != c["taker_sign"].shift()
    )
    gap = c["t"].diff().fillna(parent_gap_ns + 1) > parent_gap_ns
    c = c.assign(parent=np.cumsum((key_change | gap).to_numpy()) - 1)
    c = c.assign(notional=c["qty"] * c["price"])
    g = c.groupby("parent", sort=True)
    out = pd.DataFrame(
        {
            "account_id": g["taker_account"].first(),
            "sign": g["taker_sign"].first().astype(int),
            "t0": g["arrival"].min(),
            "t_first_fill": g["t"].min(),
            "t1": g["t"].max(),
            "qty": g["qty"].sum(),
            "n_orders": g["taker_order"].nunique(),
            "order_ids": g["taker_order"].agg(lambda s: sorted(set(s))),
            "trade_ids": g["trade_id"].agg(list),
            "vwap": g["notional"].sum() / g["qty"].sum(),
        }
    )
    out["t0"] = np.minimum(out["t0"], out["t_first_fill"])
    return out.reset_index()[cols]


def amm_net_flow(data: SymbolDay, accounts: list[str]) -> pd.DataFrame:
    """The accounts' trades, sorted by time: ``t``, ``signed`` (+ bought), ``price``,
    ``trade_id``, ``counterparty``, ``counterparty_role``, ``counterparty_order``,
    ``own_order``, ``taker`` (the account took liquidity) and ``order_age`` (ns since
    its own order was entered).

    Trades between two of ``accounts`` cancel out and are dropped.
    """
    tv = data.trade_view
    buy = tv["buy_account"].isin(accounts)
    sell = tv["sell_account"].isin(accounts)
    keep = (buy ^ sell).to_numpy()
    mine = tv[keep]
    is_buy = buy.to_numpy()[keep]
    out = pd.DataFrame(
        {
            "t": mine["t"].to_numpy(),
            "signed": np.where(is_buy, 1.0, -1.0) * mine["qty"].to_numpy(dtype=float),
            "price": mine["price"].to_numpy(dtype=float),
            "trade_id": mine["trade_id"].to_numpy(dtype=object),
            "counterparty": np.where(is_buy, mine["sell_account"], mine["buy_account"]),
            "counterparty_role": np.where(is_buy, mine["sell_role"], mine["buy_role"]),
            "counterparty_order": np.where(is_buy, mine["sell_order"], mine["buy_order"]),
            "own_order": np.where(is_buy, mine["buy_order"], mine["sell_order"]),
            "taker": np.isin(mine["taker_account"].to_numpy(), accounts),
        }
    )
    born = data.order_summary.set_index("order_id")["t"]
    out["order_age"] = out["t"] - out["own_order"].map(born).fillna(0).to_numpy(dtype=np.int64)
    return out


def tiled_flow(times: np.ndarray, signed: np.ndarray, width_ns: int, day_start: int) -> np.ndarray:
    """Net signed flow in consecutive windows of ``width_ns`` tiling the day."""
    n = int(np.ceil(24 * 3600 * NS / width_ns))
    starts = day_start + np.arange(n, dtype=np.int64) * width_ns
    return window_sum(times, signed, starts, starts + width_ns)


def flow_buckets(
    data: SymbolDay, bucket_ns: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Per-bucket series over the day: clients' signed taker flow, returns, and each
    market maker's net signed flow against non-clients.

    Returns ``(client_flow, returns, mm_flow_by_account, bucket_starts)``.
    """
    start, _ = day_bounds(data.day)
    day_start = int(start.value)
    n = int(np.ceil(24 * 3600 * NS / bucket_ns))
    tv = data.trade_view
    idx = np.clip((tv["t"].to_numpy() - day_start) // bucket_ns, 0, n - 1)
    is_client_taker = (tv["taker_role"] == Role.CLIENT.value).to_numpy()
    signed_taker = (tv["taker_sign"] * tv["qty"]).to_numpy(dtype=float)
    client_flow = np.bincount(idx[is_client_taker], signed_taker[is_client_taker], minlength=n)
    # public returns: last trade price per bucket, carried forward
    prices = np.full(n, np.nan)
    order = np.argsort(tv["t"].to_numpy(), kind="stable")
    prices[idx[order]] = tv["price"].to_numpy()[order]
    prices = pd.Series(prices).ffill().bfill().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.concatenate([[0.0], np.diff(np.log(prices))]) if n else np.zeros(0)
    returns = np.nan_to_num(returns)
    mm_flow: dict[str, np.ndarray] = {}
    buy_client = (tv["buy_role"] == Role.CLIENT.value).to_numpy()
    sell_client = (tv["sell_role"] == Role.CLIENT.value).to_numpy()
    qty = tv["qty"].to_numpy(dtype=float)
    for account in data.amm_accounts + data.external_mm_accounts:
        as_buyer = (tv["buy_account"] == account).to_numpy() & ~sell_client
        as_seller = (tv["sell_account"] == account).to_numpy() & ~buy_client
        flow = np.bincount(idx[as_buyer], qty[as_buyer], minlength=n) - np.bincount(
            idx[as_seller], qty[as_seller], minlength=n
        )
        mm_flow[account] = flow
    return client_flow, returns, mm_flow, day_start + np.arange(n, dtype=np.int64) * bucket_ns


def _lags(series: np.ndarray, lags: int, future: bool) -> np.ndarray:
    """Sum of the next (future) or previous ``lags`` values at each position."""
    csum = np.concatenate([[0.0], np.cumsum(series)])
    n = len(series)
    i = np.arange(n)
    if future:
        hi = np.minimum(i + 1 + lags, n)
        return csum[hi] - csum[i + 1]
    lo = np.maximum(i - lags, 0)
    return csum[i] - csum[lo]


def lead_statistic(
    mm_flow: np.ndarray, client_flow: np.ndarray, returns: np.ndarray, lags: int
) -> dict[str, float]:
    """Partial correlation of MM flow with the clients' next ``lags`` buckets of flow.

    Both are first residualised on the clients' past flow, the past public return
    and the contemporaneous return (OLS), so that following momentum or trading
    with clients does not look like anticipation. Only buckets where the MM traded
    count. Returns ``r``, its t-statistic ``t``, ``n`` buckets, and the raw
    correlation ``r_raw``.
    """
    future = _lags(client_flow, lags, future=True)
    past = _lags(client_flow, lags, future=False)
    past_ret = _lags(returns, lags, future=False)
    active = mm_flow != 0
    n = int(active.sum())
    if n < 10:
        return {"r": 0.0, "t": 0.0, "n": float(n), "r_raw": 0.0}
    x = mm_flow[active]
    y = future[active]
    z = np.column_stack(
        [np.ones(n), past[active], past_ret[active], returns[active], client_flow[active]]
    )
    beta_x, *_ = np.linalg.lstsq(z, x, rcond=None)
    beta_y, *_ = np.linalg.lstsq(z, y, rcond=None)
    rx, ry = x - z @ beta_x, y - z @ beta_y
    denom = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
    r = float(np.sum(rx * ry) / denom) if denom > 0 else 0.0
    r_raw_den = np.std(x) * np.std(y)
    r_raw = float(np.mean((x - x.mean()) * (y - y.mean())) / r_raw_den) if r_raw_den > 0 else 0.0
    dof = max(n - z.shape[1] - 1, 1)
    t = r * np.sqrt(dof) / np.sqrt(max(1e-12, 1 - r * r))
    return {"r": r, "t": float(t), "n": float(n), "r_raw": r_raw}


def parents_in_window(parents: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Parents whose execution span meets ``[start, end]``."""
    return parents[(parents["t1"] >= start) & (parents["t0"] <= end)]


def cluster_ids(times: np.ndarray, gap_ns: int) -> np.ndarray:
    return segments_from_gaps(times, gap_ns)


def client_large_orders(
    data: SymbolDay, quantile: float, parent_gap_ns: int
) -> tuple[pd.DataFrame, float]:
    """The slices of large client parent orders, one row per slice.

    Client taker orders of one account and side less than ``parent_gap_ns`` apart are
    one parent; a parent is large when its executed quantity is at or above
    ``quantile`` of the day's client parents. Each slice carries its ``arrival``
    (gateway time when known), ``sign``, ``taker_qty`` and ``parent`` id. Returns
    the slices and the threshold.
    """
    summary = data.order_summary
    # the client's own decisions only: liquidation-engine orders are the venue's
    takers = summary[
        (summary["role"] == Role.CLIENT.value)
        & (summary["taker_qty"] > 0)
        & (summary["origin"] == DEFAULT_ORIGIN.value)
    ].copy()
    if takers.empty:
        return takers.assign(arrival=[], parent=[]), float("nan")
    takers["arrival"] = np.where(takers["gw"] > np.iinfo(np.int64).min, takers["gw"], takers["t"])
    takers = takers.sort_values(["account_id", "sign", "arrival"], kind="stable")
    new = (
        (takers["account_id"] != takers["account_id"].shift())
        | (takers["sign"] != takers["sign"].shift())
        | (takers["arrival"].diff().fillna(parent_gap_ns + 1) > parent_gap_ns)
    )
    takers["parent"] = np.cumsum(new.to_numpy())
    size = takers.groupby("parent")["taker_qty"].sum()
    threshold = float(np.quantile(size, quantile))
    large = takers[takers["parent"].map(size).to_numpy() >= threshold]
    return large.sort_values("arrival").reset_index(drop=True), threshold


def ahead_and_reversal(
    flow: pd.DataFrame,
    times: np.ndarray,
    signs: np.ndarray,
    pre_ns: int,
    post_ns: int,
    exclude_orders: np.ndarray | None = None,
    fresh_ns: int = 2 * NS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An account's trading ahead of and after each time, in the direction ``signs``.

    ``ahead`` is the quantity it took as *taker* in the direction over ``[t - pre, t)``
    (aggressive trading on the client's side; its aggressive trades the other way in
    the same seconds, a hedge say, do not undo the use of what it knew); ``reversal`` the
    quantity it traded the other way over ``(t, t + post]`` deliberately (as taker,
    or with an order entered at most ``fresh_ns`` before the fill),
    leaving out its fills against ``exclude_orders[i]`` (the client order at ``t``
    itself, which a market maker fills in the ordinary course); ``taken_back`` the part
    of the way back it took as taker (a decision to trade back, whatever its size).
    ``flow`` is :func:`amm_net_flow`. Returns ``(ahead, reversal, taken_back)``.
    """
    t = flow["t"].to_numpy()
    signed = flow["signed"].to_numpy(dtype=float)
    taker = flow["taker"].to_numpy(dtype=bool)
    taker_signed = np.where(taker, signed, 0.0)
    taker_bought, taker_sold = np.clip(taker_signed, 0.0, None), np.clip(-taker_signed, 0.0, None)
    ahead = np.where(
        signs > 0,
        window_sum(t, taker_bought, times - pre_ns, times),
        window_sum(t, taker_sold, times - pre_ns, times),
    )
    # A reversal is a deliberate act: a taker trade, or a fill of an order entered just
    # before it; fills of the account's standing quotes are ordinary market making.
    deliberate = taker | (flow["order_age"].to_numpy() <= fresh_ns)
    back = np.where(deliberate, signed, 0.0)
    bought = window_sum(t, np.clip(back, 0.0, None), times, times + post_ns, closed="right")
    sold = window_sum(t, np.clip(-back, 0.0, None), times, times + post_ns, closed="right")
    after = np.where(signs > 0, sold, bought)
    taken_back = np.where(
        signs > 0,
        window_sum(t, taker_sold, times, times + post_ns, closed="right"),
        window_sum(t, taker_bought, times, times + post_ns, closed="right"),
    )
    if exclude_orders is not None and len(times):
        own = flow[flow["counterparty_order"].isin(set(exclude_orders)) & deliberate]
        if len(own):
            by_order = own.groupby("counterparty_order")["signed"].sum()
            own_sum = pd.Series(exclude_orders).map(by_order).fillna(0.0).to_numpy(dtype=float)
            after = after - np.clip(-signs * own_sum, 0.0, None)
    return np.clip(ahead, 0.0, None), np.clip(after, 0.0, None), taken_back


def fisher_combined(p_values: np.ndarray) -> float:
    """Fisher's combination of independent p-values: P(chi2 with 2k dof >= -2 sum log p).

    For even degrees of freedom the survival function has the closed form
    ``exp(-x/2) * sum_{j<k} (x/2)^j / j!``.
    """
    p = np.clip(np.asarray(p_values, dtype=float), 1e-300, 1.0)
    k = len(p)
    if k == 0:
        return 1.0
    half = -np.log(p).sum()
    term, total = 1.0, 1.0
    for j in range(1, k):
        term *= half / j
        total += term
    return float(min(1.0, np.exp(-half) * total))


# ------------------------------------------------------------------ flow anticipation
#: Time-in-force values and order types of orders that are not meant to rest: an order
#: sent to take liquidity now is a decision about direction, unlike a quote that crossed.
IMMEDIATE_TIF = frozenset({"IOC", "FOK"})


def client_decisions(data: SymbolDay, parent_gap_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times and signs of the clients' trading decisions, sorted by time.

    One decision per client parent order (marketable orders of one account and side
    less than ``parent_gap_ns`` apart), so that a client slicing a large order counts
    once and thousands of small clients count one each; the liquidation engine's
    orders are the venue's, not a client's decision, and are left out.
    """
    s = data.order_summary
    takers = s[
        (s["role"] == Role.CLIENT.value)
        & (s["taker_qty"] > 0)
        & (s["origin"] == DEFAULT_ORIGIN.value)
    ]
    if takers.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    arrival = np.where(takers["gw"] > np.iinfo(np.int64).min, takers["gw"], takers["t"])
    frame = pd.DataFrame(
        {"a": takers["account_id"].to_numpy(), "s": takers["sign"].to_numpy(), "t": arrival}
    ).sort_values(["a", "s", "t"], kind="stable")
    new = (
        (frame["a"] != frame["a"].shift())
        | (frame["s"] != frame["s"].shift())
        | (frame["t"].diff().fillna(parent_gap_ns + 1) > parent_gap_ns)
    ).to_numpy()
    first = frame[new].sort_values("t", kind="stable")
    return first["t"].to_numpy(dtype=np.int64), first["s"].to_numpy(dtype=float)


def aggressive_orders(data: SymbolDay, account: str) -> pd.DataFrame:
    """The account's orders sent to take liquidity now (IOC, FOK or market) that traded.

    Columns ``order_id``, ``t`` (engine arrival, int64 ns), ``sign`` and ``taker_qty``,
    sorted by time. Quotes that happened to cross the book are market making, not a
    directional decision, and are left out.
    """
    s = data.order_summary
    mine = s[
        (s["account_id"] == account)
        & (s["taker_qty"] > 0)
        & (s["tif"].isin(IMMEDIATE_TIF) | (s["order_type"] == "MARKET"))
    ]
    out = pd.DataFrame(
        {
            "order_id": mine["order_id"].to_numpy(dtype=object),
            "t": mine["t"].to_numpy(dtype=np.int64),
            "sign": mine["sign"].to_numpy(dtype=float),
            "taker_qty": mine["taker_qty"].to_numpy(dtype=float),
        }
    )
    return out.sort_values("t", kind="stable").reset_index(drop=True)


def _sum_between(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum of ``v`` over ``t`` in ``(lo, hi]`` for each pair (``t`` sorted)."""
    csum = np.concatenate([[0.0], np.cumsum(v)])
    return csum[np.searchsorted(t, hi, side="right")] - csum[np.searchsorted(t, lo, side="right")]


class ClientFlowModel:
    """What public information and the clients' own past predict of their next flow.

    At any time ``t`` the clients' *future* signed decisions in each window
    ``(t + a, t + b]`` are regressed (OLS, on a grid over the whole day) on their
    signed decisions over the last 60 s, 300 s and the 600 s before that, and the
    public price's log return over the last 60 s and 300 s. The residual is the part
    of the clients' coming flow nobody could have inferred from the market: flow that
    merely continues a trend, or follows a price move, has none. Each residual is
    scaled by its expected size (the clients' recent decision rate times the window
    length, a Poisson scale) and then to unit variance over the grid.
    """

    PAST_S = ((0, 60), (0, 300), (300, 900))
    RETURNS_S = (60, 300)
    ACTIVITY_S = 900

    def __init__(
        self,
        data: SymbolDay,
        windows_s: list[tuple[float, float]],
        parent_gap_ns: int,
        grid_step_ns: int,
    ) -> None:
        self.times, self.signs = client_decisions(data, parent_gap_ns)
        mt, mid = data.mid_series
        ok = np.isfinite(mid) & (mid > 0)
        self.mid_t, self.log_mid = mt[ok], np.log(mid[ok])
        self.windows = [(int(a * NS), int(b * NS)) for a, b in windows_s]
        # The clients' active span of the day: the model is fitted there and placebo
        # shifts wrap around it, so that an empty night is never the baseline.
        day_start = int(day_bounds(data.day)[0].value)
        if len(self.times):
            self.span = (int(self.times[0]), int(self.times[-1]) + 1)
        else:
            self.span = (day_start, day_start + 24 * 3600 * NS)
        grid = np.arange(self.span[0], self.span[1], grid_step_ns, dtype=np.int64)
        if len(grid) < 10:
            grid = np.linspace(self.span[0], self.span[1], 10).astype(np.int64)
        x, y, w = self._design(grid)
        self.beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        scale = np.std(w * (y - x @ self.beta), axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)

    def _log_price(self, t: np.ndarray) -> np.ndarray:
        if len(self.mid_t) == 0:
            return np.zeros(len(t))
        idx = np.clip(np.searchsorted(self.mid_t, t, side="right") - 1, 0, len(self.mid_t) - 1)
        return self.log_mid[idx]

    def _design(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ct, cs = self.times, self.signs
        cols = [np.ones(len(t))]
        cols += [_sum_between(ct, cs, t - b * NS, t - a * NS) for a, b in self.PAST_S]
        price = self._log_price(t)
        cols += [price - self._log_price(t - r * NS) for r in self.RETURNS_S]
        rate = _sum_between(ct, np.abs(cs), t - self.ACTIVITY_S * NS, t) / self.ACTIVITY_S
        future = np.column_stack([_sum_between(ct, cs, t + a, t + b) for a, b in self.windows])
        lengths = np.array([(b - a) / NS for a, b in self.windows])
        weight = 1.0 / np.sqrt(rate[:, None] * lengths[None, :] + 1.0)
        return np.column_stack(cols), future, weight

    def surprise(self, t: np.ndarray) -> np.ndarray:
        """Unit-scaled unexpected client flow after each time: shape (len(t), windows)."""
        x, y, w = self._design(np.asarray(t, dtype=np.int64))
        return w * (y - x @ self.beta) / self.scale

    @property
    def span_ns(self) -> int:
        """Length of the clients' active span of the day."""
        return self.span[1] - self.span[0]

    def shifted(self, t: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """``t`` moved by each offset, wrapped around the active span: (offsets, len(t))."""
        start = self.span[0]
        return start + (t[None, :] - start + offsets[:, None]) % self.span_ns


def anticipation_study(
    model: ClientFlowModel, times: np.ndarray, signs: np.ndarray, offsets: np.ndarray
) -> dict[str, np.ndarray]:
    """Event study of one account's aggressive orders against the clients' coming flow.

    For each window, the statistic is the sum over the orders of the order's sign
    times the clients' unexpected flow after it (:meth:`ClientFlowModel.surprise`):
    positive when clients go on to trade the way the account just traded, beyond what
    the market already showed. The baseline is the same orders (times and signs, so
    the account's own clustering and direction mix) shifted by each of ``offsets``
    around the day; ``z`` is the observed sum's distance from the shifted sums' mean
    in their standard deviations. Returns ``z``, ``observed``, ``placebo_mean``,
    ``placebo_sd`` (one value per window) and ``contribution`` (per order, per window).
    """
    signs = np.asarray(signs, dtype=float)
    contribution = signs[:, None] * model.surprise(times)
    observed = contribution.sum(axis=0)
    shifted = model.shifted(np.asarray(times, dtype=np.int64), offsets)
    flat = model.surprise(shifted.ravel()).reshape(len(offsets), len(times), -1)
    placebo = np.einsum("j,ijk->ik", signs, flat)
    mean, sd = placebo.mean(axis=0), placebo.std(axis=0)
    z = np.where(sd > 0, (observed - mean) / np.where(sd > 0, sd, 1.0), 0.0)
    return {
        "z": z,
        "observed": observed,
        "placebo_mean": mean,
        "placebo_sd": sd,
        "contribution": contribution,
    }


# ------------------------------------------------------------------ trading ahead
def decision_flow(data: SymbolDay, account: str) -> pd.DataFrame:
    """:func:`amm_net_flow` of one account, with ``taker`` true only for its fills as an
    order sent to take liquidity now (IOC, FOK or market).

    A resting quote that crossed the book when the account requoted is market making;
    trading ahead of a client is a decision to take liquidity, so only those fills
    count as ahead (a quote that crosses is still counted as a deliberate way back
    when it was entered just before the fill, see :func:`ahead_and_reversal`).
    """
    flow = amm_net_flow(data, [account])
    if flow.empty:
        return flow
    immediate = sent_to_take(data, flow["own_order"])
    return flow.assign(taker=flow["taker"].to_numpy(dtype=bool) & immediate)


def sent_to_take(data: SymbolDay, order_ids: pd.Series) -> np.ndarray:
    """Whether each order was sent to take liquidity now: IOC, FOK or market."""
    s = data.order_summary.set_index("order_id")
    return order_ids.map(s["tif"]).isin(IMMEDIATE_TIF).to_numpy() | (
        order_ids.map(s["order_type"]).to_numpy(dtype=object) == "MARKET"
    )


def round_trip_lead(
    flow: pd.DataFrame,
    times: np.ndarray,
    signs: np.ndarray,
    pre_ns: int,
    post_ns: int,
    min_reversal: float,
    exclude_orders: np.ndarray | None = None,
    fresh_ns: int = 2 * NS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How shortly before each time the account opened a position it closed after it.

    A *round trip* at ``t`` in direction ``s``: the account took liquidity in direction
    ``s`` over ``[t - pre, t)`` (``ahead``) and deliberately traded back over
    ``(t, t + post]`` (``back``, :func:`ahead_and_reversal`): by taking liquidity the
    other way, whatever the quantity (a way back that found little liquidity is still a
    decision), or with fresh orders filled for at least ``min_reversal`` of ``ahead``
    (an account's fresh quotes are also filled in the ordinary course, above all by the
    rest of a large client order). Its *lead* is the time from the account's last
    aggressive fill in direction ``s`` to ``t``, in ns (``inf`` when there is no round
    trip). Returns ``(lead, ahead, back)``.
    """
    ahead, back, taken_back = ahead_and_reversal(
        flow, times, signs, pre_ns, post_ns, exclude_orders, fresh_ns=fresh_ns
    )
    lead = aggressive_lead(flow, times, signs)
    trip = (ahead > 0) & ((taken_back > 0) | (back >= min_reversal * ahead))
    return np.where(trip, lead, np.inf), ahead, back


def aggressive_lead(flow: pd.DataFrame, times: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Time in ns from the account's last aggressive fill in direction ``signs`` to each
    time (``inf`` when it has none before). ``flow`` is :func:`decision_flow`."""
    t = flow["t"].to_numpy()
    signed = flow["signed"].to_numpy(dtype=float)
    taker = flow["taker"].to_numpy(dtype=bool)
    lead = np.full(len(times), np.inf)
    for direction in (1.0, -1.0):
        fills = t[taker & (signed * direction > 0)]
        rows = np.flatnonzero(signs == direction)
        if len(fills) == 0 or len(rows) == 0:
            continue
        idx = np.searchsorted(fills, times[rows], side="left") - 1
        ok = idx >= 0
        lead[rows[ok]] = (times[rows[ok]] - fills[idx[ok]]).astype(float)
    return lead
