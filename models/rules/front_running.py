"""Rule detectors of the FRONT_RUNNING family."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from features.data import NS, SymbolDay
from features.front_running import (
    ClientFlowModel,
    aggressive_lead,
    aggressive_orders,
    anticipation_study,
    client_large_orders,
    decision_flow,
    round_trip_lead,
)
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Typology
from surveillance.days import day_bounds

#: Share of the false-alert rate given to the per-slice test; the rest goes to the
#: per-parent test (weighted Bonferroni).
SLICE_SHARE = 0.75
#: Floor of the lead in the ahead-leg score (s): fills closer than this to the slice are
#: equally telling.
LEAD_FLOOR_S = 0.1


def ahead_score(ahead: np.ndarray, back: np.ndarray, lead_ns: np.ndarray) -> np.ndarray:
    """How telling an ahead leg is: its quantity per second of lead, doubled when the
    account traded it all back (the reversal supports, it does not gate). 0 without one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(ahead > 0, np.minimum(back / np.where(ahead > 0, ahead, 1.0), 1.0), 0.0)
        lead_s = np.maximum(lead_ns / NS, LEAD_FLOOR_S)
        score = np.where((ahead > 0) & np.isfinite(lead_s), ahead * (1.0 + share) / lead_s, 0.0)
    return score


class TradingAheadParams(SectionModel):
    """Parameters of ``rule:trading_ahead``."""

    enabled: bool = Field(True, description="Run this detector.")
    large_quantile: float = Field(
        0.99,
        gt=0,
        lt=1,
        description="A client parent order (its slices) is large when its executed quantity "
        "is at or above this quantile of the day's client parent orders in the symbol.",
    )
    pre_window_s: float = Field(
        5.0,
        gt=0,
        description="Seconds before the client order's arrival in which the AMM's aggressive "
        "trading on the client's side counts as ahead.",
    )
    post_window_s: float = Field(
        30.0,
        gt=0,
        description="Seconds after the client order's arrival in which the AMM's deliberate "
        "trading the other way counts as the reversal (long enough to cover the parent's "
        "next slice).",
    )
    grid_step_s: float = Field(
        1.0,
        gt=0,
        description="Spacing of the placebo times away from large client orders (both "
        "directions): the account's own round trips there are the baseline.",
    )
    alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Share of false alerts tolerated among a symbol-day's alerts, and the "
        "chance of any alert on a day without trading ahead: a slice alerts when the share of "
        "placebo times at which the account made a round trip with as short a lead (or its "
        "parent's combined probability, which pools each slice's better of round trip and "
        "ahead leg), adjusted by the weighted Benjamini-Hochberg procedure over every large "
        "slice and parent and every AMM account (weighted 3/4 to slices and 1/4 to parents), "
        "is below this.",
    )
    min_reversal: float = Field(
        0.1,
        gt=0,
        le=1,
        description="For the round-trip test, the account must deliberately trade back within "
        "the post window: with an aggressive order, of any size (a way back that found "
        "little liquidity is still a decision), or with fresh orders filled for at least this "
        "share of its ahead quantity (fresh quotes are also filled in the ordinary course, by "
        "the rest of the client's order above all). A hedge is not reversed; trading ahead is. "
        "The ahead-leg evidence pooled over a parent needs no reversal: there the way back "
        "only raises the score.",
    )
    fresh_order_s: float = Field(
        5.0,
        gt=0,
        description="A fill of one of the account's resting orders counts as a deliberate way "
        "back when the order was entered at most this many seconds before the fill (older "
        "quotes are ordinary market making).",
    )
    parent_gap_s: float = Field(
        60.0,
        gt=0,
        description="Large orders of one client and side less than this many seconds apart are "
        "slices of one parent order; flagged slices of one parent (or whose windows overlap) "
        "make one alert.",
    )


