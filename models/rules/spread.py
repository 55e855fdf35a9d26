"""Rule detectors of the SPREAD_MANIPULATION family."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.preferential import fast_tail, latencies
from features.spread import (
    depth_columns,
    fade_candidates,
    instructed_spread_series,
    large_client_arrivals,
    pull_rate,
    sampled_median,
    spoof_bursts,
    spread_before,
    time_weighted,
)
from features.windows import segments_from_gaps
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Role, Typology
from surveillance.days import day_bounds


def _nanmedian_rows(values: np.ndarray) -> np.ndarray:
    """Column-wise median ignoring NaN; NaN where a column has no value (no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=0)


class QuoteFadeParams(SectionModel):
    """Parameters of ``rule:quote_fade``."""

    enabled: bool = Field(True, description="Run this detector.")
    alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="False-alert rate per account and symbol-day: the account's fades alert "
        "when so many of them are improbable (Poisson tail) given how often its ordinary quote "
        "churn would land a pull inside clients' in-flight intervals.",
    )
    fast_share: float = Field(
        0.001,
        ge=0,
        lt=1,
        description="Pulls applied faster than this share of the day's instructions are left "
        "to rule:sequencing_advantage (the engine's favour, not the AMM's reaction).",
    )
    episode_gap_s: float = Field(
        2.0, gt=0, description="Fades of one AMM account closer than this form one alert."
    )


class QuoteFade(RuleDetector):
    """The AMM pulls or worsens the quote a client's in-flight order is about to hit."""

    name = "quote_fade"
    typology = Typology.SM_QUOTE_FADE
    version = "1.1.0"
    help = (
        "For each client order, finds AMM cancels or worsening replaces of a quote the client's "
        "order would have reached, received at the gateway after the client's order and applied "
        "before it. Judged against the AMM account's own quote churn: its pull rate times the "
        "clients' total in-flight time is the number of such coincidences to expect by chance; "
        "the account's fades alert when their count is improbable under that expectation."
    )
    params_model = QuoteFadeParams

    def run(self, data: SymbolDay, params: QuoteFadeParams) -> DetectorOutput:
        fades = fade_candidates(data)
        if fades.empty:
            return DetectorOutput(fades, candidates_frame([]))
        lat = latencies(data)
        fades["amm_latency"] = (fades["amm_t"] - fades["amm_gw"]).to_numpy(dtype=float)
        fades["p_fast"] = fast_tail(lat, fades["amm_latency"].to_numpy())
        fades["reaction_ns"] = fades["amm_gw"] - fades["client_gw"]
        summary = data.order_summary
        clients = summary[
            (summary["role"] == Role.CLIENT.value) & (summary["gw"] > np.iinfo(np.int64).min)
        ]
        in_flight_s = float((clients["t"] - clients["gw"]).clip(lower=0).sum()) / NS
        rates = {acc: pull_rate(data, acc)[0] for acc in fades["amm_account"].unique()}
        fades["expected_chance"] = fades["amm_account"].map(rates) * in_flight_s
        own = fades[fades["p_fast"] >= params.fast_share]
        rows = []
        for account, acc_rows in own.groupby("amm_account", sort=True):
            expected = float(rates[str(account)] * in_flight_s)
            k = int(acc_rows["client_order"].nunique())
            p_count = float(poisson_tail(k, expected))
            if p_count >= params.alpha:
                continue
            episodes = segments_from_gaps(
                acc_rows["client_t"].to_numpy(), int(params.episode_gap_s * NS)
            )
            for _, ep in acc_rows.groupby(episodes, sort=True):
                best = ep.iloc[0]
                how = (
                    "cancelled"
                    if best["amm_event"] == "CANCEL"
                    else (
                        f"moved to {text.price(best['after_price'])}"
                        if best["after_price"] != best["before_price"]
                        else f"cut to {text.qty(data, best['after_qty'])}"
                    )
                )
                side = "buy" if best["client_sign"] > 0 else "sell"
                explanation = (
                    f"Client {best['client_account']}'s {side} order {best['client_order']} "
                    f"reached the gateway at {text.hms(int(best['client_gw']))} UTC; "
                    f"{text.secs(int(best['reaction_ns']))} later {account}'s instruction on "
                    f"{best['amm_order']} arrived and was applied first: its quote at "
                    f"{text.price(best['before_price'])}, which the client's order would have "
                    f"reached, was {how}. The client's order executed at "
                    f"{text.hms(int(best['client_t']))} ({text.qty(data, best['client_filled'])} "
                    f"filled of {text.qty(data, best['client_qty'])}). {account} pulls a quote "
                    f"about {rates[str(account)]:.3f} times a second per side and clients' orders "
                    f"were in flight {in_flight_s:.2f} s in all today, so about {expected:.2f} "
                    f"such coincidences are expected by chance; it did this {k} time(s) "
                    f"(probability {p_count:.1e})."
                )
                rows.append(
                    {
                        "account_id": str(account),
                        "window_start": int(min(ep["client_gw"].min(), ep["amm_t"].min())),
                        "window_end": int(ep["client_t"].max()),
                        "excess": float(np.log10(params.alpha / max(p_count, 1e-300)) + 1.0),
                        "order_ids": sorted(set(ep["amm_order"]) | set(ep["client_order"])),
                        "trade_ids": [],
                        "explanation": explanation,
                        "features": {
                            "fades_today": k,
                            "expected_by_chance": expected,
                            "p_count": p_count,
                            "reaction_ns": int(best["reaction_ns"]),
                            "in_flight_ns": int(best["client_t"] - best["client_gw"]),
                            "amm_latency_ns": float(best["amm_latency"]),
                            "baseline_pull_rate_per_s": rates[str(account)],
                            "baseline_client_in_flight_s": in_flight_s,
                        },
                    }
                )
        return DetectorOutput(fades, candidates_frame(rows))


