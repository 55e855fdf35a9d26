"""Rule detectors of the MARKET_INTEGRITY family."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.integrity import (
    liquidation_clusters,
    liquidation_conduct,
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
    min_cluster_orders: int = Field(
        2,
        ge=1,
        description="Least number of liquidation orders in a cluster: hunting targets a "
        "cluster of client liquidation prices, not one position.",
    )
    pre_window_s: float = Field(
        60.0,
        gt=0,
        description="An order that absorbed liquidations counts as positioned for them when it "
        "was entered at most this many seconds before the cluster's first liquidation order.",
    )
    min_size_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Least ratio between the positioned order's entered quantity and the "
        "cluster's liquidation quantity (smaller over larger): sized to the cluster.",
    )
    max_usual_size_share: float = Field(
        0.05,
        gt=0,
        le=1,
        description="The positioned order's quantity must be one the account rarely enters: at "
        "most this share of its orders of the day have that quantity (within size_tolerance). "
        "A market maker's ladder repeats its quote sizes; an order sized to a cluster does not.",
    )
    size_tolerance: float = Field(
        0.0025,
        gt=0,
        lt=1,
        description="Relative tolerance within which two order quantities count as the same size "
        "(a ladder repeats its sizes exactly, up to lot rounding).",
    )
    min_push_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Least share of the aggressive volume in the liquidations' direction, "
        "while the positioned order rested, that the account itself traded: it moved the "
        "price towards its own waiting order.",
    )
    markout_s: float = Field(
        60.0,
        gt=0,
        description="Horizon of the markout of the absorbing fills reported to the analyst.",
    )


class LiquidationHunting(RuleDetector):
    """The AMM pushes the price into client liquidations, then takes the liquidation orders."""

    name = "liquidation_hunting"
    typology = Typology.MI_LIQUIDATION_HUNTING
    version = "2.0.0"
    help = (
        "For each cluster of LIQUIDATION orders, finds the AMM account that absorbed them with "
        "an order it had entered just before, sized to the cluster rather than to its usual "
        "quotes, and that itself made most of the aggressive flow pushing the price to that "
        "order while it rested. The conjunction is compared with the account's own conduct at "
        "the day's other clusters and with the external market makers' at the same cluster."
    )
    params_model = LiquidationHuntingParams

    def run(self, data: SymbolDay, params: LiquidationHuntingParams) -> DetectorOutput:
        clusters = liquidation_clusters(data, int(params.cluster_gap_s * NS))
        if clusters.empty or not data.amm_accounts:
            return DetectorOutput(clusters, candidates_frame([]))
        amm = list(data.amm_accounts)
        peers = list(data.external_mm_accounts)
        conduct = liquidation_conduct(
            data,
            clusters,
            amm + peers,
            int(params.pre_window_s * NS),
            int(params.markout_s * NS),
            params.size_tolerance,
        )
        if conduct.empty:
            return DetectorOutput(conduct, candidates_frame([]))
        n_orders = clusters.set_index("cluster")["n_orders"]
        conduct["n_orders"] = conduct["cluster"].map(n_orders).to_numpy(dtype=np.int64)
        is_peer = conduct["account_id"].isin(peers).to_numpy()
        peer_best = conduct[is_peer].groupby("cluster")["score"].max()
        conduct["peer_score"] = conduct["cluster"].map(peer_best).fillna(0.0).to_numpy(float)
        fires = np.asarray(
            ~is_peer
            & (conduct["n_orders"] >= params.min_cluster_orders)
            & (conduct["positioned_qty"] > 0)
            & (conduct["size_ratio"] >= params.min_size_ratio)
            & (conduct["usual_size_share"] <= params.max_usual_size_share)
            & (conduct["push_qty"] > 0)
            & (conduct["push_share"] >= params.min_push_share)
            & (conduct["score"] > conduct["peer_score"]),
            dtype=bool,
        )
        tv = data.trade_view
        rows = []
        for row in conduct[fires].to_dict("records"):
            account, sign = str(row["account_id"]), int(row["sign"])
            own = conduct[(conduct["account_id"] == account) & ~fires]
            usual_score = float(own["score"].max()) if len(own) else 0.0
            first, last = int(row["first_entry"]), int(row["last_fill"])
            push_trades = tv[
                (tv["taker_account"] == account)
                & (tv["taker_sign"] == sign)
                & (tv["t"] >= first)
                & (tv["t"] <= last)
            ]
            direction = "sold" if sign < 0 else "bought"
            took_side = "bought" if sign < 0 else "sold"
            markout = float(row["markout_bps"])
            markout_text = (
                f"; markout {text.bps(markout)} after {text.secs(params.markout_s * NS)}"
                if np.isfinite(markout)
                else ""
            )
            explanation = (
                f"{account} entered an order of {text.qty(data, row['order_qty'])} "
                f"{text.secs(row['start'] - first)} before {row['n_orders']} "
                f"liquidation orders from {text.hms(int(row['start']))} UTC, sized at "
                f"{row['size_ratio']:.0%} of their {text.qty(data, row['liquidation_qty'])} "
                f"(a size it uses for {row['usual_size_share']:.2%} of its orders); while it "
                f"rested, {account} aggressively {direction} "
                f"{text.qty(data, row['push_qty'])}, {row['push_share']:.0%} of the market's "
                f"aggressive volume in that direction, then {took_side} "
                f"{row['positioned_share']:.0%} of the liquidation volume at an average "
                f"{text.price(row['avg_price'])}{markout_text}. Its conduct at the day's other "
                f"clusters scores at most {usual_score:.2f} (this one {row['score']:.2f}); "
                f"the external market makers' at this cluster {row['peer_score']:.2f}."
            )
            baseline = max(usual_score, float(row["peer_score"]), 0.25)
            rows.append(
                {
                    "account_id": account,
                    "window_start": first,
                    "window_end": max(int(row["end"]), last),
                    "excess": float(1.0 + row["score"] / baseline),
                    "order_ids": list(row["order_ids"]),
                    "trade_ids": list(push_trades["trade_id"]) + list(row["trade_ids"]),
                    "explanation": explanation,
                    "features": {
                        "n_liquidation_orders": int(row["n_orders"]),
                        "liquidation_qty": float(row["liquidation_qty"]),
                        "positioned_share": float(row["positioned_share"]),
                        "order_qty": float(row["order_qty"]),
                        "size_ratio": float(row["size_ratio"]),
                        "usual_size_share": float(row["usual_size_share"]),
                        "push_qty": float(row["push_qty"]),
                        "push_share": float(row["push_share"]),
                        "market_push_qty": float(row["market_push_qty"]),
                        "markout_bps": markout,
                        "score": float(row["score"]),
                        "baseline_own_other_clusters_score": usual_score,
                        "baseline_peer_score": float(row["peer_score"]),
                    },
                }
            )
        features = conduct.drop(columns=["order_ids", "trade_ids"])
        return DetectorOutput(features, candidates_frame(rows))


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