class TradingAhead(RuleDetector):
    """The AMM trades on the client's side just before a large client order, then reverses."""

    name = "trading_ahead"
    typology = Typology.FR_TRADING_AHEAD
    version = "3.3.0"
    help = (
        "For each slice of a large client parent order and each AMM account: did the account "
        "open a position on the client's side with an aggressive order (IOC, FOK, market) in "
        "the seconds before the slice arrived and deliberately trade it back afterwards (a "
        "round trip), and how shortly before? The baseline is the account's own behaviour: "
        "how often it makes a round trip with as short a lead at placebo times of the day "
        "away from large client orders, and how often it trades ahead as much, as shortly "
        "before (the way back supporting, not required), which a parent's slices pool."
    )
    params_model = TradingAheadParams

    def run(self, data: SymbolDay, params: TradingAheadParams) -> DetectorOutput:
        large, threshold = client_large_orders(
            data, params.large_quantile, int(params.parent_gap_s * NS)
        )
        if large.empty or not data.amm_accounts:
            return DetectorOutput(large, candidates_frame([]))
        pre = int(params.pre_window_s * NS)
        post = int(params.post_window_s * NS)
        day_start = int(day_bounds(data.day)[0].value)
        step = int(params.grid_step_s * NS)
        grid = day_start + np.arange(0, 24 * 3600 * NS, step, dtype=np.int64)
        times = large["arrival"].to_numpy(dtype=np.int64)
        # Placebo times are times *away from* large client orders: what the account does
        # when there is no large order to trade ahead of.
        near = np.searchsorted(times, grid + pre + post, side="right") - np.searchsorted(
            times, grid - pre - post, side="left"
        )
        grid = grid[near == 0]
        grid_t = np.concatenate([grid, grid])
        grid_s = np.concatenate([np.ones(len(grid)), -np.ones(len(grid))])
        signs = large["sign"].to_numpy(dtype=float)
        client_orders = large["order_id"].to_numpy(dtype=object)
        # Two tests per account, weighted: each slice on its own (3/4 of alpha), and each
        # parent's slices together (1/4), for several slices traded ahead none of which is
        # beyond chance alone; see _adjusted_p.
        n_tests = len(large) * len(data.amm_accounts)
        n_parent_tests = large["parent"].nunique() * len(data.amm_accounts)
        feature_frames = []
        flows: dict[str, pd.DataFrame] = {}
        for account in data.amm_accounts:
            flow = decision_flow(data, account)
            if flow.empty:
                continue
            fresh = int(params.fresh_order_s * NS)
            lead, ahead, back = round_trip_lead(
                flow, times, signs, pre, post, params.min_reversal, client_orders, fresh
            )
            g_lead, g_ahead, g_back = round_trip_lead(
                flow, grid_t, grid_s, pre, post, params.min_reversal, fresh_ns=fresh
            )
            placebo = np.sort(g_lead[np.isfinite(g_lead)])
            trip = np.isfinite(lead)
            counts = np.searchsorted(placebo, np.where(trip, lead, 0.0), side="right")
            p_slice = np.where(trip, (counts + 1.0) / (len(grid_t) + 1.0), 1.0)
            raw_lead = aggressive_lead(flow, times, signs)
            score = ahead_score(ahead, back, raw_lead)
            g_raw = ahead_score(g_ahead, g_back, aggressive_lead(flow, grid_t, grid_s))
            g_score = np.sort(g_raw)
            s_counts = len(g_score) - np.searchsorted(g_score, score, side="left")
            p_ahead = np.where(score > 0, (s_counts + 1.0) / (len(grid_t) + 1.0), 1.0)
            # The slice's evidence is the better of the two; how often a placebo time does
            # as well on either calibrates that choice (the two are far from independent).
            n_grid = len(grid_t) + 1.0
            g_trip = np.isfinite(g_lead)
            g_p = np.minimum(
                np.where(
                    g_trip,
                    np.searchsorted(placebo, np.where(g_trip, g_lead, 0.0), side="right"),
                    np.inf,
                ),
                np.where(
                    g_raw > 0, len(g_score) - np.searchsorted(g_score, g_raw, side="left"), np.inf
                ),
            )
            g_p = np.sort(g_p[np.isfinite(g_p)])
            best_rank = np.minimum(
                np.where(trip, counts, np.inf), np.where(score > 0, s_counts, np.inf)
            )
            p_either = np.where(
                np.isfinite(best_rank),
                (np.searchsorted(g_p, best_rank, side="right") + 1.0) / n_grid,
                1.0,
            )
            frame = large[["order_id", "account_id", "sign", "arrival", "taker_qty", "parent"]]
            frame = frame.assign(
                parent_qty=large.groupby("parent")["taker_qty"].transform("sum").to_numpy(),
                amm_account=account,
                lead_s=np.where(ahead > 0, raw_lead / NS, np.nan),
                ahead_qty=ahead,
                reversal_qty=np.minimum(back, ahead),
                round_trip=trip,
                placebo_count=np.where(trip, counts, 0),
                p_slice=p_slice,
                ahead_score=score,
                placebo_ahead_count=np.where(score > 0, s_counts, 0),
                p_ahead=p_ahead,
            )
            frame["p_either"] = p_either
            p_parent = frame.groupby("parent")["p_either"].agg(_parent_p)
            frame["p_parent"] = frame["parent"].map(p_parent).to_numpy(dtype=float)
            feature_frames.append(frame)
            flows[account] = flow
        if not feature_frames:
            return DetectorOutput(large, candidates_frame([]))
        features = pd.concat(feature_frames, ignore_index=True)
        features["p_adjusted"] = _adjusted_p(features, n_tests, n_parent_tests)
        evidence = features["round_trip"].to_numpy(dtype=bool) | (
            features["ahead_score"].to_numpy() > 0
        )
        flagged = features[evidence & (features["p_adjusted"].to_numpy() < params.alpha)]
        rows = []
        for amm, by_account in flagged.groupby("amm_account", sort=False):
            episodes = by_account.assign(episode=_episodes(by_account, pre + post))
            for _, ep in episodes.groupby(["episode", "sign"], sort=True):
                rows.append(
                    self._alert(
                        data,
                        str(amm),
                        ep,
                        flows[str(amm)],
                        pre,
                        post,
                        threshold,
                        n_tests,
                        len(grid_t),
                        params,
                    )
                )
        return DetectorOutput(features, candidates_frame(rows))

    @staticmethod
    def _alert(
        data: SymbolDay,
        account: str,
        ep: pd.DataFrame,
        flow: pd.DataFrame,
        pre: int,
        post: int,
        threshold: float,
        n_tests: int,
        n_placebo: int,
        params: TradingAheadParams,
    ) -> dict[str, object]:
        sign = int(ep["sign"].iloc[0])
        client_orders = set(ep["order_id"])
        ft = flow["t"].to_numpy()
        signed = flow["signed"].to_numpy()
        taker = flow["taker"].to_numpy(dtype=bool)
        cp_order = flow["counterparty_order"].to_numpy(dtype=object)
        ahead_idx: list[int] = []
        rev_idx: list[int] = []
        for arrival in ep["arrival"].to_numpy(dtype=np.int64):
            lo, hi = np.searchsorted(ft, [arrival - pre, arrival])
            ahead_idx += [i for i in range(lo, hi) if taker[i] and signed[i] * sign > 0]
            lo, hi = np.searchsorted(ft, [arrival, arrival + post], side="right")
            rev_idx += [
                i
                for i in range(lo, hi)
                if signed[i] * sign < 0 and cp_order[i] not in client_orders
            ]
        ahead_idx, rev_idx = sorted(set(ahead_idx)), sorted(set(rev_idx))
        prices = flow["price"].to_numpy()
        qty = np.abs(signed)
        entry = float(np.average(prices[ahead_idx], weights=qty[ahead_idx]))
        exit_ = float(np.average(prices[rev_idx], weights=qty[rev_idx])) if rev_idx else entry
        profit_bps = sign * (exit_ - entry) / entry * 1e4
        ahead_qty = float(ep["ahead_qty"].sum())
        parent_qty = float(ep.drop_duplicates("parent")["parent_qty"].sum())
        rev_qty = float(ep["reversal_qty"].sum())
        best = ep.iloc[int(np.argmin(ep["p_either"].to_numpy()))]
        client = ", ".join(sorted(set(ep["account_id"].astype(str))))
        side = "bought" if sign > 0 else "sold"
        client_side = "buy" if sign > 0 else "sell"
        rev_side = "sold" if sign > 0 else "bought"
        trade_ids = flow["trade_id"].to_numpy(dtype=object)
        explanation = (
            f"{account} {side} {text.qty(data, ahead_qty)} with aggressive orders "
            f"{float(best['lead_s']):.2f} s before client {client}'s large {client_side} order "
            f"at {text.hms(int(best['arrival']))} UTC ({len(ep)} slice(s) traded ahead of, "
            f"{text.qty(data, float(ep['taker_qty'].sum()))}, of parent orders of "
            f"{text.qty(data, parent_qty)} in all; a parent is large from "
            f"{text.qty(data, threshold)} today), then {rev_side} {text.qty(data, rev_qty)} "
            f"back within {text.secs(post)} ({text.bps(profit_bps)} against its entry). At "
            f"{n_placebo:,} placebo times away from large orders it made a round trip with as "
            f"short a lead {int(best['placebo_count'])} times (probability "
            f"{float(best['p_slice']):.1e}) and traded ahead as much, as shortly before and "
            f"reversed as much {int(best['placebo_ahead_count'])} times (probability "
            f"{float(best['p_ahead']):.1e}); for the parent's slices together "
            f"{float(best['p_parent']):.1e}; {float(best['p_adjusted']):.1e} adjusted over "
            f"the {n_tests} slice-account pairs and their parents examined, for the share of "
            f"false alerts among the day's)."
        )
        times = ft[ahead_idx + rev_idx]
        p_adj = float(best["p_adjusted"])
        return {
            "account_id": account,
            "window_start": int(min(times.min(), ep["arrival"].min())),
            "window_end": int(max(times.max(), ep["arrival"].max())),
            "excess": float(np.log10(params.alpha / max(p_adj, 1e-300)) + 1.0),
            "order_ids": sorted(client_orders),
            "trade_ids": sorted(set(trade_ids[ahead_idx + rev_idx])),
            "explanation": explanation,
            "features": {
                "lead_s": float(best["lead_s"]),
                "ahead_qty": ahead_qty,
                "reversal_qty": rev_qty,
                "profit_bps": profit_bps,
                "client_orders": len(ep),
                "client_qty": float(ep["taker_qty"].sum()),
                "client_parent_qty": parent_qty,
                "client_account": client,
                "baseline_large_threshold": threshold,
                "baseline_placebo_count": int(best["placebo_count"]),
                "baseline_placebo_times": n_placebo,
                "baseline_placebo_ahead_count": int(best["placebo_ahead_count"]),
                "p_slice": float(best["p_slice"]),
                "p_ahead": float(best["p_ahead"]),
                "p_parent": float(best["p_parent"]),
                "p_adjusted": p_adj,
                "tests": n_tests,
            },
        }


