"""Rule detectors of the FRONT_RUNNING family."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.front_running import (
    ahead_and_reversal,
    amm_net_flow,
    client_large_orders,
    flow_buckets,
    lead_statistic,
)
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Typology
from surveillance.days import day_bounds


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
        60.0,
        gt=0,
        description="Seconds after the client order's arrival in which the AMM's trading the "
        "other way counts as the reversal (long enough to cover the parent's next slice).",
    )
    grid_step_s: float = Field(
        1.0,
        gt=0,
        description="Spacing of the placebo times: the AMM's own ahead-and-reverse behaviour "
        "at every step of the day, both directions, is the baseline.",
    )
    alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="False-alert rate per symbol-day: a parent order alerts when the share of "
        "random shifts of its slice times at which the account traded at least as much ahead "
        "and back, times the number of parents and AMM accounts examined, is below this.",
    )
    shifts: int = Field(
        20_000,
        ge=100,
        description="Random shifts of each parent's slice pattern over the day (the baseline; "
        "fixed seed, so results are reproducible).",
    )
    min_reversal: float = Field(
        0.5,
        gt=0,
        le=1,
        description="The account must trade back at least this share of its ahead quantity "
        "(a hedge is not reversed; trading ahead is).",
    )
    min_share_of_client: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Ahead quantity must be at least this share of the client order.",
    )
    parent_gap_s: float = Field(
        60.0,
        gt=0,
        description="Large orders of one client and side less than this many seconds apart are "
        "slices of one parent order: one test and one alert.",
    )


class TradingAhead(RuleDetector):
    """The AMM trades on the client's side just before a large client order, then reverses."""

    name = "trading_ahead"
    typology = Typology.FR_TRADING_AHEAD
    version = "2.1.0"
    help = (
        "For each slice of a large client parent order and each AMM account: the account's "
        "aggressive net quantity on the client's side in the seconds before the slice arrived, "
        "and what it deliberately traded back afterwards (not counting its ordinary fills of "
        "that slice). The baseline is the account's own behaviour: the same ahead-and-back "
        "volume around the parent's slice pattern shifted to random times of the day (and, "
        "reported per slice, at placebo seconds away from large orders)."
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
        parents = large["parent"].to_numpy()
        n_tests = len(np.unique(parents)) * len(data.amm_accounts)
        offsets = np.random.default_rng(params.shifts).integers(
            0, 24 * 3600 * NS, size=params.shifts, dtype=np.int64
        )
        feature_frames = []
        rows = []
        for account in data.amm_accounts:
            flow = amm_net_flow(data, [account])
            if flow.empty:
                continue
            ahead, rev = ahead_and_reversal(
                flow, times, signs, pre, post, large["order_id"].to_numpy(dtype=object)
            )
            g_ahead, g_rev = ahead_and_reversal(flow, grid_t, grid_s, pre, post)
            g_rev = np.minimum(g_rev, g_ahead)
            rev_capped = np.minimum(rev, ahead)
            order = np.argsort(-g_ahead, kind="stable")
            ga, gr = g_ahead[order], g_rev[order]
            counts = np.zeros(len(times))
            active = (ahead > 0) & (rev_capped >= params.min_reversal * ahead) & (rev_capped > 0)
            for i in np.flatnonzero(active):
                top = np.searchsorted(-ga, -ahead[i], side="right")
                counts[i] = np.count_nonzero(gr[:top] >= rev_capped[i])
            p_place = np.where(active, (counts + 1.0) / (len(grid_t) + 1.0), 1.0)
            share = ahead / large["taker_qty"].to_numpy(dtype=float)
            frame = large[["order_id", "account_id", "sign", "arrival", "taker_qty"]].assign(
                amm_account=account,
                ahead_qty=ahead,
                reversal_qty=rev_capped,
                placebo_count=counts,
                p_placebo=p_place,
                parent=parents,
            )
            # The decision is per parent order: its slices' ahead-and-back volume against
            # the same slice pattern shifted to random times of the day (the account's own
            # behaviour when that client is not there).
            both = np.where(active, rev_capped, 0.0)
            frame["ahead_and_back"] = both
            p_parent = {}
            for parent, idx in frame.groupby("parent").indices.items():
                observed = float(both[idx].sum())
                if observed <= 0:
                    p_parent[parent] = 1.0
                    continue
                shifted = _shifted_times(times[idx], offsets, day_start)
                s_ahead, s_rev = ahead_and_reversal(
                    flow, shifted.ravel(), np.repeat(signs[idx], len(offsets)), pre, post
                )
                s_rev = np.minimum(s_rev, s_ahead)
                s_both = (
                    np.where((s_ahead > 0) & (s_rev >= params.min_reversal * s_ahead), s_rev, 0.0)
                    .reshape(len(idx), len(offsets))
                    .sum(axis=0)
                )
                p_parent[parent] = (np.count_nonzero(s_both >= observed) + 1.0) / (
                    len(offsets) + 1.0
                )
            frame["p_parent"] = frame["parent"].map(p_parent)
            frame["p_adjusted"] = np.minimum(frame["p_parent"] * n_tests, 1.0)
            feature_frames.append(frame)
            hit = (
                active
                & (frame["p_adjusted"].to_numpy() < params.alpha)
                & (share >= params.min_share_of_client)
            )
            flagged = frame[hit]
            if flagged.empty:
                continue
            ft = flow["t"].to_numpy()
            for _, ep in flagged.groupby("parent", sort=True):
                rows.append(
                    self._alert(
                        data, account, ep, flow, ft, pre, post, threshold, n_tests, len(grid_t)
                    )
                )
        features = pd.concat(feature_frames, ignore_index=True) if feature_frames else large
        return DetectorOutput(features, candidates_frame(rows))

    @staticmethod
    def _alert(
        data: SymbolDay,
        account: str,
        ep: pd.DataFrame,
        flow: pd.DataFrame,
        ft: np.ndarray,
        pre: int,
        post: int,
        threshold: float,
        n_tests: int,
        n_placebo: int,
    ) -> dict[str, object]:
        sign = int(ep["sign"].iloc[0])
        client_orders = set(ep["order_id"])
        ahead_idx: list[int] = []
        rev_idx: list[int] = []
        signed = flow["signed"].to_numpy()
        taker = flow["taker"].to_numpy(dtype=bool)
        cp_order = flow["counterparty_order"].to_numpy(dtype=object)
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
        rev_qty = float(ep["reversal_qty"].sum())
        best = ep.iloc[int(np.argmin(ep["p_adjusted"].to_numpy()))]
        client = str(ep["account_id"].iloc[0])
        side = "bought" if sign > 0 else "sold"
        client_side = "buy" if sign > 0 else "sell"
        rev_side = "sold" if sign > 0 else "bought"
        trade_ids = flow["trade_id"].to_numpy(dtype=object)
        explanation = (
            f"{account} {side} {text.qty(data, ahead_qty)} aggressively in the "
            f"{text.secs(pre)} before {len(ep)} of client {client}'s large {client_side} orders "
            f"(first at {text.hms(int(ep['arrival'].min()))} UTC, "
            f"{text.qty(data, float(ep['taker_qty'].sum()))} in all; large means at least "
            f"{text.qty(data, threshold)} today), then {rev_side} {text.qty(data, rev_qty)} "
            f"back within {text.secs(post)} at {text.bps(profit_bps)} against its entry. "
            f"Around the same slice pattern shifted to random times of the day it traded as "
            f"much ahead and back with probability {float(best['p_parent']):.1e} "
            f"({n_tests} parent-account pairs examined); per slice, it trades that much ahead "
            f"and back in {int(best['placebo_count'])} of {n_placebo} placebo seconds away "
            f"from large orders."
        )
        times = ft[ahead_idx + rev_idx]
        return {
            "account_id": account,
            "window_start": int(min(times.min(), ep["arrival"].min())),
            "window_end": int(max(times.max(), ep["arrival"].max())),
            "excess": float(np.log10(0.05 / max(float(best["p_adjusted"]), 1e-300)) + 1.0),
            "order_ids": sorted(client_orders),
            "trade_ids": sorted(set(trade_ids[ahead_idx + rev_idx])),
            "explanation": explanation,
            "features": {
                "ahead_qty": ahead_qty,
                "reversal_qty": rev_qty,
                "profit_bps": profit_bps,
                "client_orders": len(ep),
                "client_qty": float(ep["taker_qty"].sum()),
                "client_account": client,
                "baseline_large_threshold": threshold,
                "baseline_placebo_count": int(best["placebo_count"]),
                "baseline_placebo_times": n_placebo,
                "p_placebo": float(best["p_placebo"]),
                "p_parent_shift": float(best["p_parent"]),
                "p_adjusted": float(best["p_adjusted"]),
            },
        }


class FlowAnticipationParams(SectionModel):
    """Parameters of ``rule:flow_anticipation``."""

    enabled: bool = Field(True, description="Run this detector.")
    bucket_s: float = Field(5.0, gt=0, description="Width of the flow buckets, in seconds.")
    lead_buckets: int = Field(
        6, ge=1, description="How many following buckets of client flow the AMM's flow may lead."
    )
    min_t: float = Field(
        4.0,
        gt=0,
        description="Least t-statistic of the partial lead correlation (AMM flow against the "
        "clients' future flow, controlling for their past flow and public returns).",
    )
    peer_margin: float = Field(
        2.0,
        ge=0,
        description="The AMM's t-statistic must also exceed the highest external market "
        "maker's by this much (peers face the same public information).",
    )


class FlowAnticipation(RuleDetector):
    """Over the day, the AMM's flow leads clients' flow beyond public information."""

    name = "flow_anticipation"
    typology = Typology.FR_FLOW_ANTICIPATION
    version = "1.0.0"
    help = (
        "Per AMM account and day: the partial correlation between its net flow against "
        "non-clients and the clients' signed taker flow over the next buckets, controlling for "
        "the clients' past flow and public returns, as a t-statistic; alerts when it is "
        "significant and above every external market maker's."
    )
    params_model = FlowAnticipationParams

    def run(self, data: SymbolDay, params: FlowAnticipationParams) -> DetectorOutput:
        bucket = int(params.bucket_s * NS)
        client_flow, returns, mm_flow, _starts = flow_buckets(data, bucket)
        stats = {
            acc: lead_statistic(flow, client_flow, returns, params.lead_buckets)
            for acc, flow in mm_flow.items()
        }
        features = pd.DataFrame(
            [
                {"account_id": acc, "role": data.role_of.get(acc, ""), **s}
                for acc, s in stats.items()
            ]
        )
        peers = [stats[a]["t"] for a in data.external_mm_accounts if a in stats]
        peer_max = max(peers) if peers else 0.0
        start, end = day_bounds(data.day)
        rows = []
        for account in data.amm_accounts:
            if account not in stats:
                continue
            s = stats[account]
            bar = max(params.min_t, peer_max + params.peer_margin)
            if s["t"] < bar:
                continue
            tv = data.trade_view
            mine = tv[(tv["buy_account"] == account) | (tv["sell_account"] == account)]
            explanation = (
                f"Over the day, {account}'s net flow in {data.symbol} led clients' signed flow: "
                f"its flow in each {params.bucket_s:g} s bucket correlates with the clients' "
                f"flow over the next {params.lead_buckets * params.bucket_s:g} s (partial "
                f"r = {s['r']:.3f}, t = {s['t']:.1f} over {int(s['n'])} active buckets) after "
                f"removing what the clients' past flow and public price moves explain. External "
                f"market makers reach at most t = {peer_max:.1f}; the threshold is "
                f"t = {bar:.1f}."
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(start.value),
                    "window_end": int(end.value) - 1,
                    "excess": float(s["t"] / bar),
                    "order_ids": [],
                    "trade_ids": sorted(mine["trade_id"])[:200],
                    "explanation": explanation,
                    "features": {
                        "lead_t": s["t"],
                        "lead_r": s["r"],
                        "raw_r": s["r_raw"],
                        "active_buckets": s["n"],
                        "peer_max_t": peer_max,
                        "peer_t": {
                            a: stats[a]["t"] for a in data.external_mm_accounts if a in stats
                        },
                    },
                }
            )
        return DetectorOutput(features, candidates_frame(rows))


def _shifted_times(times: np.ndarray, offsets: np.ndarray, day_start: int) -> np.ndarray:
    """``times`` moved by each offset, wrapped around the day: shape (len(times), offsets)."""
    day = 24 * 3600 * NS
    return day_start + (times[:, None] - day_start + offsets[None, :]) % day