def poisson_tail(k: int, mean: float) -> float:
    """P(N >= k) for N ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    term = math.exp(-mean)
    cdf = term
    for i in range(1, k):
        term *= mean / i
        cdf += term
    return max(0.0, 1.0 - cdf)


class SpreadWideningParams(SectionModel):
    """Parameters of ``rule:spread_widening``."""

    enabled: bool = Field(True, description="Run this detector.")
    parent_gap_s: float = Field(
        60.0, gt=0, description="Client slices less than this many seconds apart are one order."
    )
    large_quantile: float = Field(
        0.95,
        gt=0,
        lt=1,
        description="Large client orders belong to parents at or above this quantile of the "
        "day's client parent orders.",
    )
    now_window_s: float = Field(
        1.0, gt=0, description="Seconds before the client's order over which the spread counts."
    )
    local_window_s: tuple[float, float] = Field(
        (60.0, 20.0),
        description="The local baseline before: the account's spread from this many seconds "
        "before the order to this many (before any pre-positioned widening).",
    )
    after_window_s: tuple[float, float] = Field(
        (3.0, 15.0),
        description="The local baseline after: the account's spread from this many seconds "
        "after the order to this many. The larger of the two baselines counts, so a lasting "
        "change (a volatile regime, a new quoting policy) is not a widening before the order; "
        "a short window keeps a regime that starts later out of it, and leaves an ordinary "
        "wide spell only its last seconds as placebo outliers.",
    )
    baseline_samples: int = Field(
        20,
        ge=1,
        description="Points at which the account's spread is sampled in each baseline window; "
        "the baseline is their median (robust to a level consumed for a few seconds).",
    )
    placebo_step_s: float = Field(
        0.5,
        gt=0,
        description="Spacing of the placebo times at which the same ratio is measured over the "
        "day (the account's ordinary spread changes, including volatility regimes).",
    )
    placebo_exclusion_s: float = Field(
        60.0,
        gt=0,
        description="Placebo times closer than this many seconds to a large client order are "
        "left out: the baseline is the account's behaviour when no large order is coming.",
    )
    min_ratio: float = Field(
        1.27,
        gt=1,
        description="Least ratio of the spread before the order to the larger local baseline. "
        "Set it above what the loss of one quoted level on one side does to the account's "
        "spread (a client consuming its best bid or ask is not a widening): 1.25x for a "
        "ladder whose levels are a quarter of the spread apart.",
    )
    alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="False-alert rate per symbol-day: a ratio alerts when the share of placebo "
        "times with a ratio at least as high, divided by the order's share of the large "
        "orders' entered size (weighted Bonferroni), is below this.",
    )


def _widening_ratio(
    times: np.ndarray, spread: np.ndarray, at: np.ndarray, p: SpreadWideningParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(spread now, baseline before, baseline after, now / larger baseline) at ``at``."""
    now_w = int(p.now_window_s * NS)
    far, near = (int(x * NS) for x in p.local_window_s)
    a_near, a_far = (int(x * NS) for x in p.after_window_s)
    now = time_weighted(times, spread, at - now_w, at)
    # medians: a level consumed for a few seconds must not raise the baseline
    before = sampled_median(times, spread, at - far, at - near, p.baseline_samples)
    after = sampled_median(times, spread, at + a_near, at + a_far, p.baseline_samples)
    base = np.fmax(before, after)
    with np.errstate(invalid="ignore", divide="ignore"):
        return now, before, after, now / base