class FlowAnticipationParams(SectionModel):
    """Parameters of ``rule:flow_anticipation``."""

    enabled: bool = Field(True, description="Run this detector.")
    windows_s: list[tuple[float, float]] = Field(
        [
            (0.0, 60.0),
            (0.0, 120.0),
            (0.0, 240.0),
            (30.0, 150.0),
            (60.0, 180.0),
            (60.0, 300.0),
            (120.0, 300.0),
        ],
        min_length=1,
        description="Windows (start, end) in seconds after each of the account's aggressive "
        "orders in which the clients' coming flow is measured; the day's statistic is the "
        "most significant window, and the placebo judges it with the same choice.",
    )
    min_orders: int = Field(
        30,
        ge=2,
        description="Least number of the account's aggressive (IOC, FOK, market) orders that "
        "traded in the day for the day to be judged: a day-level pattern needs enough orders, "
        "and the normal tail of z is trusted only then.",
    )
    shifts: int = Field(
        400,
        ge=50,
        description="Placebo days: the account's aggressive orders shifted by this many random "
        "offsets around the day (fixed seed, so results are reproducible).",
    )
    min_shift_s: float = Field(
        900.0,
        gt=0,
        description="Least shift of a placebo, in seconds, so that a shifted order does not "
        "measure the same client flow as the real one.",
    )
    grid_step_s: float = Field(
        5.0,
        gt=0,
        description="Spacing of the times at which the model of the clients' coming flow "
        "(from their past flow and the public price) is fitted.",
    )
    parent_gap_s: float = Field(
        60.0,
        gt=0,
        description="Marketable orders of one client and side less than this many seconds "
        "apart are one decision (a sliced parent counts once).",
    )
    alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="False-alert rate per symbol-day: the normal tail probability of the best "
        "window's z, times the number of windows and of AMM accounts judged, must be below "
        "this.",
    )

    @field_validator("windows_s")
    @classmethod
    def _ordered(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for start, end in value:
            if not 0 <= start < end:
                raise ValueError(f"each window needs 0 <= start < end, found ({start}, {end})")
        return value


class FlowAnticipation(RuleDetector):
    """Over the day, clients keep trading the way the AMM just traded, beyond public news."""

    name = "flow_anticipation"
    typology = Typology.FR_FLOW_ANTICIPATION
    version = "2.1.0"
    help = (
        "Per AMM account and day, an event study: after each of the account's aggressive "
        "orders (IOC, FOK, market), the clients' signed decisions over the next minutes in the "
        "order's direction, net of what their own past flow and the public price move "
        "predict. The baseline is the same orders shifted to random times of the day; alerts "
        "when the day's sum is beyond that baseline by more than the false-alert rate allows."
    )
    params_model = FlowAnticipationParams

    def run(self, data: SymbolDay, params: FlowAnticipationParams) -> DetectorOutput:
        orders = {a: aggressive_orders(data, a) for a in data.amm_accounts}
        judged = [a for a, o in orders.items() if len(o) >= params.min_orders]
        peers = {a: aggressive_orders(data, a) for a in data.external_mm_accounts}
        peers = {a: o for a, o in peers.items() if len(o) >= params.min_orders}
        unjudged = pd.DataFrame(
            {
                "account_id": list(orders),
                "role": [data.role_of.get(a, "") for a in orders],
                "orders": [len(o) for o in orders.values()],
                "best_window": -1,
                "z_max": np.nan,
                "p_adjusted": 1.0,
            }
        )
        if not judged:
            return DetectorOutput(unjudged, candidates_frame([]))
        model = ClientFlowModel(
            data, params.windows_s, int(params.parent_gap_s * NS), int(params.grid_step_s * NS)
        )
        gap = int(params.min_shift_s * NS)
        if model.span_ns <= 4 * gap:
            return DetectorOutput(unjudged, candidates_frame([]))
        offsets = np.random.default_rng(params.shifts).integers(
            gap, model.span_ns - gap, size=params.shifts, dtype=np.int64
        )
        n_windows = len(params.windows_s)
        examined = {**{a: orders[a] for a in judged}, **peers}
        studies = {
            a: anticipation_study(model, o["t"].to_numpy(), o["sign"].to_numpy(), offsets)
            for a, o in examined.items()
        }
        features = pd.DataFrame(
            [
                {
                    "account_id": a,
                    "role": data.role_of.get(a, ""),
                    "orders": len(examined[a]),
                    "best_window": int(np.argmax(s["z"])),
                    "z_max": float(np.max(s["z"])),
                    "p_adjusted": _p_adjusted(float(np.max(s["z"])), n_windows, len(judged)),
                }
                for a, s in studies.items()
            ]
        )
        features = pd.concat(
            [features, unjudged[~unjudged["account_id"].isin(list(studies))]], ignore_index=True
        )
        peer_z = {a: round(float(np.max(studies[a]["z"])), 2) for a in peers}
        start, end = day_bounds(data.day)
        rows = []
        for account in judged:
            s = studies[account]
            k = int(np.argmax(s["z"]))
            z = float(s["z"][k])
            p_adj = _p_adjusted(z, n_windows, len(judged))
            if p_adj >= params.alpha:
                continue
            rows.append(
                self._alert(data, account, orders[account], s, k, p_adj, peer_z, params)
                | {"window_start": int(start.value), "window_end": int(end.value) - 1}
            )
        return DetectorOutput(features, candidates_frame(rows))

    @staticmethod
    def _alert(
        data: SymbolDay,
        account: str,
        orders: pd.DataFrame,
        s: dict[str, np.ndarray],
        k: int,
        p_adj: float,
        peer_z: dict[str, float],
        params: FlowAnticipationParams,
    ) -> dict[str, Any]:
        a, b = params.windows_s[k]
        n = len(orders)
        contribution = s["contribution"][:, k]
        ahead = contribution > 0
        top = np.argsort(-contribution, kind="stable")[: min(200, int(ahead.sum()))]
        order_ids = orders["order_id"].to_numpy(dtype=object)[top].tolist()
        tv = data.trade_view
        trade_ids = tv.loc[tv["taker_order"].isin(set(order_ids)), "trade_id"].tolist()
        excess_per_order = (s["observed"][k] - s["placebo_mean"][k]) / n
        z = float(s["z"][k])
        peers = (
            "External market makers' aggressive orders reach at most z = "
            f"{max(peer_z.values()):.1f}."
            if peer_z
            else "No external market maker sent enough aggressive orders to compare."
        )
        explanation = (
            f"Over the day, {account} sent {n} aggressive orders in {data.symbol}. In the "
            f"{a:g}-{b:g} s after them, clients went on to trade in the same direction more than "
            f"their own recent flow and the public price move predicted: "
            f"{excess_per_order:+.2f} standard units per order beyond the same orders shifted "
            f"to {params.shifts} other times of the day (z = {z:.1f}; probability "
            f"{p_adj:.1e} after allowing for {len(params.windows_s)} windows and the AMM "
            f"accounts judged). {int(ahead.sum())} of its orders were followed by clients' "
            f"flow its way. {peers}"
        )
        return {
            "account_id": account,
            "excess": float(np.log10(params.alpha / max(p_adj, 1e-300)) + 1.0),
            "order_ids": order_ids,
            "trade_ids": trade_ids,
            "explanation": explanation,
            "features": {
                "z": z,
                "window_s": [a, b],
                "z_by_window": [float(v) for v in s["z"]],
                "aggressive_orders": n,
                "orders_followed_by_flow": int(ahead.sum()),
                "observed": float(s["observed"][k]),
                "baseline_shift_mean": float(s["placebo_mean"][k]),
                "baseline_shift_sd": float(s["placebo_sd"][k]),
                "baseline_shifts": params.shifts,
                "p_adjusted": p_adj,
                "peer_z": peer_z,
            },
        }


def _p_adjusted(z: float, windows: int, accounts: int) -> float:
    """One-sided normal tail of ``z``, Bonferroni-adjusted for windows and accounts."""
    tail = 0.5 * math.erfc(z / math.sqrt(2.0))
    return float(min(1.0, tail * windows * max(accounts, 1)))


def _adjusted_p(features: pd.DataFrame, n_tests: int, n_parent_tests: int) -> np.ndarray:
    """Each slice's probability adjusted for every test of the symbol-day: the smaller of
    its own test's and its parent's, by the weighted Benjamini-Hochberg procedure.

    The family is every (slice, AMM account) test and every (parent, account) test,
    ``m`` in all; slice tests carry weight ``SLICE_SHARE * m / n_tests`` and parent tests
    the rest, so that weights average one (Genovese, Roeder and Wasserman, 2006). An
    alert at ``alpha`` then keeps the expected share of false alerts among the day's
    alerts at ``alpha`` and, on a day with no trading ahead at all, the chance of any
    alert too; with one clear episode it asks as much of a slice as Bonferroni does,
    and with several it asks less of the weaker ones (a sliced parent traded ahead of
    on two slices, say). Tests of accounts that did not trade count in ``m`` and never
    pass.
    """
    m = n_tests + n_parent_tests
    slice_weight = SLICE_SHARE * m / n_tests
    parent_weight = (1.0 - SLICE_SHARE) * m / n_parent_tests
    parents = features.drop_duplicates(["amm_account", "parent"])
    weighted = np.concatenate(
        [
            features["p_slice"].to_numpy(dtype=float) / slice_weight,
            parents["p_parent"].to_numpy(dtype=float) / parent_weight,
        ]
    )
    order = np.argsort(weighted, kind="stable")
    rank = np.arange(1, len(weighted) + 1)
    stepped = np.minimum.accumulate((weighted[order] * m / rank)[::-1])[::-1]
    adjusted = np.empty(len(weighted))
    adjusted[order] = np.minimum(stepped, 1.0)
    by_slice = adjusted[: len(features)]
    parent_key = pd.MultiIndex.from_frame(parents[["amm_account", "parent"]])
    by_parent = pd.Series(adjusted[len(features) :], index=parent_key)
    row_key = pd.MultiIndex.from_frame(features[["amm_account", "parent"]])
    return np.minimum(by_slice, by_parent.reindex(row_key).to_numpy(dtype=float))


def _parent_p(p_slice: pd.Series) -> float:
    """Chance that at least ``m`` of a parent's ``k`` slices have placebo probabilities as
    small as its ``m``-th smallest, for the best ``m >= 2`` (times the ``k - 1`` choices).

    Slices are independent under the baseline (the account's round trips at unrelated
    times), so the count below a level is binomial. One slice alone is the slice test's
    business; this test gathers several slices, each short of significance alone.
    """
    p = np.sort(p_slice.to_numpy(dtype=float))
    k = len(p)
    if k < 2 or p[1] >= 1.0:
        return 1.0
    best = 1.0
    for m in range(2, k + 1):
        if p[m - 1] >= 1.0:
            break
        q = float(p[m - 1])
        tail = sum(math.comb(k, j) * q**j * (1.0 - q) ** (k - j) for j in range(m, k + 1))
        best = min(best, tail)
    return min(1.0, best * (k - 1))


def _episodes(flagged: pd.DataFrame, gap_ns: int) -> np.ndarray:
    """One episode id per flagged slice: slices of one parent, or whose windows overlap
    (less than ``gap_ns`` apart), are one episode, so that one round trip ahead of two
    clients' orders, or ahead of several slices of one parent, is one alert."""
    order = np.argsort(flagged["arrival"].to_numpy(dtype=np.int64), kind="stable")
    arrival = flagged["arrival"].to_numpy(dtype=np.int64)[order]
    parent = flagged["parent"].to_numpy()[order]
    ids = np.zeros(len(order), dtype=np.int64)
    episode_of_parent: dict[object, int] = {}
    current = -1
    for i in range(len(order)):
        known = episode_of_parent.get(parent[i])
        if known is not None:
            ids[i] = known
        elif i > 0 and arrival[i] - arrival[i - 1] < gap_ns:
            ids[i] = ids[i - 1]
        else:
            current += 1
            ids[i] = current
        episode_of_parent.setdefault(parent[i], int(ids[i]))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = ids
    return out
