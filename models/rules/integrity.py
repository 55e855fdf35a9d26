"""Rule detectors of the MARKET_INTEGRITY family."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.front_running import tiled_flow
from features.integrity import (
    aggressive_flow_rate,
    liquidation_clusters,
    non_compliant_spans,
    obligation_timeline,
    same_group_trades,
)
from features.spread import quote_spread_series
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Role, Typology
from surveillance.days import day_bounds

GroupRole = Literal["AFFILIATED_MM", "HOUSE", "EXTERNAL_MM", "CLIENT"]


class WashTradeParams(SectionModel):
    """Parameters of ``rule:wash_trade``."""

    enabled: bool = Field(True, description="Run this detector.")
    group_roles: tuple[GroupRole, ...] = Field(
        ("AFFILIATED_MM", "HOUSE"),
        description="Roles that make up the operator's group: a trade between two accounts "
        "with these roles is a wash trade even across entity ids.",
    )
    flag_roles: tuple[GroupRole, ...] = Field(
        ("AFFILIATED_MM", "HOUSE"),
        description="A same-entity or same-group trade is alerted when one of its sides has "
        "one of these roles (same-entity trades of clients are a different surveillance).",
    )
    episode_gap_s: float = Field(
        60.0,
        gt=0,
        description="Same-pair trades less than this many seconds apart form one episode "
        "(one alert).",
    )


class WashTrade(RuleDetector):
    """Trades with no change of beneficial ownership involving the operator's group."""

    name = "wash_trade"
    typology = Typology.MI_WASH_TRADE
    version = "1.0.0"
    help = (
        "Flags trades whose buyer and seller are the same entity, or two accounts of the "
        "operator's group (AMM and HOUSE), grouped into episodes per account pair. The "
        "alert names the group account that initiated the trade (the taker) and compares "
        "the episode's volume with the account's day volume."
    )
    params_model = WashTradeParams

    def run(self, data: SymbolDay, params: WashTradeParams) -> DetectorOutput:
        trades = same_group_trades(data, frozenset(params.group_roles))
        flag: set[str] = set(params.flag_roles)
        keep = np.isin(trades["buy_role"], list(flag)) | np.isin(trades["sell_role"], list(flag))
        trades = trades.loc[keep].sort_values(["pair", "t"], kind="stable").reset_index(drop=True)
        if trades.empty:
            return DetectorOutput(trades, candidates_frame([]))
        gap = int(params.episode_gap_s * NS)
        new_episode = (trades["pair"] != trades["pair"].shift()) | (
            trades["t"].diff().fillna(gap + 1) > gap
        )
        trades["episode"] = np.cumsum(new_episode.to_numpy()) - 1
        tv = data.trade_view
        median_trade = float(np.median(tv["qty"])) if len(tv) else float("nan")
        rows = []
        for _, ep in trades.groupby("episode", sort=True):
            account = _flagged_account(ep, data, flag)
            other = (
                ep["sell_account"].iloc[0]
                if ep["buy_account"].iloc[0] == account
                else ep["buy_account"].iloc[0]
            )
            account_volume = float(
                tv.loc[
                    (tv["buy_account"] == account) | (tv["sell_account"] == account), "qty"
                ].sum()
            )
            volume = float(ep["qty"].sum())
            share = volume / account_volume if account_volume else 1.0
            same_entity = bool(ep["same_entity"].all())
            entity = data.entity_of.get(account, "?")
            relation = (
                f"of the same entity {entity}"
                if same_entity
                else f"of the operator's group ({data.role_of.get(other, '?')})"
            )
            # A wash trade is a breach in itself: it starts at twice the threshold,
            # and grows with its size against the typical trade.
            excess = 2.0 + np.log2(1.0 + volume / median_trade) / 4.0 if median_trade else 2.0
            explanation = (
                f"{account} traded {len(ep)} time(s) with {other}, an account {relation}, "
                f"between {text.hms(ep['t'].min())} and {text.hms(ep['t'].max())} UTC: "
                f"{text.qty(data, volume)} at {text.price(ep['price'].min())}"
                f"-{text.price(ep['price'].max())}, with no change in beneficial ownership. "
                f"That is {share:.1%} of {account}'s volume today; a typical trade in "
                f"{data.symbol} is {text.qty(data, median_trade)}."
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(ep["t"].min()),
                    "window_end": int(ep["t"].max()),
                    "excess": float(excess),
                    "order_ids": sorted(set(ep["buy_order"]) | set(ep["sell_order"])),
                    "trade_ids": sorted(ep["trade_id"]),
                    "explanation": explanation,
                    "features": {
                        "n_trades": len(ep),
                        "volume": volume,
                        "notional": float(ep["notional"].sum()),
                        "counterparty": other,
                        "same_entity": same_entity,
                        "baseline_median_trade_qty": median_trade,
                        "share_of_account_volume": share,
                    },
                }
            )
        features = trades[
            [
                "trade_id",
                "t",
                "price",
                "qty",
                "buy_account",
                "sell_account",
                "buy_role",
                "sell_role",
                "same_entity",
                "group",
                "episode",
            ]
        ]
        return DetectorOutput(features, candidates_frame(rows))