class SpreadWidening(RuleDetector):
    """The AMM widens its quoted spread just before large client orders arrive."""

    name = "spread_widening"
    typology = Typology.SM_SPREAD_WIDENING
    version = "3.2.0"
    help = (
        "Before each large client order, compares each AMM account's own time-weighted quoted "
        "spread in the last second, as its own instructions set it (a client consuming its "
        "best level is not a widening), with its spread a minute earlier and 3-15 s later "
        "(the larger of the two: a lasting change such as a volatile regime is not a widening "
        "before the order). The baseline is the same ratio at placebo times all day away from "
        "large client orders, against which the order's ratio must be an outlier. Large "
        "orders are sized as the client entered them; each is tested once, on the AMM account "
        "that quoted the inside spread before it. External market makers' spread over the "
        "same seconds is reported beside it."
    )
    params_model = SpreadWideningParams

    def run(self, data: SymbolDay, params: SpreadWideningParams) -> DetectorOutput:
        # the spread a large order meets on arrival is what a widening targets: the first
        # slice of each large parent (later slices meet the impact of the earlier ones)
        large, threshold = large_client_arrivals(
            data, params.large_quantile, int(params.parent_gap_s * NS)
        )
        if large.empty or not data.amm_accounts:
            return DetectorOutput(large, candidates_frame([]))
        now_w = int(params.now_window_s * NS)
        near = int(params.local_window_s[1] * NS)
        t0 = large["arrival"].to_numpy(dtype=np.int64)
        day_start = int(day_bounds(data.day)[0].value)
        grid = day_start + np.arange(
            int(params.local_window_s[0] * NS),
            24 * 3600 * NS - int(params.after_window_s[1] * NS),
            int(params.placebo_step_s * NS),
            dtype=np.int64,
        )
        # placebo times away from every large client order (before or after it)
        excl = int(params.placebo_exclusion_s * NS)
        nearest = np.searchsorted(t0, grid)
        gap_next = np.abs(t0[np.clip(nearest, 0, len(t0) - 1)] - grid)
        gap_prev = np.abs(grid - t0[np.clip(nearest - 1, 0, len(t0) - 1)])
        grid = grid[np.minimum(gap_next, gap_prev) >= excl]
        peers = data.external_mm_accounts
        peer_spread = (
            _nanmedian_rows(np.vstack([spread_before(data, [p], t0 - now_w, t0) for p in peers]))
            if peers
            else np.full(len(t0), np.nan)
        )
        n_tests = len(t0)
        # weighted Bonferroni: each order's share of the false-alert budget is its share
        # of the large orders' entered size (what a widening gains scales with the size),
        # so a busy day's many merely-large orders do not drown the largest ones
        size = large["parent_qty"].to_numpy(dtype=float)
        share = size / size.sum() if size.sum() > 0 else np.full(len(size), 1.0 / len(size))
        frames = []
        for account in data.amm_accounts:
            series = instructed_spread_series(data, [account])
            st = series["t"].to_numpy()
            sv = series["spread_bps"].to_numpy(dtype=float)
            now, before, after, ratio = _widening_ratio(st, sv, t0, params)
            g_ratio = _widening_ratio(st, sv, grid, params)[3]
            g_ratio = np.sort(g_ratio[np.isfinite(g_ratio)])
            exceed = len(g_ratio) - np.searchsorted(g_ratio, ratio, side="left")
            p = (exceed + 1.0) / (len(g_ratio) + 1.0)
            frames.append(
                large[["order_id", "account_id", "sign", "arrival", "quantity"]].assign(
                    amm_account=account,
                    spread_now_bps=now,
                    spread_before_bps=before,
                    spread_after_bps=after,
                    ratio=ratio,
                    placebo_exceed=exceed,
                    placebo_times=len(g_ratio),
                    p_placebo=p,
                    p_adjusted=np.minimum(p / share, 1.0),
                    budget_share=share,
                    peer_spread_bps=peer_spread,
                )
            )
        features = pd.concat(frames, ignore_index=True)
        # one test per order: the account that quoted the AMM's inside spread before it
        # (the spread clients meet), i.e. the narrowest local baseline
        inside = (
            features.assign(_b=features["spread_before_bps"].fillna(np.inf))
            .sort_values(["order_id", "_b"], kind="stable")
            .drop_duplicates("order_id")
            .index
        )
        features["tested"] = features.index.isin(inside)
        hit = features[
            features["tested"].to_numpy()
            & (np.nan_to_num(features["ratio"].to_numpy()) >= params.min_ratio)
            & (features["p_adjusted"].to_numpy() < params.alpha)
        ]
        rows = []
        for _, rec in hit.iterrows():
            account = str(rec["amm_account"])
            side = "buy" if rec["sign"] > 0 else "sell"
            peer = float(rec["peer_spread_bps"])
            peer_text = (
                f" External market makers quoted {peer:.1f} bps over the same second."
                if np.isfinite(peer)
                else ""
            )
            explanation = (
                f"In the {text.secs(now_w)} before client {rec['account_id']}'s "
                f"{text.qty(data, rec['quantity'])} {side} order arrived at "
                f"{text.hms(int(rec['arrival']))} UTC, {account} quoted a spread of "
                f"{rec['spread_now_bps']:.1f} bps, {rec['ratio']:.2f}x the larger of its "
                f"{rec['spread_before_bps']:.1f} bps of {params.local_window_s[0]:g}-"
                f"{params.local_window_s[1]:g} s earlier and its {rec['spread_after_bps']:.1f} "
                f"bps of {params.after_window_s[0]:g}-{params.after_window_s[1]:g} s later. At "
                f"{int(rec['placebo_times'])} placebo times away from large orders its spread "
                f"rose that much {int(rec['placebo_exceed'])} time(s) (one of {n_tests} large "
                f"orders examined, {float(rec['budget_share']):.1%} of their size)."
                f"{peer_text}"
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(rec["arrival"]) - near,
                    "window_end": int(rec["arrival"]),
                    "excess": float(
                        np.log10(params.alpha / max(float(rec["p_adjusted"]), 1e-300)) + 1
                    ),
                    "order_ids": [str(rec["order_id"])],
                    "trade_ids": [],
                    "explanation": explanation,
                    "features": {
                        "spread_now_bps": float(rec["spread_now_bps"]),
                        "baseline_before_spread_bps": float(rec["spread_before_bps"]),
                        "baseline_after_spread_bps": float(rec["spread_after_bps"]),
                        "ratio": float(rec["ratio"]),
                        "baseline_placebo_exceed": int(rec["placebo_exceed"]),
                        "baseline_placebo_times": int(rec["placebo_times"]),
                        "p_adjusted": float(rec["p_adjusted"]),
                        "baseline_budget_share": float(rec["budget_share"]),
                        "peer_spread_bps": peer,
                        "client_qty": float(rec["quantity"]),
                        "client_account": str(rec["account_id"]),
                        "large_threshold": threshold,
                    },
                }
            )
        return DetectorOutput(features, candidates_frame(rows))


