"""The independent review report: the affiliated market maker's conduct over a period.

Independent professional reviewers (the SFC's conditions for affiliated market makers)
ask whether the venue's own market maker met its quoting obligations, how clients
fared when they traded with it, whether it was favoured in priority or sequencing,
and what surveillance found and decided. :func:`review_metrics` computes each from
the curated lake (and the book stage's outputs where present); :func:`write_review`
renders them with the case store's record as one self-contained HTML file.

Methods (also printed in the report's appendix):

- **Obligations.** The AMM's own resting ladder (all its market-making accounts) is
  replayed from the order journal through the day; an instant is compliant when each
  side holds at least ``mm_min_quote_quantity``, counted from its best price outwards,
  and the spread between the prices where the two sides reach that size is at most
  ``mm_max_spread_bps`` of their mid (the measure of the ``obligation_breach``
  detector). Uptime is the compliant fraction of the UTC day, met when it reaches
  ``mm_min_uptime``.
- **Fill rates at equal prices.** For every price level (day, symbol, side, price)
  where both the AMM and clients rested limit orders, the share of posted quantity
  filled as maker, pooled over those levels, for each. Favoured priority shows as a
  higher AMM rate at the same prices.
- **Markouts.** For each trade, the mid ``h`` seconds later against the trade price,
  signed for the client (positive: the price moved in the client's favour), in basis
  points; for client trades with the AMM and, as baseline, with anyone else.
- **Price improvement.** For client orders that took liquidity, the execution price
  against the best opposite quote just before the order arrived (positive: better
  than the quote; negative: the order paid through it).
- **Sequencing.** Gateway-to-engine latency of instructions by role, and for pairs of
  AMM and client instructions that reached the gateway within
  ``[evidence] sequencing_window_seconds`` of each other, how often the later one was
  applied first, in each direction.
- **Priority.** From the book stage's queue output: maker fills executed while
  earlier orders of the other party rested ahead at the same price.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

from features.obligations import (
    MarketSpread,
    ObligationTerms,
    journal_quotes,
    obligation_from_quotes,
)
from surveillance import storage
from surveillance.book.schema import Queue
from surveillance.config import Config, load_config
from surveillance.contract import (
    GATEWAY_EVENTS,
    Accounts,
    Alerts,
    Instruments,
    Liquidity,
    Orders,
    Role,
    Severity,
    Trades,
    Typology,
)
from surveillance.days import day_range
from surveillance.errors import InputError
from surveillance.evidence import charts
from surveillance.evidence.config import EvidenceConfig
from surveillance.evidence.market import load_top, state_at
from surveillance.evidence.pack import detectors_document, model_cards, rule_registry
from surveillance.evidence.render import fmt, render, table_view
from surveillance.settings import Settings
from surveillance.storage import Lake

OPEN = "OPEN"


@dataclass
class ReviewMetrics:
    """Every figure of the review report, as plain tables (one row per group)."""

    entity_id: str
    first: dt.date
    last: dt.date
    accounts: list[str] = field(default_factory=list)
    days_with_data: list[dt.date] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    fill_rates: list[dict[str, Any]] = field(default_factory=list)
    markouts: list[dict[str, Any]] = field(default_factory=list)
    improvement: list[dict[str, Any]] = field(default_factory=list)
    latency: list[dict[str, Any]] = field(default_factory=list)
    sequencing: list[dict[str, Any]] = field(default_factory=list)
    priority: list[dict[str, Any]] = field(default_factory=list)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    sources: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


def _read(uri: str) -> pd.DataFrame | None:
    if not storage.exists(uri):
        return None
    return storage.read_table(uri).to_pandas()


def review_metrics(
    settings: Settings,
    entity_id: str,
    first: dt.date,
    last: dt.date,
    *,
    config: Config | None = None,
) -> ReviewMetrics:
    """Compute the review's market figures for ``entity_id`` from ``first`` to ``last``.

    Raises
    ------
    InputError
        If the period is empty or no account of ``entity_id`` appears in the accounts
        reference data of any day in it.
    """
    cfg = (config or load_config(settings.config_path)).section("evidence", EvidenceConfig)
    lake = settings.lake
    result = ReviewMetrics(entity_id, first, last)
    fills: list[pd.DataFrame] = []
    trade_rows: list[pd.DataFrame] = []
    latency_rows: list[pd.DataFrame] = []
    seq_counts: dict[str, float] = {}
    known_accounts: set[str] = set()
    alerts: list[pd.DataFrame] = []
    for day in day_range(first, last):
        accounts = _read(lake.curated(Accounts.name, day))
        if accounts is None:
            result.absent.append(f"{day}: no accounts snapshot {lake.curated(Accounts.name, day)}")
            continue
        own = set(accounts.loc[accounts[Accounts.entity_id] == entity_id, Accounts.account_id])
        known_accounts.update(accounts[Accounts.entity_id])
        day_alerts = _read(lake.alerts(day))
        if day_alerts is not None and len(day_alerts):
            alerts.append(day_alerts[day_alerts[Alerts.entity_id] == entity_id])
        if not own:
            continue
        result.accounts = sorted(set(result.accounts) | own)
        makers = set(
            accounts.loc[
                (accounts[Accounts.entity_id] == entity_id)
                & (accounts[Accounts.role] == Role.AFFILIATED_MM.value),
                Accounts.account_id,
            ]
        )
        clients = set(
            accounts.loc[accounts[Accounts.role] == Role.CLIENT.value, Accounts.account_id]
        )
        instruments = _read(lake.curated(Instruments.name, day))
        symbols = lake.curated_symbols(Orders.name, day)
        if symbols:
            result.days_with_data.append(day)
        for symbol in symbols:
            orders = _read(lake.curated(Orders.name, day, symbol))
            trades = _read(lake.curated(Trades.name, day, symbol))
            if orders is None:
                continue
            top, source = load_top(lake, day, symbol, makers or own)
            result.sources.append(f"{day} {symbol}: book {source.replace(lake.root, '<lake>')}")
            result.obligations.append(
                _obligation(day, symbol, orders, top, _instrument(instruments, symbol), makers)
            )
            fills.append(_order_fills(orders, own, clients).assign(day=day, symbol=symbol))
            if trades is not None and len(trades):
                trade_rows.append(
                    _client_trades(trades, own, clients, top, cfg).assign(symbol=symbol)
                )
            latency_rows.append(_latencies(orders, own, clients))
            for key, value in _sequencing(
                orders, own, clients, cfg.sequencing_window_seconds
            ).items():
                seq_counts[key] = seq_counts.get(key, 0) + value
            queue = _read(lake.book(Queue.name, day, symbol))
            if queue is None:
                result.absent.append(
                    f"{day} {symbol}: no book queue output {lake.book(Queue.name, day, symbol)}"
                )
            else:
                result.priority.append(_priority(day, symbol, queue, own, clients))
    if entity_id not in known_accounts:
        raise InputError(
            f"entity {entity_id!r}: no account of it in the accounts reference data from "
            f"{first} to {last}; check the entity id (accounts.entity_id) and the dates"
        )
    result.fill_rates = _fill_rate_table(fills)
    trades_all = pd.concat(trade_rows, ignore_index=True) if trade_rows else pd.DataFrame()
    result.markouts = _markout_table(trades_all, cfg.markout_horizons_seconds)
    result.improvement = _improvement_table(trades_all)
    result.latency = _latency_table(latency_rows)
    result.sequencing = _sequencing_table(seq_counts, cfg.sequencing_window_seconds)
    result.alerts = pd.concat(alerts, ignore_index=True) if alerts else pd.DataFrame()
    return result


def _instrument(instruments: pd.DataFrame | None, symbol: str) -> Mapping[str, Any]:
    if instruments is None:
        return {}
    rows = instruments[instruments[Instruments.symbol] == symbol]
    return {str(k): v for k, v in rows.iloc[0].items()} if len(rows) else {}


def _obligation(
    day: dt.date,
    symbol: str,
    orders: pd.DataFrame,
    top: pd.DataFrame,
    instrument: Mapping[str, Any],
    makers: set[str],
) -> dict[str, Any]:
    """The day's obligation figures (``features.obligations``) as a report row.

    The AMM's quotes are its ladder replayed from the journal, as the detector
    measures them; the market spread comes from the top of the book.
    """
    terms = ObligationTerms.of(instrument)
    quotes = journal_quotes(orders, makers, day, symbol, instrument, terms)
    market = None
    if not top.empty:
        with np.errstate(invalid="ignore", divide="ignore"):
            market_bps = (top["ask"] - top["bid"]) / ((top["ask"] + top["bid"]) / 2) * 1e4
        market = MarketSpread(
            top["event_time"].astype("int64").to_numpy(), market_bps.to_numpy(float)
        )
    figures = obligation_from_quotes(quotes, day, symbol, terms, market)
    uptime = figures.uptime or 0.0
    return {
        "day": day.isoformat(),
        "symbol": symbol,
        "required_uptime": terms.min_uptime,
        "max_spread_bps": terms.max_spread_bps,
        "min_quote_quantity": terms.min_quote_quantity,
        "two_sided": figures.two_sided_share or 0.0,
        "uptime": uptime,
        "mean_spread_bps": figures.amm_spread_bps,
        "met": _met(uptime, terms.min_uptime),
    }


def _met(uptime: float, required: float | None) -> str:
    if required is None:
        return "no obligation in reference data"
    return "met" if uptime + 1e-12 >= required else "BREACHED"


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _party(accounts: pd.Series, own: set[str], clients: set[str]) -> pd.Series:
    return pd.Series(
        np.where(accounts.isin(own), "AMM", np.where(accounts.isin(clients), "client", "other")),
        index=accounts.index,
    )


def _order_fills(orders: pd.DataFrame, own: set[str], clients: set[str]) -> pd.DataFrame:
    """Per resting limit order: party, side, price, posted and maker-filled quantity."""
    limits = orders[
        (orders[Orders.order_type] == "LIMIT")
        & orders[Orders.time_in_force].isin(["GTC", "POST_ONLY"])
        & orders[Orders.price].notna()
    ]
    if limits.empty:
        return pd.DataFrame(columns=["party", "side", "price", "posted", "filled"])
    maker_fill = limits[Orders.fill_quantity].where(
        (limits[Orders.event_type] == "FILL") & (limits[Orders.liquidity] == Liquidity.MAKER.value),
        0.0,
    )
    frame = pd.DataFrame(
        {
            "order_id": limits[Orders.order_id],
            "account_id": limits[Orders.account_id],
            "side": limits[Orders.side],
            "price": limits[Orders.price],
            "quantity": limits[Orders.quantity],
            "maker_fill": maker_fill.fillna(0.0).astype(float),
        }
    )
    # A REPLACE may move an order; each (order, price) is a separate posting.
    grouped = frame.groupby(["order_id", "account_id", "side", "price"], as_index=False).agg(
        posted=("quantity", "max"), filled=("maker_fill", "sum")
    )
    grouped["party"] = _party(grouped["account_id"], own, clients)
    return grouped[grouped["party"] != "other"]


def _fill_rate_table(fills: list[pd.DataFrame]) -> list[dict[str, Any]]:
    if not fills:
        return []
    frame = pd.concat(fills, ignore_index=True)
    if frame.empty:
        return []
    keys = ["symbol", "day", "side", "price"]
    parties = frame.groupby(keys)["party"].nunique()
    shared = parties[parties == 2].index
    frame = frame.set_index(keys)
    frame = frame[frame.index.isin(shared)].reset_index()
    rows = []
    for symbol, group in frame.groupby("symbol"):
        row: dict[str, Any] = {
            "symbol": symbol,
            "shared_levels": len(group[keys].drop_duplicates()),
        }
        for party in ("AMM", "client"):
            part = group[group["party"] == party]
            posted = float(part["posted"].sum())
            row[f"{party}_orders"] = len(part)
            row[f"{party}_fill_rate"] = float(part["filled"].sum()) / posted if posted else None
        if row["AMM_fill_rate"] is not None and row["client_fill_rate"] is not None:
            row["difference"] = row["AMM_fill_rate"] - row["client_fill_rate"]
        else:
            row["difference"] = None
        rows.append(row)
    return rows


def _client_trades(
    trades: pd.DataFrame,
    own: set[str],
    clients: set[str],
    top: pd.DataFrame,
    cfg: EvidenceConfig,
) -> pd.DataFrame:
    """Client trades with their counterparty, client side, markouts and improvement."""
    buy_client = trades[Trades.buy_account_id].isin(clients)
    sell_client = trades[Trades.sell_account_id].isin(clients)
    frame = trades[buy_client ^ sell_client].copy()  # client-to-client trades have no side
    if frame.empty:
        return pd.DataFrame()
    is_buy = frame[Trades.buy_account_id].isin(clients)
    counterparty = frame[Trades.sell_account_id].where(is_buy, frame[Trades.buy_account_id])
    out = pd.DataFrame(
        {
            "event_time": frame[Trades.event_time],
            "price": frame[Trades.price].astype(float),
            "quantity": frame[Trades.quantity].astype(float),
            "sign": np.where(is_buy, 1.0, -1.0),
            "with_amm": counterparty.isin(own).to_numpy(),
            "client_took": (frame[Trades.aggressor_side] == np.where(is_buy, "BUY", "SELL")),
        }
    )
    if top.empty:
        for h in cfg.markout_horizons_seconds:
            out[f"markout_{h:g}s"] = np.nan
        out["improvement_bps"] = np.nan
        return out
    for h in cfg.markout_horizons_seconds:
        later = state_at(top, out["event_time"] + pd.Timedelta(seconds=h))
        future_mid = (later["bid"] + later["ask"]) / 2.0
        out[f"markout_{h:g}s"] = out["sign"] * (future_mid - out["price"]) / out["price"] * 1e4
    before = state_at(top, out["event_time"], strictly_before=True)
    touch = np.where(out["sign"] > 0, before["ask"], before["bid"])
    improvement = out["sign"] * (touch - out["price"]) / touch * 1e4
    out["improvement_bps"] = np.where(out["client_took"], improvement, np.nan)
    return out


def _markout_table(trades: pd.DataFrame, horizons: Sequence[float]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if trades.empty:
        return rows
    for label, subset in (
        ("clients vs the AMM", trades[trades["with_amm"]]),
        ("clients vs others", trades[~trades["with_amm"]]),
    ):
        for h in horizons:
            values = subset[f"markout_{h:g}s"].dropna()
            weights = subset.loc[values.index, "quantity"]
            rows.append(
                {
                    "counterparty": label,
                    "horizon_s": h,
                    "trades": len(values),
                    "mean_bps": float(values.mean()) if len(values) else None,
                    "median_bps": float(values.median()) if len(values) else None,
                    "qty_weighted_bps": float(np.average(values, weights=weights))
                    if len(values) and weights.sum() > 0
                    else None,
                }
            )
    return rows


def _improvement_table(trades: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if trades.empty:
        return rows
    for label, subset in (
        ("clients vs the AMM", trades[trades["with_amm"]]),
        ("clients vs others", trades[~trades["with_amm"]]),
    ):
        values = subset["improvement_bps"].dropna()
        rows.append(
            {
                "counterparty": label,
                "taker_trades": len(values),
                "at_or_better_than_quote": float((values >= -1e-9).mean()) if len(values) else None,
                "mean_improvement_bps": float(values.mean()) if len(values) else None,
                "worst_bps": float(values.min()) if len(values) else None,
            }
        )
    return rows


def _latencies(orders: pd.DataFrame, own: set[str], clients: set[str]) -> pd.DataFrame:
    gateway = orders[
        orders[Orders.event_type].isin([e.value for e in GATEWAY_EVENTS])
        & orders[Orders.gateway_time].notna()
    ]
    latency_ms = (
        gateway[Orders.event_time] - gateway[Orders.gateway_time]
    ).dt.total_seconds() * 1e3
    return pd.DataFrame(
        {"party": _party(gateway[Orders.account_id], own, clients), "latency_ms": latency_ms}
    )


def _latency_table(frames: list[pd.DataFrame]) -> list[dict[str, Any]]:
    if not frames:
        return []
    frame = pd.concat(frames, ignore_index=True)
    rows = []
    for party in ("AMM", "client"):
        values = frame.loc[frame["party"] == party, "latency_ms"]
        rows.append(
            {
                "party": party,
                "instructions": len(values),
                "median_ms": float(values.median()) if len(values) else None,
                "p95_ms": float(values.quantile(0.95)) if len(values) else None,
                "p99_ms": float(values.quantile(0.99)) if len(values) else None,
            }
        )
    return rows


def _sequencing(
    orders: pd.DataFrame, own: set[str], clients: set[str], window_s: float
) -> dict[str, float]:
    """Pairs of AMM and client instructions close at the gateway, and inversions."""
    gateway = orders[
        orders[Orders.event_type].isin([e.value for e in GATEWAY_EVENTS])
        & orders[Orders.gateway_time].notna()
    ]
    party = _party(gateway[Orders.account_id], own, clients)
    amm = gateway[party == "AMM"]
    cli = gateway[party == "client"].sort_values(Orders.gateway_time)
    counts = {
        "amm_later_pairs": 0.0,
        "amm_overtook": 0.0,
        "client_later_pairs": 0.0,
        "client_overtook": 0.0,
    }
    if amm.empty or cli.empty:
        return counts
    window = int(window_s * 1e9)
    c_gw = _ns(cli[Orders.gateway_time])
    c_seq = cli[Orders.seq].to_numpy(dtype=np.int64)
    a_gw = _ns(amm[Orders.gateway_time])
    a_seq = amm[Orders.seq].to_numpy(dtype=np.int64)
    # Clients within the window before (lo..ml) and after (mr..hi) each AMM instruction.
    lo = np.searchsorted(c_gw, a_gw - window, side="left")
    ml = np.searchsorted(c_gw, a_gw, side="left")
    mr = np.searchsorted(c_gw, a_gw, side="right")
    hi = np.searchsorted(c_gw, a_gw + window, side="right")
    overtook, overtaken = _count_inversions(a_seq, c_seq, lo, ml, mr, hi)
    counts["amm_later_pairs"] = float((ml - lo).sum())
    counts["amm_overtook"] = float(overtook)
    counts["client_later_pairs"] = float((hi - mr).sum())
    counts["client_overtook"] = float(overtaken)
    return counts


def _ns(times: pd.Series) -> np.ndarray:
    """UTC times as int64 nanoseconds (whatever the column's resolution)."""
    stamps = pd.to_datetime(times, utc=True).astype("datetime64[ns, UTC]")
    return stamps.dt.tz_localize(None).to_numpy().astype(np.int64)


@numba.njit(cache=True)
def _count_inversions(
    a_seq: np.ndarray,
    c_seq: np.ndarray,
    lo: np.ndarray,
    ml: np.ndarray,
    mr: np.ndarray,
    hi: np.ndarray,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Clients earlier at the gateway but applied after each AMM instruction, and the
    reverse: the engine sequence disagreeing with gateway order, in each direction."""
    overtook = 0
    overtaken = 0
    for i in range(a_seq.shape[0]):
        s = a_seq[i]
        for j in range(lo[i], ml[i]):
            if c_seq[j] > s:
                overtook += 1
        for j in range(mr[i], hi[i]):
            if c_seq[j] < s:
                overtaken += 1
    return overtook, overtaken


def _sequencing_table(counts: Mapping[str, float], window_s: float) -> list[dict[str, Any]]:
    if not counts:
        return []
    rows = []
    for label, pairs, inverted in (
        ("AMM instruction applied before an earlier client's", "amm_later_pairs", "amm_overtook"),
        (
            "client instruction applied before an earlier AMM's",
            "client_later_pairs",
            "client_overtook",
        ),
    ):
        n = counts.get(pairs, 0)
        k = counts.get(inverted, 0)
        rows.append(
            {
                "inversion": label,
                "window_s": window_s,
                "pairs": int(n),
                "inversions": int(k),
                "rate": k / n if n else None,
            }
        )
    return rows


def _priority(
    day: dt.date, symbol: str, queue: pd.DataFrame, own: set[str], clients: set[str]
) -> dict[str, Any]:
    amm_fill = queue[Queue.account_id].isin(own)
    client_fill = queue[Queue.account_id].isin(clients)

    def ahead_of(rows: pd.DataFrame, group: set[str]) -> int:
        return int(
            sum(
                1
                for ids, position in zip(
                    rows[Queue.ahead_account_ids], rows[Queue.queue_position], strict=True
                )
                if position
                and position > 0
                and any(a in group for a in (ids if ids is not None else []))
            )
        )

    return {
        "day": day.isoformat(),
        "symbol": symbol,
        "amm_maker_fills": int(amm_fill.sum()),
        "amm_fills_ahead_of_clients": ahead_of(queue[amm_fill], clients),
        "client_maker_fills": int(client_fill.sum()),
        "client_fills_ahead_of_amm": ahead_of(queue[client_fill], own),
    }


def alert_tables(alerts: pd.DataFrame) -> tuple[list[dict[str, Any]], str]:
    """Alerts by typology and severity, and the stacked bar chart of them."""
    severities = [s.value for s in Severity]
    typologies = [t.value for t in Typology]
    counts: dict[str, dict[str, int]] = {t: dict.fromkeys(severities, 0) for t in typologies}
    if not alerts.empty:
        for typology, severity in zip(
            alerts[Alerts.typology], alerts[Alerts.severity], strict=True
        ):
            row = counts.setdefault(str(typology), dict.fromkeys(severities, 0))
            row[str(severity)] = row.get(str(severity), 0) + 1
    rows: list[dict[str, Any]] = [
        {"typology": t, **c, "total": sum(c.values())} for t, c in counts.items()
    ]
    chart = charts.bar_chart(
        "Alerts by typology and severity",
        charts.Bars(
            list(counts),
            {s: [float(counts[t][s]) for t in counts] for s in severities},
            stacked=True,
            colors={"LOW": "#56B4E9", "MEDIUM": "#E69F00", "HIGH": "#D55E00"},
        ),
        y_label="alerts",
    )
    return rows, chart


def case_tables(cases: Sequence[Mapping[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """Dispositions, time to close and open cases from the case store's records."""
    by_disposition: dict[str, int] = {}
    by_typology: dict[tuple[str, str], int] = {}
    durations: dict[str, list[float]] = {}
    open_rows = []
    for case in cases:
        disposition = case.get("disposition") or OPEN
        by_disposition[disposition] = by_disposition.get(disposition, 0) + 1
        key = (str(case.get("typology")), disposition)
        by_typology[key] = by_typology.get(key, 0) + 1
        created = _ts(case.get("created_at"))
        closed = _ts(case.get("closed_at"))
        if closed is not None and created is not None:
            hours = (closed - created).total_seconds() / 3600
            durations.setdefault(str(case.get("severity")), []).append(hours)
            durations.setdefault("all", []).append(hours)
        elif case.get("status") != "CLOSED":
            open_rows.append(
                {
                    "case": case.get("id"),
                    "status": case.get("status"),
                    "typology": case.get("typology"),
                    "severity": case.get("severity"),
                    "symbol": case.get("symbol"),
                    "opened": created,
                    "age_days": (pd.Timestamp(now) - created).total_seconds() / 86400
                    if created is not None
                    else None,
                    "assignee": case.get("assignee"),
                }
            )
    close_rows = [
        {
            "severity": severity,
            "closed_cases": len(values),
            "median_hours": float(np.median(values)),
            "p90_hours": float(np.quantile(values, 0.9)),
            "max_hours": float(np.max(values)),
        }
        for severity, values in sorted(durations.items(), key=lambda kv: (kv[0] == "all", kv[0]))
    ]
    dispositions = sorted(by_disposition)
    return {
        "dispositions": [{"disposition": d, "cases": by_disposition[d]} for d in dispositions],
        "by_typology": [
            {"typology": t, "disposition": d, "cases": n}
            for (t, d), n in sorted(by_typology.items())
        ],
        "time_to_close": close_rows,
        "open": sorted(open_rows, key=lambda r: (str(r["opened"]), str(r["case"]))),
        "chart": charts.bar_chart(
            "Cases by disposition",
            charts.Bars(dispositions, {"cases": [by_disposition[d] for d in dispositions]}),
            y_label="cases",
        ),
    }


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class ReviewResult:
    """What :func:`write_review` wrote."""

    path: Path
    metrics: ReviewMetrics
    cases: int


def write_review(
    settings: Settings,
    entity_id: str,
    first: dt.date,
    last: dt.date,
    out: str | Path,
    *,
    cases: Sequence[Mapping[str, Any]] | None,
    alert_dispositions: Sequence[Mapping[str, Any]] | None = None,
    creator: str = "",
    created_at: dt.datetime | None = None,
    config: Config | None = None,
) -> ReviewResult:
    """Compute the review and write it as one self-contained HTML file at ``out``.

    ``cases`` are the case store's cases of the entity in the period (plain records),
    or None when no case store is available (the report then says so).
    ``alert_dispositions`` are the store's alerts of the period, each with
    ``typology``, ``severity`` and its case's ``disposition`` (``OPEN`` while open).

    Raises
    ------
    InputError
        If the period is empty or the entity unknown (see :func:`review_metrics`).
    """
    cfg = config or load_config(settings.config_path)
    metrics = review_metrics(settings, entity_id, first, last, config=cfg)
    created = created_at or dt.datetime.now(dt.UTC)
    html = render_review(
        settings.lake,
        metrics,
        cases,
        cfg,
        creator=creator,
        created_at=created,
        alert_dispositions=alert_dispositions,
    )
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)
    return ReviewResult(target, metrics, len(cases or []))


_PCT = {
    "uptime",
    "two_sided",
    "required_uptime",
    "AMM_fill_rate",
    "client_fill_rate",
    "difference",
    "rate",
    "at_or_better_than_quote",
}


def _percent_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (f"{v:.2%}" if k in _PCT and isinstance(v, float) else v) for k, v in row.items()}
        for row in rows
    ]