def _flagged_account(ep: pd.DataFrame, data: SymbolDay, flag: set[str]) -> str:
    """The group account an analyst should look at: the AMM first, then the taker."""
    first = ep.iloc[0]
    taker, maker = first["taker_account"], first["maker_account"]
    amm = Role.AFFILIATED_MM.value
    for account in (taker, maker):
        if data.role_of.get(account) == amm:
            return str(account)
    for account in (taker, maker):
        if data.role_of.get(account) in flag:
            return str(account)
    return str(taker)


class LiquidationHuntingParams(SectionModel):
    """Parameters of ``rule:liquidation_hunting``."""

    enabled: bool = Field(True, description="Run this detector.")
    cluster_gap_s: float = Field(
        5.0,
        gt=0,
        description="Liquidation orders less than this many seconds apart are one cluster.",
    )
    pre_window_s: float = Field(
        60.0,
        gt=0,
        description="Seconds before a cluster (and through it) in which the AMM's aggression in "
        "the liquidations' direction counts.",
    )
    baseline_quantile: float = Field(
        0.999,
        gt=0,
        lt=1,
        description="The AMM's aggressive flow before the cluster must exceed this quantile of "
        "its aggressive flow over windows of the same length tiling the day.",
    )
    min_liquidation_share: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Least share of the cluster's liquidation volume the account took with "
        "orders entered just before (see fresh_s): positioned to absorb them.",
    )
    fresh_s: float = Field(
        5.0,
        gt=0,
        description="An order that filled liquidations counts as positioned for them when it "
        "was entered at most this many seconds before the fill.",
    )


class LiquidationHunting(RuleDetector):
    """The AMM pushes the price into client liquidations, then takes the liquidation orders."""

    name = "liquidation_hunting"
    typology = Typology.MI_LIQUIDATION_HUNTING
    version = "1.0.0"
    help = (
        "For each cluster of LIQUIDATION orders, measures each AMM account's aggressive (taker) "
        "flow in the liquidations' direction just before, against its own aggressive flow over "
        "windows of the same length tiling the day, and the share of the liquidation fills it "
        "took on the other side with their markout."
    )
    params_model = LiquidationHuntingParams

    def run(self, data: SymbolDay, params: LiquidationHuntingParams) -> DetectorOutput:
        clusters = liquidation_clusters(data, int(params.cluster_gap_s * NS))
        if clusters.empty or not data.amm_accounts:
            return DetectorOutput(clusters, candidates_frame([]))
        pre = int(params.pre_window_s * NS)
        day_start = int(day_bounds(data.day)[0].value)
        tv = data.trade_view
        liq_trades = tv[tv["taker_origin"] == "LIQUIDATION"]
        summary_t = data.order_summary.set_index("order_id")["t"]
        rows = []
        feats = []
        for account in data.amm_accounts:
            starts = clusters["start"].to_numpy(dtype=np.int64) - pre
            # the push runs up to and through the liquidations it triggers
            ends = clusters["end"].to_numpy(dtype=np.int64) + 1
            flow, _ = aggressive_flow_rate(data, [account], starts, ends)
            mine = tv[tv["taker_account"] == account]
            base = np.abs(
                tiled_flow(
                    mine["t"].to_numpy(),
                    (mine["taker_sign"] * mine["qty"]).to_numpy(dtype=float),
                    pre,
                    day_start,
                )
            )
            baseline = float(np.quantile(base, params.baseline_quantile))
            for i, cl in enumerate(clusters.to_dict("records")):
                sign = int(cl["sign"])
                pushed = float(sign * flow[i])
                fills = liq_trades[liq_trades["taker_order"].isin(cl["order_ids"])]
                took = fills[fills["maker_account"] == account]
                # the absorbing orders: entered just before the liquidations they filled
                born = took["maker_order"].map(summary_t).to_numpy(dtype=float, na_value=np.nan)
                age = took["t"].to_numpy(dtype=float) - born
                took = took[np.nan_to_num(age, nan=np.inf) <= params.fresh_s * NS]
                share = float(took["qty"].sum() / fills["qty"].sum()) if len(fills) else 0.0
                later = data.price_at(np.array([int(cl["end"]) + 60 * NS]))[0]
                avg = float(np.average(took["price"], weights=took["qty"])) if len(took) else np.nan
                markout_bps = (
                    -sign * (later - avg) / avg * 1e4 if np.isfinite(avg) and later else np.nan
                )
                feats.append(
                    {
                        "account_id": account,
                        "cluster": cl["cluster"],
                        "start": int(cl["start"]),
                        "end": int(cl["end"]),
                        "liquidation_sign": sign,
                        "pushed_qty": pushed,
                        "baseline_qty": baseline,
                        "liquidation_share": share,
                        "markout_bps": markout_bps,
                    }
                )
                if not (pushed > baseline and share >= params.min_liquidation_share):
                    continue
                direction = "sold" if sign < 0 else "bought"
                took_side = "bought" if sign < 0 else "sold"
                push_trades = mine[
                    (mine["t"] >= starts[i]) & (mine["t"] < ends[i]) & (mine["taker_sign"] == sign)
                ]
                markout_text = (
                    f", {text.bps(markout_bps)} one minute later"
                    if np.isfinite(markout_bps)
                    else ""
                )
                explanation = (
                    f"In the {text.secs(pre)} before {cl['n_orders']} liquidation order(s) "
                    f"from {text.hms(int(cl['start']))} UTC, {account} aggressively {direction} "
                    f"{text.qty(data, pushed)} net in their direction (its usual aggressive flow "
                    f"over such windows is at most {text.qty(data, baseline)}, "
                    f"q{params.baseline_quantile:.0%}), then {took_side} {share:.0%} of the "
                    f"liquidation volume ({text.qty(data, float(took['qty'].sum()))}) at an average "
                    f"{text.price(avg)}{markout_text}."
                )
                rows.append(
                    {
                        "account_id": account,
                        "window_start": int(starts[i]),
                        "window_end": int(max(cl["end"], took["t"].max() if len(took) else 0)),
                        "excess": float(pushed / baseline) if baseline > 0 else 4.0,
                        "order_ids": list(cl["order_ids"]),
                        "trade_ids": list(push_trades["trade_id"]) + list(took["trade_id"]),
                        "explanation": explanation,
                        "features": {
                            "pushed_qty": pushed,
                            "baseline_aggressive_qty": baseline,
                            "liquidation_share": share,
                            "liquidation_qty": float(cl["quantity"]),
                            "markout_bps": markout_bps,
                        },
                    }
                )
        return DetectorOutput(pd.DataFrame(feats), candidates_frame(rows))


