"""Rule detectors of the PREFERENTIAL_TREATMENT family."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.preferential import (
    all_reference_deviations,
    fast_tail,
    latencies,
    off_market_features,
    queue_jumps,
    sequencing_inversions,
)
from features.windows import segments_from_gaps
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Typology

VictimRole = Literal["CLIENT", "EXTERNAL_MM", "HOUSE", "AFFILIATED_MM"]


class PriorityBreachParams(SectionModel):
    """Parameters of ``rule:priority_breach``."""

    enabled: bool = Field(True, description="Run this detector.")
    victim_roles: tuple[VictimRole, ...] = Field(
        ("CLIENT", "EXTERNAL_MM"),
        description="Roles whose earlier resting orders, when jumped by an AMM fill, count "
        "as a breach.",
    )
    episode_gap_s: float = Field(
        5.0,
        gt=0,
        description="Jumping fills of one AMM order less than this many seconds apart form "
        "one alert.",
    )


class PriorityBreach(RuleDetector):
    """An AMM order executed before earlier orders resting at the same price and side."""

    name = "priority_breach"
    typology = Typology.PT_PRIORITY_BREACH
    version = "1.0.0"
    help = (
        "Reads the book's queue evidence for every AMM maker fill: orders of clients (and "
        "external market makers) that joined the same price level earlier and were still "
        "resting were jumped. Self-trade prevention is allowed for (orders of the taker's own "
        "entity are not counted). Needs `mmsurv book`."
    )
    params_model = PriorityBreachParams

    def run(self, data: SymbolDay, params: PriorityBreachParams) -> DetectorOutput:
        jumps = queue_jumps(data, frozenset(params.victim_roles))
        if jumps.empty:
            return DetectorOutput(jumps, candidates_frame([]))
        jumps = jumps.sort_values(["order_id", "t"], kind="stable").reset_index(drop=True)
        gap = int(params.episode_gap_s * NS)
        new = (jumps["order_id"] != jumps["order_id"].shift()) | (
            jumps["t"].diff().fillna(gap + 1) > gap
        )
        jumps["episode"] = np.cumsum(new.to_numpy()) - 1
        q = data.queue
        amm_fill_count = int(q["is_amm"].sum()) if q is not None and len(q) else 0
        rows = []
        for _, ep in jumps.groupby("episode", sort=True):
            first = ep.iloc[0]
            jumped = sorted({o for ids in ep["jumped_order_ids"] for o in ids})
            victims = sorted({a for accs in ep["jumped_accounts"] for a in accs})
            jumped_qty = float(ep["jumped_qty"].max())
            filled = float(ep["fill_qty"].sum())
            excess = 2.0 + np.log2(1.0 + jumped_qty / filled) if filled > 0 else 2.0
            explanation = (
                f"{first['account_id']}'s {first['side']} order {first['order_id']} at "
                f"{text.price(first['price'])} was filled for {text.qty(data, filled)} at "
                f"{text.hms(int(ep['t'].min()))} UTC while {len(jumped)} earlier order(s) of "
                f"{', '.join(victims)} ({text.qty(data, jumped_qty)}) were still resting ahead "
                f"of it at the same price: it joined the level at seq {int(first['joined_seq'])}, "
                f"after them. Price-time priority was broken in the AMM's favour; of "
                f"{amm_fill_count} AMM maker fills today, the others kept priority."
            )
            rows.append(
                {
                    "account_id": str(first["account_id"]),
                    "window_start": int(ep["t"].min()),
                    "window_end": int(ep["t"].max()),
                    "excess": float(excess),
                    "order_ids": [str(first["order_id"]), *jumped],
                    "trade_ids": [str(t) for t in ep["trade_id"] if isinstance(t, str)],
                    "explanation": explanation,
                    "features": {
                        "jumped_orders": len(jumped),
                        "jumped_qty": jumped_qty,
                        "fill_qty": filled,
                        "queue_position": int(ep["queue_position"].max()),
                        "victims": victims,
                        "baseline_amm_maker_fills": amm_fill_count,
                    },
                }
            )
        return DetectorOutput(jumps, candidates_frame(rows))


class SequencingAdvantageParams(SectionModel):
    """Parameters of ``rule:sequencing_advantage``."""

    enabled: bool = Field(True, description="Run this detector.")
    horizon: int = Field(
        64,
        ge=1,
        description="How many following client instructions (in engine order) each AMM "
        "instruction is compared with.",
    )
    alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="Family-wise false-alert rate per symbol-day: an inversion alerts when the "
        "share of the day's instructions applied as fast as the AMM's, times the number of "
        "beneficial inversions examined, is below this.",
    )
    min_gap_ms: float = Field(
        0.0,
        ge=0,
        description="Least gateway gap (client first, in milliseconds) worth an alert.",
    )
    episode_gap_s: float = Field(
        2.0, gt=0, description="Inversions of one AMM account closer than this form one alert."
    )


class SequencingAdvantage(RuleDetector):
    """AMM instructions received after a client's are applied before it, to the AMM's benefit."""

    name = "sequencing_advantage"
    typology = Typology.PT_SEQUENCING_ADVANTAGE
    version = "1.1.0"
    help = (
        "Finds pairs where the gateway received a client's order first but the engine applied "
        "an AMM instruction first, and the AMM gained (its quote the client would have hit was "
        "cancelled or worsened, or its taker order took liquidity ahead of the client's). Each "
        "inversion is judged against the day's own gateway-to-engine latencies: natural jitter "
        "inverts pairs too, so it alerts only when the engine applied the AMM's instruction "
        "faster than ordinary latencies explain."
    )
    params_model = SequencingAdvantageParams

    def run(self, data: SymbolDay, params: SequencingAdvantageParams) -> DetectorOutput:
        inv = sequencing_inversions(data, params.horizon)
        if inv.empty:
            return DetectorOutput(inv, candidates_frame([]))
        lat = latencies(data)
        inv["amm_latency"] = (inv["amm_t"] - inv["amm_gw"]).to_numpy(dtype=float)
        inv["p_fast"] = fast_tail(lat, inv["amm_latency"].to_numpy())
        n_tests = len(inv)
        inv["p_adjusted"] = np.minimum(inv["p_fast"] * n_tests, 1.0)
        median_lat = float(np.median(lat)) if len(lat) else float("nan")
        fastest_client = float(lat[0]) if len(lat) else float("nan")
        flagged = inv[
            (inv["p_adjusted"] < params.alpha) & (inv["gap"] >= params.min_gap_ms * 1e6)
        ].sort_values(["amm_account", "amm_t"], kind="stable")
        rows = []
        for account, acc_rows in flagged.groupby("amm_account", sort=True):
            episodes = segments_from_gaps(
                acc_rows["amm_t"].to_numpy(), int(params.episode_gap_s * NS)
            )
            for _, ep in acc_rows.groupby(episodes, sort=True):
                best = ep.iloc[int(np.argmin(ep["p_adjusted"].to_numpy()))]
                kinds = sorted(set(ep["benefit"]))
                what = (
                    "its quote the client's order would have hit was pulled first"
                    if best["benefit"] == "dodge"
                    else "its own taker order took the liquidity first"
                )
                explanation = (
                    f"The gateway received client {best['client_account']}'s order "
                    f"{best['client_order']} at {text.hms(int(best['client_gw']))} UTC, "
                    f"{text.secs(int(best['gap']))} before {account}'s {best['amm_event']} on "
                    f"{best['amm_order']}, yet the engine applied {account}'s first: {what}. "
                    f"The engine took {text.secs(best['amm_latency'])} to apply the AMM's "
                    f"instruction; instructions today take {text.secs(median_lat)} (median), "
                    f"and only {best['p_fast']:.1e} of them were as fast ({n_tests} beneficial "
                    f"inversions examined). {len(ep)} such inversion(s) in this episode."
                )
                start = int(min(ep["client_gw"].min(), ep["amm_gw"].min()))
                end = int(max(ep["client_t"].max(), ep["amm_t"].max()))
                rows.append(
                    {
                        "account_id": str(account),
                        "window_start": start,
                        "window_end": end,
                        "excess": float(
                            np.log10(params.alpha / max(best["p_adjusted"], 1e-300)) + 1.0
                        ),
                        "order_ids": sorted(set(ep["amm_order"]) | set(ep["client_order"])),
                        "trade_ids": [],
                        "explanation": explanation,
                        "features": {
                            "inversions": len(ep),
                            "benefit": kinds,
                            "gateway_gap_ns": int(best["gap"]),
                            "latency_margin_ns": int(best["margin"]),
                            "amm_latency_ns": float(best["amm_latency"]),
                            "p_fast": float(best["p_fast"]),
                            "p_adjusted": float(best["p_adjusted"]),
                            "baseline_median_latency_ns": median_lat,
                            "baseline_fastest_latency_ns": fastest_client,
                            "inversions_examined": n_tests,
                        },
                    }
                )
        return DetectorOutput(inv, candidates_frame(rows))


class OffMarketParams(SectionModel):
    """Parameters of ``rule:off_market_execution``."""

    enabled: bool = Field(True, description="Run this detector.")
    min_worse_ticks: float = Field(
        0.5,
        ge=0,
        description="A fill is worse than the book when the client paid more than this many "
        "ticks beyond the best price on its side just before the fill.",
    )
    ref_band_bps: float = Field(
        50.0,
        gt=0,
        description="Least width of the band around the reference price, in bps.",
    )
    ref_band_multiple: float = Field(
        3.0,
        gt=0,
        description="The band is also at least this multiple of the day's 99.9th percentile "
        "of |trade - reference| deviations (real venues trade away from an index).",
    )


class OffMarketExecution(RuleDetector):
    """AMM-client trades at prices worse for the client than the book or the reference."""

    name = "off_market_execution"
    typology = Typology.PT_OFF_MARKET_EXECUTION
    version = "1.0.0"
    help = (
        "Compares every AMM-client fill with the best price on the client's side of the book "
        "just before that fill (so a sweep walking the book is fair), and, when the venue sends "
        "reference prices, with a band around the reference whose width is judged against the "
        "day's own deviations. Needs `mmsurv book`."
    )
    params_model = OffMarketParams

    def run(self, data: SymbolDay, params: OffMarketParams) -> DetectorOutput:
        fills = off_market_features(data)
        if fills.empty:
            return DetectorOutput(fills, candidates_frame([]))
        tick = data.tick_size or 0.0
        mid = fills["mid"].to_numpy(dtype=float)
        # a one-sided book has no mid: the trade price is the scale then
        mid = np.where(np.isfinite(mid) & (mid > 0), mid, fills["price"].to_numpy(dtype=float))
        fills = fills.assign(mid=mid)
        tick_bps = tick / mid * 1e4
        book_bar = params.min_worse_ticks * tick_bps
        book_hit = fills["book_worse_bps"].to_numpy() > np.nan_to_num(book_bar, nan=np.inf)
        devs = all_reference_deviations(data)
        band = params.ref_band_bps
        if len(devs) >= 100:
            band = max(band, params.ref_band_multiple * float(np.quantile(devs, 0.999)))
        ref_dev = fills["ref_dev_bps"].to_numpy(dtype=float)
        # A client resting at its own limit chose that price; only a client taking
        # liquidity can be given an off-reference price.
        ref_hit = (np.nan_to_num(ref_dev, nan=-np.inf) > band) & fills["client_is_taker"].to_numpy(
            dtype=bool
        )
        fills = fills.assign(ref_band_bps=band, book_hit=book_hit, ref_hit=ref_hit)
        rows = []
        for rec in fills[book_hit | ref_hit].to_dict("records"):
            reasons = []
            excess = 0.0
            if rec["book_hit"]:
                ticks = rec["book_worse_bps"] / (tick / rec["mid"] * 1e4) if tick else np.nan
                reasons.append(
                    f"the book then offered {text.price(rec['best_client_side'])} on the "
                    f"client's side, {rec['book_worse_bps']:.1f} bps ({ticks:.1f} ticks) better"
                )
                excess = max(excess, 2.0 + np.log2(1.0 + rec["book_worse_bps"] / 10.0))
            if rec["ref_hit"]:
                reasons.append(
                    f"the reference price was {text.price(rec['reference'])}, "
                    f"{rec['ref_dev_bps']:.1f} bps better for the client, outside the "
                    f"{band:.1f} bps band (today's deviations reach "
                    f"{float(np.quantile(devs, 0.999)) if len(devs) else float('nan'):.1f} bps at "
                    f"q99.9)"
                )
                excess = max(excess, rec["ref_dev_bps"] / band * 1.5)
            client_side = "bought from" if rec["client_sign"] > 0 else "sold to"
            explanation = (
                f"Client {rec['client_account']} {client_side} {rec['amm_account']} "
                f"{text.qty(data, rec['qty'])} at {text.price(rec['price'])} at "
                f"{text.hms(int(rec['t']))} UTC (trade {rec['trade_id']}), but "
                + "; and ".join(reasons)
                + "."
            )
            rows.append(
                {
                    "account_id": str(rec["amm_account"]),
                    "window_start": int(rec["t"]),
                    "window_end": int(rec["t"]),
                    "excess": float(excess),
                    "order_ids": [str(rec["buy_order"]), str(rec["sell_order"])],
                    "trade_ids": [str(rec["trade_id"])],
                    "explanation": explanation,
                    "features": {
                        "price": rec["price"],
                        "best_client_side": rec["best_client_side"],
                        "book_worse_bps": rec["book_worse_bps"],
                        "reference": rec["reference"],
                        "ref_dev_bps": rec["ref_dev_bps"],
                        "ref_band_bps": band,
                        "client_account": rec["client_account"],
                    },
                }
            )
        return DetectorOutput(pd.DataFrame(fills), candidates_frame(rows))