def render_review(
    lake: Lake,
    metrics: ReviewMetrics,
    cases: Sequence[Mapping[str, Any]] | None,
    cfg: Config,
    *,
    creator: str,
    created_at: dt.datetime,
    alert_dispositions: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The review report's HTML."""
    evidence_cfg = cfg.section("evidence", EvidenceConfig)
    alert_rows, alert_chart = alert_tables(metrics.alerts)
    case_view = case_tables(cases or [], created_at) if cases is not None else None
    obligation_chart = _obligation_chart(metrics.obligations)
    markout_chart = charts.bar_chart(
        "Client markouts by horizon (bps; positive = in the client's favour)",
        charts.Bars(
            [f"{h:g}s" for h in evidence_cfg.markout_horizons_seconds],
            {
                label: [
                    (r["mean_bps"] or 0.0) for r in metrics.markouts if r["counterparty"] == label
                ]
                for label in ("clients vs the AMM", "clients vs others")
                if any(r["counterparty"] == label and r["trades"] for r in metrics.markouts)
            },
        ),
        y_label="mean bps",
        value_format="{:,.2f}",
    )
    latency_chart = charts.bar_chart(
        "Gateway-to-engine latency (ms)",
        charts.Bars(
            ["median", "p95", "p99"],
            {
                r["party"]: [r["median_ms"] or 0.0, r["p95_ms"] or 0.0, r["p99_ms"] or 0.0]
                for r in metrics.latency
            },
        ),
        y_label="ms",
        value_format="{:,.3f}",
    )
    cards = model_cards(lake)
    detectors = (
        detectors_document(_alerts_arrow(metrics.alerts)) if not metrics.alerts.empty else {}
    )
    appendix = {
        "config_source": cfg.source,
        "section_hashes": [
            {"section": n, "hash": cfg.section_hash(n)} for n in sorted(cfg.sections)
        ],
        "parameters": json.dumps(
            {n: s.model_dump(mode="json") for n, s in sorted(cfg.sections.items())},
            indent=2,
            sort_keys=True,
            default=str,
        ),
        "rules": rule_registry() or [],
        "on_alerts": detectors.get("on_alerts", []),
        "model_cards": sorted(cards),
    }
    return render(
        "review_report.html",
        title=f"Independent review: {metrics.entity_id}, {metrics.first} to {metrics.last}",
        generated_at=fmt(pd.Timestamp(created_at)),
        creator=creator,
        m=metrics,
        days_with_data=", ".join(d.isoformat() for d in metrics.days_with_data) or "none",
        obligations=table_view(
            _percent_rows(metrics.obligations),
            (
                "day",
                "symbol",
                "uptime",
                "required_uptime",
                "met",
                "two_sided",
                "mean_spread_bps",
                "max_spread_bps",
                "min_quote_quantity",
            ),
            digits={"mean_spread_bps": 2},
            empty="No quoting data for the entity in this period.",
        ),
        obligation_chart=obligation_chart,
        fill_rates=table_view(
            _percent_rows(metrics.fill_rates),
            (
                "symbol",
                "shared_levels",
                "AMM_orders",
                "AMM_fill_rate",
                "client_orders",
                "client_fill_rate",
                "difference",
            ),
            empty="No price level where both the AMM and clients rested orders.",
        ),
        markouts=table_view(
            metrics.markouts,
            ("counterparty", "horizon_s", "trades", "mean_bps", "median_bps", "qty_weighted_bps"),
            digits={"mean_bps": 2, "median_bps": 2, "qty_weighted_bps": 2},
            empty="No client trades in this period.",
        ),
        markout_chart=markout_chart,
        improvement=table_view(
            _percent_rows(metrics.improvement),
            (
                "counterparty",
                "taker_trades",
                "at_or_better_than_quote",
                "mean_improvement_bps",
                "worst_bps",
            ),
            digits={"mean_improvement_bps": 2, "worst_bps": 2},
            empty="No client taker trades in this period.",
        ),
        latency=table_view(
            metrics.latency,
            ("party", "instructions", "median_ms", "p95_ms", "p99_ms"),
            digits={"median_ms": 3, "p95_ms": 3, "p99_ms": 3},
        ),
        latency_chart=latency_chart,
        sequencing=table_view(
            _percent_rows(metrics.sequencing),
            ("inversion", "window_s", "pairs", "inversions", "rate"),
        ),
        priority=table_view(
            metrics.priority,
            (
                "day",
                "symbol",
                "amm_maker_fills",
                "amm_fills_ahead_of_clients",
                "client_maker_fills",
                "client_fills_ahead_of_amm",
            ),
            empty="The book stage's queue output is absent for this period.",
        ),
        alerts=table_view(
            [r for r in alert_rows if r["total"]],
            ("typology", "LOW", "MEDIUM", "HIGH", "total"),
            empty="No alerts on the entity in this period.",
        ),
        alert_chart=alert_chart,
        alert_dispositions=_disposition_pivot(alert_dispositions),
        cases=case_view,
        case_tables={
            "dispositions": table_view(case_view["dispositions"], ("disposition", "cases"))
            if case_view
            else None,
            "by_typology": table_view(
                case_view["by_typology"], ("typology", "disposition", "cases")
            )
            if case_view
            else None,
            "time_to_close": table_view(
                case_view["time_to_close"],
                ("severity", "closed_cases", "median_hours", "p90_hours", "max_hours"),
                digits={"median_hours": 1, "p90_hours": 1, "max_hours": 1},
                empty="No case was closed.",
            )
            if case_view
            else None,
            "open": table_view(
                case_view["open"],
                (
                    "case",
                    "status",
                    "typology",
                    "severity",
                    "symbol",
                    "opened",
                    "age_days",
                    "assignee",
                ),
                digits={"age_days": 1},
                empty="No open case.",
            )
            if case_view
            else None,
        },
        appendix=appendix,
        appendix_rules=table_view(
            appendix["rules"],
            ("detector", "typology", "version", "help"),
            empty="No rule registry installed.",
        ),
        appendix_alert_detectors=table_view(
            appendix["on_alerts"],
            ("detector", "detector_version", "params_hash"),
            empty="No alerts, so no detector versions on record for the period.",
        ),
        appendix_hashes=table_view(appendix["section_hashes"], ("section", "hash")),
        evidence_cfg=evidence_cfg,
        notes=sorted({a.replace(lake.root, "<lake>") for a in metrics.absent}),
        sources=metrics.sources,
    )


#: Beyond this many symbol-days the uptime chart draws lines over days, not bars.
_MAX_UPTIME_BARS = 12


def _obligation_chart(obligations: Sequence[Mapping[str, Any]]) -> str:
    title = "Compliant quoting uptime by symbol and day (against the required uptime)"
    if len(obligations) <= _MAX_UPTIME_BARS:
        return charts.bar_chart(
            title,
            charts.Bars(
                [f"{o['symbol']} {o['day'][5:]}" for o in obligations],
                {
                    "uptime %": [100 * o["uptime"] for o in obligations],
                    "required %": [100 * (o["required_uptime"] or 0) for o in obligations],
                },
            ),
            y_label="% of the day",
            value_format="{:,.1f}",
        )
    lines = []
    for symbol in sorted({str(o["symbol"]) for o in obligations}):
        rows = sorted((o for o in obligations if o["symbol"] == symbol), key=lambda o: o["day"])
        noon = [pd.Timestamp(f"{o['day']}T12:00:00Z").timestamp() for o in rows]
        lines.append(
            charts.Line(f"{symbol} uptime %", noon, [100 * o["uptime"] for o in rows], step=False)
        )
        required = [100 * o["required_uptime"] for o in rows if o["required_uptime"] is not None]
        if len(required) == len(rows):
            lines.append(
                charts.Line(f"{symbol} required %", noon, required, step=False, dashed=True)
            )
    return charts.time_chart(title, lines=lines, y_label="% of the day")


def _disposition_pivot(records: Sequence[Mapping[str, Any]] | None) -> Any:
    """Alerts by typology (rows) and their case's disposition (columns), or None."""
    if records is None:
        return None
    counts: dict[str, dict[str, int]] = {}
    dispositions: set[str] = set()
    for record in records:
        disposition = str(record.get("disposition") or OPEN)
        dispositions.add(disposition)
        row = counts.setdefault(str(record.get("typology")), {})
        row[disposition] = row.get(disposition, 0) + 1
    columns = sorted(dispositions, key=lambda d: (d != OPEN, d))
    rows = [
        {
            "typology": t,
            **{d: counts[t].get(d, 0) for d in columns},
            "total": sum(counts[t].values()),
        }
        for t in sorted(counts)
    ]
    return table_view(rows, ("typology", *columns, "total"), empty="No alerts in the case store.")


def _alerts_arrow(alerts: pd.DataFrame) -> pa.Table:
    columns = [
        c for c in (Alerts.detector, Alerts.detector_version, Alerts.params_hash) if c in alerts
    ]
    return pa.Table.from_pandas(alerts[columns], preserve_index=False)