class ObligationBreachParams(SectionModel):
    """Parameters of ``rule:obligation_breach``."""

    enabled: bool = Field(True, description="Run this detector.")
    min_span_s: float = Field(
        240.0,
        gt=0,
        description="Least duration of a continuous non-compliant span worth an alert; shorter "
        "gaps are ordinary requoting.",
    )
    baseline_quantile: float = Field(
        0.999,
        gt=0,
        lt=1,
        description="Quantile of the AMM's ordinary requoting gaps (its non-compliant spans "
        "shorter than min_span_s) that describes its usual worst gap.",
    )
    baseline_multiple: float = Field(
        3.0,
        ge=1,
        description="A span must also outlast this multiple of that usual worst gap (for an "
        "AMM whose ordinary gaps come close to the floor).",
    )
    merge_gap_s: float = Field(
        10.0,
        ge=0,
        description="Non-compliant spans separated by compliant moments shorter than this are "
        "one breach (a flickering quote does not meet the obligation).",
    )


class ObligationBreach(RuleDetector):
    """The AMM fails its quoting obligations: uptime, widest spread, least size."""

    name = "obligation_breach"
    typology = Typology.MI_OBLIGATION_BREACH
    version = "1.1.0"
    help = (
        "Replays the AMM's own resting ladder (all its accounts together) and checks it "
        "against the instrument's obligations: at least mm_min_quote_quantity on each side "
        "within mm_max_spread_bps. Alerts on non-compliant spans longer than both a floor and "
        "a multiple of the AMM's ordinary requoting gaps, and when the day's uptime falls "
        "below mm_min_uptime."
    )
    params_model = ObligationBreachParams

    def run(self, data: SymbolDay, params: ObligationBreachParams) -> DetectorOutput:
        amm = data.amm_accounts
        if not amm:
            return DetectorOutput(pd.DataFrame(), candidates_frame([]))
        timeline = obligation_timeline(data, amm)
        start, end = (int(x.value) for x in day_bounds(data.day))
        spans = non_compliant_spans(timeline, start, end)
        if spans.empty:
            return DetectorOutput(spans, candidates_frame([]))
        uptime = 1.0 - float(spans["duration"].sum()) / (end - start)
        spans = _merge_spans(spans, int(params.merge_gap_s * NS))
        floor_ns = params.min_span_s * NS
        # The AMM's ordinary requoting gaps: the spans short of the floor. The
        # candidates themselves stay out of their own baseline, else a day with two
        # long breaches would raise the bar over the shorter of them.
        ordinary = spans["duration"].to_numpy(dtype=float)
        ordinary = ordinary[ordinary < floor_ns]
        natural = float(np.quantile(ordinary, params.baseline_quantile)) if len(ordinary) else 0.0
        bar = max(floor_ns, params.baseline_multiple * natural)
        # the account an analyst should look at: the AMM account quoting most of the day
        # The account an analyst should look at: the one making the AMM's inner quote,
        # i.e. with the tightest own two-sided spread over the day (the other accounts
        # quote the outer levels of the ladder).
        per_account = {}
        for acc in amm:
            spreads = quote_spread_series(data, [acc])["spread_bps"].to_numpy(dtype=float)
            spreads = spreads[np.isfinite(spreads) & (spreads > 0)]
            per_account[acc] = -float(np.median(spreads)) if len(spreads) else -np.inf
        account = max(per_account, key=lambda a: per_account[a])
        min_uptime = data.instrument.get("mm_min_uptime")
        rows = []
        long_spans = spans[spans["duration"] >= bar]
        ev = data.events
        for span in long_spans.to_dict("records"):
            inside = ev[
                ev["account_id"].isin(amm) & (ev["t"] >= span["start"]) & (ev["t"] <= span["end"])
            ]
            reason = {
                "one_sided": "had no two-sided quote",
                "spread": f"quoted wider than the {data.instrument.get('mm_max_spread_bps')} bps "
                f"maximum (up to {span['worst_spread_bps']:.1f} bps)",
                "size": f"rested less than the minimum size of "
                f"{data.instrument.get('mm_min_quote_quantity')} on a side",
            }[str(span["reason"])]
            explanation = (
                f"The AMM ({', '.join(amm)}) {reason} in {data.symbol} from "
                f"{text.hms(int(span['start']))} to {text.hms(int(span['end']))} UTC, "
                f"{text.secs(int(span['duration']))} without a compliant quote; its ordinary "
                f"requoting gaps last at most {text.secs(natural)} "
                f"(q{params.baseline_quantile:.1%}). Day uptime {uptime:.1%}"
                + (f" against the {float(min_uptime):.0%} obligation." if min_uptime else ".")
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(span["start"]),
                    "window_end": int(span["end"]),
                    "excess": float(span["duration"] / bar),
                    "order_ids": sorted(set(inside["order_id"]))[:200],
                    "trade_ids": [],
                    "explanation": explanation,
                    "features": {
                        "duration_ns": int(span["duration"]),
                        "reason": span["reason"],
                        "worst_spread_bps": span["worst_spread_bps"],
                        "baseline_span_q_ns": natural,
                        "day_uptime": uptime,
                        "min_uptime": min_uptime,
                    },
                }
            )
        if min_uptime is not None and uptime < float(min_uptime) and long_spans.empty:
            worst = spans.iloc[int(np.argmax(spans["duration"].to_numpy()))]
            rows.append(
                {
                    "account_id": account,
                    "window_start": start,
                    "window_end": end - 1,
                    "excess": float(min_uptime) / max(uptime, 1e-6),
                    "order_ids": [],
                    "trade_ids": [],
                    "explanation": (
                        f"The AMM ({', '.join(amm)}) kept a compliant two-sided quote in "
                        f"{data.symbol} for {uptime:.1%} of the day, below the "
                        f"{float(min_uptime):.0%} obligation, in {len(spans)} gaps (longest "
                        f"{text.secs(int(worst['duration']))} from "
                        f"{text.hms(int(worst['start']))} UTC)."
                    ),
                    "features": {"day_uptime": uptime, "min_uptime": float(min_uptime)},
                }
            )
        return DetectorOutput(spans, candidates_frame(rows))


def _merge_spans(spans: pd.DataFrame, gap_ns: int) -> pd.DataFrame:
    """Join spans whose compliant gap between them is shorter than ``gap_ns``."""
    if spans.empty or gap_ns <= 0:
        return spans
    s = spans.sort_values("start").reset_index(drop=True)
    new = np.concatenate([[True], s["start"].to_numpy()[1:] - s["end"].to_numpy()[:-1] > gap_ns])
    group = np.cumsum(new)
    g = s.groupby(group, sort=True)
    out = pd.DataFrame(
        {
            "start": g["start"].min(),
            "end": g["end"].max(),
            "reason": g["reason"].agg(lambda r: r.value_counts().index[0]),
            "worst_spread_bps": g["worst_spread_bps"].max(),
        }
    )
    out["duration"] = out["end"] - out["start"]
    return out.reset_index(drop=True)
