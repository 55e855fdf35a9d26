"""Rule detectors of the FRONT_RUNNING family."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.front_running import (
    amm_net_flow,
    client_parents,
    flow_buckets,
    lead_statistic,
    tiled_flow,
)
from features.windows import window_bounds
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Typology
from surveillance.days import day_bounds


class TradingAheadParams(SectionModel):
    """Parameters of ``rule:trading_ahead``."""

    enabled: bool = Field(True, description="Run this detector.")
    parent_gap_s: float = Field(
        30.0,
        gt=0,
        description="A client's same-side taker orders less than this many seconds apart are "
        "one parent order.",
    )
    large_quantile: float = Field(
        0.95,
        gt=0,
        lt=1,
        description="A client parent order is large when its executed quantity is at or above "
        "this quantile of the day's client parent orders in the symbol.",
    )
    min_parents: int = Field(
        20, ge=1, description="Fewest client parent orders needed to judge what is large."
    )
    pre_window_s: float = Field(
        10.0, gt=0, description="Seconds before the client's first instruction that count as ahead."
    )
    post_window_s: float = Field(
        30.0, gt=0, description="Seconds after the client's last fill in which a reversal counts."
    )
    baseline_quantile: float = Field(
        0.99,
        gt=0,
        lt=1,
        description="The AMM's usual net flow is this quantile of its absolute net flow over "
        "windows of the same length tiling the day; ahead volume must exceed it.",
    )
    min_share_of_client: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Ahead volume must be at least this share of the client's parent quantity.",
    )
    min_reversal: float = Field(
        0.3,
        ge=0,
        le=1,
        description="The AMM must reverse at least this share of its ahead volume within the "
        "post window.",
    )


class TradingAhead(RuleDetector):
    """The AMM trades on the client's side just before a large client order, then reverses."""

    name = "trading_ahead"
    typology = Typology.FR_TRADING_AHEAD
    version = "1.0.0"
    help = (
        "For each large client parent order (slices of one account and side; large against "
        "the day's client orders), measures each AMM account's net volume on the client's side "
        "from shortly before the client's first instruction to its last fill, against the "
        "account's usual net flow over windows of the same length, and its reversal and "
        "profit after the client's order moved the price."
    )
    params_model = TradingAheadParams

    def run(self, data: SymbolDay, params: TradingAheadParams) -> DetectorOutput:
        parents = client_parents(data, int(params.parent_gap_s * NS))
        if len(parents) < params.min_parents or not data.amm_accounts:
            return DetectorOutput(parents, candidates_frame([]))
        threshold = float(np.quantile(parents["qty"], params.large_quantile))
        large = parents[parents["qty"] >= threshold].reset_index(drop=True)
        day_start = int(day_bounds(data.day)[0].value)
        pre = int(params.pre_window_s * NS)
        post = int(params.post_window_s * NS)
        rows = []
        feature_rows = []
        for account in data.amm_accounts:
            flow = amm_net_flow(data, [account])
            if flow.empty:
                continue
            t_all = flow["t"].to_numpy()
            s_all = flow["signed"].to_numpy()
            p_all = flow["price"].to_numpy()
            id_all = flow["trade_id"].to_numpy()
            cp_all = flow["counterparty"].to_numpy()
            baselines: dict[int, float] = {}
            for parent in large.to_dict("records"):
                start, end = int(parent["t0"]) - pre, int(parent["t1"])
                sign = int(parent["sign"])
                # The client's own fills against this AMM account are not "ahead" trading.
                lo, hi = window_bounds(t_all, np.array([start]), np.array([end]))
                lo2, hi2 = window_bounds(
                    t_all, np.array([end]), np.array([end + post]), closed="right"
                )
                ahead_sl, after_sl = slice(lo[0], hi[0]), slice(lo2[0], hi2[0])
                keep1 = cp_all[ahead_sl] != parent["account_id"]
                keep2 = cp_all[after_sl] != parent["account_id"]
                seg_s, seg_p = s_all[ahead_sl][keep1], p_all[ahead_sl][keep1]
                rs, rp = s_all[after_sl][keep2], p_all[after_sl][keep2]
                ahead = float(sign * seg_s.sum())
                after = float(-sign * rs.sum())
                # Baseline: the account's absolute net flow over windows of (about) the same
                # length tiling the day; widths are bucketed to powers of two seconds.
                width_bin = int(2 ** np.ceil(np.log2(max((end - start) / NS, 1.0))))
                if width_bin not in baselines:
                    base = np.abs(tiled_flow(t_all, s_all, width_bin * NS, day_start))
                    baselines[width_bin] = float(np.quantile(base, params.baseline_quantile))
                baseline = baselines[width_bin]
                same = seg_s * sign > 0
                entry = (
                    float(np.average(seg_p[same], weights=np.abs(seg_s[same])))
                    if same.any()
                    else np.nan
                )
                opp = rs * sign < 0
                exit_ = float(np.average(rp[opp], weights=np.abs(rs[opp]))) if opp.any() else np.nan
                profit_bps = (
                    sign * (exit_ - entry) / entry * 1e4
                    if np.isfinite(entry) and np.isfinite(exit_)
                    else np.nan
                )
                share = ahead / float(parent["qty"]) if parent["qty"] else 0.0
                reversal = min(after, max(ahead, 0.0)) / ahead if ahead > 0 else 0.0
                feature_rows.append(
                    {
                        "account_id": account,
                        "client_account": parent["account_id"],
                        "client_sign": sign,
                        "t0": int(parent["t0"]),
                        "t1": int(parent["t1"]),
                        "client_qty": float(parent["qty"]),
                        "large_threshold": threshold,
                        "ahead_qty": ahead,
                        "baseline_qty": baseline,
                        "after_qty": after,
                        "reversal": reversal,
                        "profit_bps": profit_bps,
                    }
                )
                fires = (
                    ahead > baseline
                    and share >= params.min_share_of_client
                    and reversal >= params.min_reversal
                )
                if not fires:
                    continue
                excess = ahead / baseline if baseline > 0 else 4.0
                side = "bought" if sign > 0 else "sold"
                client_side = "buy" if sign > 0 else "sell"
                rev_side = "sold" if sign > 0 else "bought"
                evidence_trades = list(id_all[ahead_sl][keep1][same]) + list(
                    id_all[after_sl][keep2][opp]
                )
                profit_text = (
                    f" at {text.bps(profit_bps)} against its entry"
                    if np.isfinite(profit_bps)
                    else ""
                )
                explanation = (
                    f"{account} {side} {text.qty(data, ahead)} net in the "
                    f"{text.secs(int(parent['t1']) - start)} from {text.hms(start)} UTC, ahead of "
                    f"and during client {parent['account_id']}'s {text.qty(data, parent['qty'])} "
                    f"{client_side} ({parent['n_orders']} order(s), first at "
                    f"{text.hms(int(parent['t0']))}), then {rev_side} "
                    f"{text.qty(data, min(after, ahead))} within {text.secs(post)} after the "
                    f"client's last fill{profit_text}. Its usual net flow over windows of that "
                    f"length is at most {text.qty(data, baseline)} "
                    f"(q{params.baseline_quantile:.0%}); the client's order is "
                    f"above the day's q{params.large_quantile:.0%} of "
                    f"{text.qty(data, threshold)}."
                )
                rows.append(
                    {
                        "account_id": account,
                        "window_start": start,
                        "window_end": end + post,
                        "excess": float(excess),
                        "order_ids": list(parent["order_ids"]),
                        "trade_ids": evidence_trades,
                        "explanation": explanation,
                        "features": {
                            "ahead_qty": ahead,
                            "baseline_abs_net_flow_q": baseline,
                            "client_qty": float(parent["qty"]),
                            "client_large_threshold": threshold,
                            "share_of_client": share,
                            "reversal_share": reversal,
                            "profit_bps": profit_bps,
                            "client_account": parent["account_id"],
                        },
                    }
                )
        return DetectorOutput(pd.DataFrame(feature_rows), candidates_frame(rows))


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