class SpoofingParams(SectionModel):
    """Parameters of ``rule:spoofing``."""

    enabled: bool = Field(True, description="Run this detector.")
    depth: str = Field(
        "depth_25bps",
        description="Book depth column (without the bid_/ask_ prefix) that the layers are "
        "judged against; falls back to the best level's quantity if the book lacks it.",
    )
    cluster_gap_s: float = Field(
        0.5,
        gt=0,
        description="Orders of one account and side entered less than this many seconds apart "
        "are one burst (layers).",
    )
    min_layers: int = Field(2, ge=1, description="Fewest layers (distinct prices) in a burst.")
    min_resting_vs_usual: float = Field(
        1.5,
        gt=0,
        description="Least resting quantity of the account on the layers' side once they are "
        "in, as a multiple of its usual resting quantity there (time-weighted median over the "
        "day): layers add depth, an ordinary requote only restores it.",
    )
    min_size_vs_depth: float = Field(
        0.25,
        ge=0,
        description="Least total size of the layers as a multiple of the visible depth on "
        "their side just before the first: smaller layers could not mislead anyone.",
    )
    max_lifetime_s: float = Field(
        10.0, gt=0, description="Longest life of a layer (entry to cancel)."
    )
    max_life_quantile: float = Field(
        0.2,
        gt=0,
        le=1,
        description="The layers' life must be short for the account: at most this share of "
        "its cancelled orders lived as briefly.",
    )
    min_lifetime_s: float = Field(
        0.1,
        ge=0,
        description="Shortest life of a layer: an order cancelled sooner was never seen by "
        "other participants (requoting churn), so it cannot mislead them.",
    )
    max_fill_ratio: float = Field(
        0.1, ge=0, le=1, description="Largest executed share of the layers."
    )
    max_cancel_after_s: float = Field(
        5.0,
        gt=0,
        description="Every layer is withdrawn at most this many seconds after the account's "
        "last execution on the other side (the purpose served); none before it.",
    )


class Spoofing(RuleDetector):
    """Layers of AMM orders it does not mean to execute, while it trades on the other side."""

    name = "spoofing"
    typology = Typology.SM_SPOOFING
    version = "3.0.0"
    help = (
        "Finds the spoofing sequence: a burst of AMM orders on one side at several prices that "
        "raises the account's resting quantity there well above its usual, and is material "
        "against the visible depth; then, while they rest, the account executes as taker on "
        "the other side; then it cancels them, nearly unfilled, soon after that execution and "
        "after a life that is short for the account. Needs `mmsurv book` for "
        "the depth."
    )
    params_model = SpoofingParams

    def run(self, data: SymbolDay, params: SpoofingParams) -> DetectorOutput:
        cols = depth_columns(data)
        depth_col = params.depth if params.depth in cols else None
        bursts = spoof_bursts(
            data,
            depth_col,
            int(params.cluster_gap_s * NS),
            (int(params.min_lifetime_s * NS), int(params.max_lifetime_s * NS)),
            params.max_fill_ratio,
        )
        if bursts.empty:
            return DetectorOutput(bursts, candidates_frame([]))
        with np.errstate(invalid="ignore", divide="ignore"):
            bursts["resting_vs_usual"] = bursts["resting_after"] / bursts["usual_resting"]
            bursts["size_vs_depth"] = np.where(
                bursts["depth_before"] > 0,
                bursts["burst_qty"] / bursts["depth_before"],
                np.inf,
            )
            bursts["fill_ratio"] = bursts["filled"] / bursts["burst_qty"]
        bursts["cancel_after_ns"] = bursts["last_end"] - bursts["opp_last_t"]
        ns = float(NS)
        hit = (
            (bursts["n_prices"] >= params.min_layers)
            & (bursts["life_quantile"] <= params.max_life_quantile)
            & (bursts["opp_trades"] > 0)
            # layers withdrawn by the account's own later instruction, not in the same
            # matching event as the execution (a self-trade prevention cancel, a requote)
            & (bursts["prices_cancelled_after"] >= params.min_layers)
            & (bursts["cancel_after_ns"] <= params.max_cancel_after_s * ns)
            & (bursts["resting_vs_usual"] >= params.min_resting_vs_usual)
            & (bursts["size_vs_depth"] >= params.min_size_vs_depth)
        )
        bursts["alerted"] = hit.to_numpy()
        rows = []
        for _, ep in bursts[hit].iterrows():
            account, sign = str(ep["account_id"]), int(ep["sign"])
            side = "buy" if sign > 0 else "sell"
            other = "sold" if sign > 0 else "bought"
            explanation = (
                f"{account} entered {ep['n_orders']} {side} orders at {ep['n_prices']} prices "
                f"totalling {text.qty(data, ep['burst_qty'])} at {text.hms(int(ep['start']))} "
                f"UTC, {ep['size_vs_depth']:.2f}x the {side}-side depth visible just before; "
                f"its resting {side} quantity rose to {ep['resting_vs_usual']:.1f}x its usual "
                f"{text.qty(data, ep['usual_resting'])}. While they rested it {other} "
                f"{text.qty(data, ep['opp_qty'])} on the other side as taker "
                f"({ep['opp_trades']} trade(s)); within {text.secs(int(ep['cancel_after_ns']))} "
                f"it cancelled all of them "
                f"{'unfilled' if float(ep['filled']) == 0 else 'nearly unfilled'}, after at "
                f"most {text.secs(int(ep['life_max']))} (only {ep['life_quantile']:.0%} of its "
                f"cancelled orders today lived as briefly)."
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(ep["start"]),
                    "window_end": int(ep["last_end"]),
                    "excess": float(
                        min(ep["resting_vs_usual"] / params.min_resting_vs_usual, 4.0)
                        * min(max(ep["size_vs_depth"], 0.25) / 0.5, 4.0)
                        * min(params.max_life_quantile / max(ep["life_quantile"], 1e-3), 4.0)
                    ),
                    "order_ids": list(ep["order_ids"]) + list(ep["opp_order_ids"]),
                    "trade_ids": list(ep["opp_trade_ids"]),
                    "explanation": explanation,
                    "features": {
                        "layers": int(ep["n_orders"]),
                        "prices": int(ep["n_prices"]),
                        "spoof_qty": float(ep["burst_qty"]),
                        "size_vs_depth": float(ep["size_vs_depth"]),
                        "baseline_depth": float(ep["depth_before"]),
                        "resting_vs_usual": float(ep["resting_vs_usual"]),
                        "resting_after": float(ep["resting_after"]),
                        "baseline_usual_resting": float(ep["usual_resting"]),
                        "lifetime_max_ns": int(ep["life_max"]),
                        "baseline_life_quantile": float(ep["life_quantile"]),
                        "opposite_taker_qty": float(ep["opp_qty"]),
                        "opposite_trades": int(ep["opp_trades"]),
                        "cancel_after_ns": int(ep["cancel_after_ns"]),
                    },
                }
            )
        return DetectorOutput(
            bursts.drop(columns=["order_ids", "opp_trade_ids", "opp_order_ids"]),
            candidates_frame(rows),
        )
