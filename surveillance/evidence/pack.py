"""Evidence packs: everything a reviewer needs about one case (or an entity's cases), signed.

:func:`build_pack` takes cases as plain records (:class:`CaseEvidence`, filled from the
case store by ``surveillance.evidence.store``) and the lake, and writes a zip holding:

``report.html``
    the self-contained report (summary, explanation, alerts and features against
    baselines, market replay, orders and trades involved, workflow history, comments,
    disposition);
``data/``
    the orders, trades, reference prices and book states of every case window widened
    by ``[evidence] margin_seconds``, the accounts and instruments they involve, the
    alerts and their features, each as Parquet and CSV, plus ``index.json``;
``case.json``, ``audit.jsonl``
    the cases with their workflow history and comments, and their audit entries with
    the chain hashes;
``config/``
    the configuration in force, the detectors and versions, the anomaly model cards;
``lineage.json``
    the ingested source files and their SHA-256 for every day the windows touch;
``manifest.json``, ``manifest.sig``, ``public_key.pem``
    see ``surveillance.evidence.container``.

Data files depend only on the lake and the cases' windows, so exporting a case twice
gives identical data files and identical manifest entries for them.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from surveillance import storage
from surveillance.config import Config, load_config
from surveillance.contract import Accounts, Alerts, Orders, Role, Trades
from surveillance.evidence import charts
from surveillance.evidence.config import EvidenceConfig
from surveillance.evidence.container import canonical_json, sha256_hex, write_pack
from surveillance.evidence.extract import (
    Extract,
    Window,
    csv_bytes,
    extract_windows,
    merge_windows,
    parquet_bytes,
)
from surveillance.evidence.keys import fingerprint
from surveillance.evidence.market import load_top
from surveillance.evidence.render import fmt, frame_records, render, table_view
from surveillance.settings import Settings
from surveillance.storage import Lake

#: Most points a replay chart draws per series; longer series are thinned evenly.
MAX_CHART_POINTS = 4000


@dataclass(frozen=True)
class CaseEvidence:
    """One case as plain JSON-able records (what the case store holds about it).

    ``case`` has at least ``id``, ``symbol``, ``window_start`` and ``window_end``;
    ``alerts`` carry the contract's alert columns (and the extensions); ``audit`` are
    the case's audit entries with ``seq``, ``prev_hash`` and ``hash``.
    """

    case: Mapping[str, Any]
    alerts: Sequence[Mapping[str, Any]] = ()
    comments: Sequence[Mapping[str, Any]] = ()
    audit: Sequence[Mapping[str, Any]] = ()

    @property
    def case_id(self) -> Any:
        return self.case["id"]


@dataclass(frozen=True)
class PackResult:
    """What :func:`build_pack` wrote."""

    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    case_ids: list[Any]
    absent: list[str] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.manifest["files"])


def _ts(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp | dt.datetime):
        return _ts(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def case_windows(cases: Sequence[CaseEvidence], margin: pd.Timedelta) -> list[Window]:
    """Every case's and alert's window, widened by ``margin`` and merged per symbol."""
    windows: list[Window] = []
    for item in cases:
        case = item.case
        if case.get("symbol") and case.get("window_start") and case.get("window_end"):
            windows.append(
                Window(str(case["symbol"]), _ts(case["window_start"]), _ts(case["window_end"]))
            )
        for alert in item.alerts:
            windows.append(
                Window(
                    str(alert[Alerts.symbol]),
                    _ts(alert[Alerts.window_start]),
                    _ts(alert[Alerts.window_end]),
                )
            )
    return merge_windows(w.widened(margin) for w in windows)


def alerts_table(cases: Sequence[CaseEvidence]) -> pa.Table:
    """The cases' alerts in the contract's alert schema plus the owning ``case_id``."""
    contract = Alerts.schema()
    schema = contract.append(pa.field("case_id", pa.string()))
    rows = []
    for item in cases:
        for alert in item.alerts:
            row = {name: alert.get(name) for name in contract.names}
            for column in (Alerts.window_start, Alerts.window_end):
                row[column] = _ts(row[column]).to_pydatetime() if row[column] is not None else None
            for column in (Alerts.order_ids, Alerts.trade_ids):
                row[column] = list(row[column] or [])
            row["case_id"] = str(item.case_id)
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)


def build_pack(
    settings: Settings,
    cases: Sequence[CaseEvidence],
    out: str | Path,
    *,
    private_key: Ed25519PrivateKey,
    creator: str,
    scope: Mapping[str, Any],
    created_at: dt.datetime | None = None,
    config: Config | None = None,
) -> PackResult:
    """Write the signed evidence pack of ``cases`` to ``out`` (a ``.zip`` path).

    Parameters
    ----------
    settings
        Where the lake is and which configuration file is in force.
    cases
        The cases to pack, in the order the report shows them.
    scope
        What was asked for (``{"case_id": 12}`` or ``{"entity_id": ..., "from": ...,
        "to": ...}``); recorded in the manifest and the report.
    creator
        The user exporting (recorded in the manifest).

    Raises
    ------
    ConfigError
        If the configuration file is invalid.
    """
    cfg = config or load_config(settings.config_path)
    evidence_cfg = cfg.section("evidence", EvidenceConfig)
    lake = settings.lake
    margin = pd.Timedelta(seconds=evidence_cfg.margin_seconds)
    windows = case_windows(cases, margin)
    alerts = alerts_table(cases)
    order_ids = {o for a in alerts.column(Alerts.order_ids).to_pylist() for o in (a or [])}
    extract = extract_windows(lake, windows, order_ids=order_ids, alerts=alerts)
    files: dict[str, bytes] = {}
    for name, table in sorted(extract.tables.items()):
        files[f"data/{name}.parquet"] = parquet_bytes(table)
        files[f"data/{name}.csv"] = csv_bytes(table)
    files["data/index.json"] = canonical_json(extract.index(lake, windows))
    files["case.json"] = canonical_json(case_document(cases, scope))
    files["audit.jsonl"] = audit_lines(cases)
    days = sorted({d for w in windows for d in w.days()})
    absent = list(extract.absent)
    files.update(config_files(settings, cfg, alerts, absent))
    files["lineage.json"] = canonical_json(lineage_document(lake, days, absent))
    created = created_at or dt.datetime.now(dt.UTC)
    files["report.html"] = case_report_html(
        lake,
        cases,
        extract,
        evidence_cfg,
        scope=scope,
        creator=creator,
        created_at=created,
        key_fingerprint=fingerprint(private_key.public_key()),
        absent=absent,
    ).encode("utf-8")
    manifest = write_pack(
        out,
        files,
        private_key=private_key,
        creator=creator,
        created_at=created,
        scope=scope,
    )
    return PackResult(
        Path(out),
        manifest,
        sha256_hex(canonical_json(manifest)),
        [c.case_id for c in cases],
        sorted(set(absent)),
    )


def case_document(cases: Sequence[CaseEvidence], scope: Mapping[str, Any]) -> dict[str, Any]:
    """``case.json``: each case with its alert ids, comments and workflow history."""
    documents = []
    for item in cases:
        document = _jsonable(dict(item.case))
        document["alert_ids"] = sorted(str(a[Alerts.alert_id]) for a in item.alerts)
        document["comments"] = [_jsonable(dict(c)) for c in item.comments]
        document["history"] = [_history_entry(e) for e in sorted(item.audit, key=_seq)]
        documents.append(document)
    return {"scope": _jsonable(dict(scope)), "cases": documents}


def _seq(entry: Mapping[str, Any]) -> int:
    return int(entry.get("seq", 0))


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _history_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seq": entry.get("seq"),
        "at": _jsonable(entry.get("at")),
        "actor": entry.get("actor"),
        "action": entry.get("action"),
        "before": _jsonable(_parsed(entry.get("before"))),
        "after": _jsonable(_parsed(entry.get("after"))),
        "details": _jsonable(_parsed(entry.get("details"))),
    }


def audit_lines(cases: Sequence[CaseEvidence]) -> bytes:
    """``audit.jsonl``: the cases' audit entries as stored, chain hashes included, by seq."""
    entries: dict[int, Mapping[str, Any]] = {}
    for item in cases:
        for entry in item.audit:
            entries[_seq(entry)] = entry
    lines = [
        json.dumps(_jsonable(dict(entries[s])), sort_keys=True, separators=(",", ":"))
        for s in sorted(entries)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def config_files(
    settings: Settings, cfg: Config, alerts: pa.Table, absent: list[str]
) -> dict[str, bytes]:
    """``config/``: effective configuration, its source file, detectors, model cards."""
    files: dict[str, bytes] = {}
    effective = {
        "source": cfg.source,
        "sections": {n: s.model_dump(mode="json") for n, s in sorted(cfg.sections.items())},
        "section_hashes": {n: cfg.section_hash(n) for n in sorted(cfg.sections)},
    }
    files["config/effective.json"] = canonical_json(effective)
    if settings.config_path:
        files["config/" + Path(settings.config_path).name] = Path(settings.config_path).read_bytes()
    files["config/detectors.json"] = canonical_json(detectors_document(alerts))
    cards = model_cards(settings.lake)
    if cards:
        for name, data in cards.items():
            files[f"config/models/{name}"] = data
    else:
        absent.append(
            f"model cards: no anomaly model card under {settings.lake.models()} "
            "(no model was trained, or the registry is elsewhere)"
        )
    return files


def detectors_document(alerts: pa.Table) -> dict[str, Any]:
    """The detectors that raised the packed alerts and, when known, the registry's versions."""
    seen = sorted(
        {
            (
                str(row.get(Alerts.detector)),
                row.get(Alerts.detector_version) or "",
                row.get(Alerts.params_hash) or "",
            )
            for row in alerts.to_pylist()
        }
    )
    document: dict[str, Any] = {
        "on_alerts": [
            {"detector": d, "detector_version": v or None, "params_hash": h or None}
            for d, v, h in seen
        ]
    }
    registry = rule_registry()
    if registry is not None:
        document["rule_registry"] = registry
    return document


def rule_registry() -> list[dict[str, Any]] | None:
    """Every registered rule detector with its version, or None where rules are not installed."""
    try:
        from models.rules.registry import RULES
    except ImportError:
        return None
    return [
        {
            "detector": rule.detector(),
            "typology": str(rule.typology),
            "version": rule.version,
            "help": rule.help,
        }
        for _, rule in sorted(RULES.items())
    ]


def model_cards(lake: Lake) -> dict[str, bytes]:
    """Model cards under the registry, keyed by their path inside it."""
    root = lake.models()
    if not storage.exists(root):
        return {}
    fs, base = storage.filesystem(root)
    cards = {}
    for path in sorted(fs.find(base)):
        relative = posixpath.relpath(str(path), base)
        name = posixpath.basename(relative).lower()
        if "card" in name and name.endswith((".json", ".md", ".html", ".txt")):
            with fs.open(path, "rb") as handle:
                cards[relative] = handle.read()
    return cards


def lineage_document(lake: Lake, days: Sequence[dt.date], absent: list[str]) -> dict[str, Any]:
    """``lineage.json``: per day, the ingest's lineage (source files with SHA-256)."""
    result: dict[str, Any] = {}
    for day in days:
        folder = lake.quality_report(day)
        found: dict[str, Any] = {}
        if storage.exists(folder):
            fs, base = storage.filesystem(folder)
            for path in sorted(fs.find(base)):
                name = posixpath.basename(str(path))
                if "lineage" in name.lower() and name.endswith(".json"):
                    with fs.open(path, "rb") as handle:
                        found[posixpath.relpath(str(path), base)] = json.loads(handle.read())
        if found:
            result[day.isoformat()] = found
        else:
            note = f"lineage: no lineage file in {folder}"
            absent.append(note)
            result[day.isoformat()] = {"absent": note.replace(lake.root, "<lake>")}
    return {"days": result}


def _amm_accounts(extract: Extract) -> set[str]:
    table = extract.tables.get(Accounts.name)
    if table is None:
        return set()
    frame = table.to_pandas()
    return set(frame.loc[frame[Accounts.role] == Role.AFFILIATED_MM.value, Accounts.account_id])


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_CHART_POINTS:
        return frame
    step = -(-len(frame) // MAX_CHART_POINTS)
    return frame.iloc[::step]


def replay_chart(
    lake: Lake,
    item: CaseEvidence,
    extract: Extract,
    margin: pd.Timedelta,
    amm: set[str],
) -> tuple[str, str]:
    """The market replay chart of a case's window and a note of the book's source."""
    symbol = str(item.case.get("symbol") or (item.alerts[0][Alerts.symbol] if item.alerts else ""))
    spans = [
        (_ts(a[Alerts.window_start]), _ts(a[Alerts.window_end]))
        for a in item.alerts
        if a[Alerts.symbol] == symbol
    ]
    if item.case.get("window_start") and item.case.get("window_end"):
        spans.append((_ts(item.case["window_start"]), _ts(item.case["window_end"])))
    if not symbol or not spans:
        return charts._empty("Market replay", "the case has no window"), "none"
    start = min(s for s, _ in spans) - margin
    end = max(e for _, e in spans) + margin
    window = Window(symbol, start, end)
    tops, sources = [], []
    for day in window.days():
        top, source = load_top(lake, day, symbol, amm)
        tops.append(top)
        sources.append(source.replace(lake.root, "<lake>"))
    book = pd.concat(tops, ignore_index=True) if tops else pd.DataFrame()
    lines: list[charts.Line] = []
    if not book.empty:
        before = book[book["event_time"] < start].tail(1)
        inside = book[(book["event_time"] >= start) & (book["event_time"] <= end)]
        book = _thin(pd.concat([before.assign(event_time=start), inside], ignore_index=True))
        x = charts.to_epoch(book["event_time"])
        x_end = [*x, start.timestamp() if not x else max(x[-1], end.timestamp())]
        for column, name, color, dashed in (
            ("bid", "best bid", "#0072B2", False),
            ("ask", "best ask", "#D55E00", False),
            ("amm_bid", "AMM bid", "#56B4E9", True),
            ("amm_ask", "AMM ask", "#E69F00", True),
        ):
            values = book[column].astype("float64").tolist()
            if any(pd.notna(v) for v in values):
                lines.append(
                    charts.Line(name, x_end, [*values, values[-1]], color=color, dashed=dashed)
                )
    points: list[charts.Points] = []
    trades = extract.tables.get(Trades.name)
    if trades is not None and trades.num_rows:
        frame = trades.to_pandas()
        frame = frame[
            (frame[Trades.symbol] == symbol)
            & (frame[Trades.event_time] >= start)
            & (frame[Trades.event_time] <= end)
        ]
        with_amm = frame[Trades.buy_account_id].isin(amm) | frame[Trades.sell_account_id].isin(amm)
        for subset, name, color in (
            (frame[~with_amm], "trades, others", "#999999"),
            (frame[with_amm], "trades with the AMM", "#CC79A7"),
        ):
            if len(subset):
                subset = _thin(subset)
                points.append(
                    charts.Points(
                        name,
                        charts.to_epoch(subset[Trades.event_time]),
                        subset[Trades.price].astype("float64").tolist(),
                        color=color,
                    )
                )
    bands = [
        charts.Band(s.timestamp(), e.timestamp(), "alert window") for s, e in sorted(set(spans))
    ]
    title = f"{symbol} {start.strftime('%Y-%m-%d %H:%M:%S')} to {end.strftime('%H:%M:%S')} UTC"
    svg = charts.time_chart(title, lines=lines, points=points, bands=bands, y_label="price")
    return svg, "; ".join(sorted(set(sources)))


#: The case report's order table: engine and gateway times side by side, since sequencing
#: cases turn on their order.
_ORDER_COLUMNS = (
    Orders.event_time,
    Orders.gateway_time,
    Orders.seq,
    Orders.order_id,
    Orders.account_id,
    Orders.event_type,
    Orders.side,
    Orders.order_type,
    Orders.time_in_force,
    Orders.price,
    Orders.quantity,
    Orders.leaves_quantity,
    Orders.fill_price,
    Orders.fill_quantity,
    Orders.trade_id,
)
_TRADE_COLUMNS = (
    Trades.event_time,
    Trades.trade_id,
    Trades.price,
    Trades.quantity,
    Trades.aggressor_side,
    Trades.buy_account_id,
    Trades.sell_account_id,
    Trades.buy_order_id,
    Trades.sell_order_id,
)


def _summary(case: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    typologies = case.get("typologies") or sorted({str(a[Alerts.typology]) for a in alerts})
    pairs = [
        ("Status", case.get("status")),
        ("Severity", case.get("severity")),
        ("Score", case.get("score")),
        ("Family", case.get("family")),
        ("Typologies", typologies),
        ("Entity", case.get("entity_id")),
        ("Accounts", case.get("account_ids")),
        ("Symbol", case.get("symbol")),
        ("Window (UTC)", f"{fmt(case.get('window_start'))} to {fmt(case.get('window_end'))}"),
        ("Alerts", case.get("alert_count", len(alerts))),
        ("Assignee", case.get("assignee")),
        ("Opened", case.get("created_at")),
        ("Follows case", case.get("follows_case_id")),
    ]
    return [(k, fmt(v)) for k, v in pairs]


def _disposition(case: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs = [
        ("Disposition", case.get("disposition") or "none yet (case open)"),
        ("Rationale", case.get("disposition_rationale")),
        ("Regulator's reference", case.get("regulator_reference")),
        ("Closed by", case.get("closed_by")),
        ("Approved by", case.get("approved_by")),
        ("Closed at", case.get("closed_at")),
    ]
    if case.get("proposed_disposition"):
        pairs += [
            ("Proposed disposition (awaiting approval)", case.get("proposed_disposition")),
            ("Proposed by", case.get("proposed_by")),
            ("Proposal rationale", case.get("proposed_rationale")),
        ]
    return [(k, fmt(v)) for k, v in pairs]


def _change(before: Any, after: Any) -> str:
    before, after = _parsed(before), _parsed(after)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = sorted(set(before) | set(after))
        changed = [k for k in keys if before.get(k) != after.get(k)]
        return "; ".join(
            f"{k}: {_short(before.get(k))} → {_short(after.get(k))}" for k in changed[:8]
        )
    if isinstance(after, Mapping):
        return "; ".join(f"{k}: {_short(v)}" for k, v in sorted(after.items())[:8])
    return _short(after)


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def case_report_html(
    lake: Lake,
    cases: Sequence[CaseEvidence],
    extract: Extract,
    cfg: EvidenceConfig,
    *,
    scope: Mapping[str, Any],
    creator: str,
    created_at: dt.datetime,
    key_fingerprint: str,
    absent: Sequence[str],
) -> str:
    """The pack's ``report.html``."""
    margin = pd.Timedelta(seconds=cfg.margin_seconds)
    amm = _amm_accounts(extract)
    orders = (
        extract.tables[Orders.name].to_pandas()
        if Orders.name in extract.tables
        else pd.DataFrame(columns=list(_ORDER_COLUMNS))
    )
    trades = (
        extract.tables[Trades.name].to_pandas()
        if Trades.name in extract.tables
        else pd.DataFrame(columns=list(_TRADE_COLUMNS))
    )
    features = extract.tables.get("alert_features")
    feature_frame = features.to_pandas() if features is not None else pd.DataFrame()
    views = []
    for item in cases:
        case = item.case
        alerts = sorted(
            item.alerts, key=lambda a: (_ts(a[Alerts.window_start]), a[Alerts.alert_id])
        )
        ids = {str(a[Alerts.alert_id]) for a in alerts}
        order_ids = {o for a in alerts for o in (a.get(Alerts.order_ids) or [])}
        trade_ids = {t for a in alerts for t in (a.get(Alerts.trade_ids) or [])}
        replay, source = replay_chart(lake, item, extract, margin, amm)
        case_features = (
            feature_frame[feature_frame["alert_id"].isin(ids)]
            if not feature_frame.empty
            else feature_frame
        )
        feature_chart = _feature_chart(case_features)
        explanations = [str(case.get("explanation") or "")]
        explanations += [
            f"{a[Alerts.typology]}: {a[Alerts.explanation]}"
            for a in alerts
            if a.get(Alerts.explanation) and a[Alerts.explanation] not in explanations
        ]
        history = [
            {
                "seq": e.get("seq"),
                "at": e.get("at"),
                "actor": e.get("actor"),
                "action": e.get("action"),
                "change": _change(e.get("before"), e.get("after")),
                "hash": str(e.get("hash", ""))[:16],
            }
            for e in sorted(item.audit, key=_seq)
        ]
        views.append(
            {
                "id": item.case_id,
                "headline": f"{case.get('typology') or ''} · {case.get('entity_id') or ''} · "
                f"{case.get('symbol') or ''}",
                "summary": _summary(case, alerts),
                "explanation": " ".join(e for e in explanations if e),
                "alerts": table_view(
                    [
                        {
                            **a,
                            Alerts.window_start: _ts(a[Alerts.window_start]),
                            Alerts.window_end: _ts(a[Alerts.window_end]),
                        }
                        for a in alerts
                    ],
                    (
                        Alerts.alert_id,
                        Alerts.typology,
                        Alerts.detector,
                        Alerts.detector_version,
                        Alerts.account_id,
                        Alerts.window_start,
                        Alerts.window_end,
                        Alerts.score,
                        Alerts.severity,
                    ),
                    complete_in="data/alerts.csv",
                ),
                "features": table_view(
                    frame_records(case_features) if not case_features.empty else [],
                    ("alert_id", "feature", "value", "baseline", "detail"),
                    complete_in="data/alert_features.csv",
                    empty="The alerts carry no feature values.",
                ),
                "feature_chart": feature_chart,
                "replay_chart": replay,
                "replay_source": source,
                "orders": table_view(
                    frame_records(
                        orders[orders[Orders.order_id].isin(order_ids)][list(_ORDER_COLUMNS)]
                    ),
                    _ORDER_COLUMNS,
                    limit=cfg.report_max_rows,
                    complete_in="data/orders.csv",
                    empty="No order events of the alerts' orders in the lake.",
                ),
                "trades": table_view(
                    frame_records(
                        trades[trades[Trades.trade_id].isin(trade_ids)][list(_TRADE_COLUMNS)]
                    ),
                    _TRADE_COLUMNS,
                    limit=cfg.report_max_rows,
                    complete_in="data/trades.csv",
                    empty="No trades named by the alerts in the lake.",
                ),
                "history": table_view(
                    history,
                    ("seq", "at", "actor", "action", "change", "hash"),
                    complete_in="audit.jsonl",
                    empty="No audit entries.",
                ),
                "comments": table_view(
                    list(item.comments),
                    ("created_at", "author", "body"),
                    complete_in="case.json",
                    empty="No comments.",
                ),
                "disposition": _disposition(case),
            }
        )
    return render(
        "case_report.html",
        title="Evidence pack: " + scope_text(scope),
        scope_text=scope_text(scope) + f" ({len(cases)} case{'s' if len(cases) != 1 else ''})",
        generated_at=_jsonable(created_at),
        creator=creator,
        fingerprint=key_fingerprint,
        notes=sorted({a.replace(lake.root, "<lake>") for a in absent}),
        cases=views,
    )


def _feature_chart(features: pd.DataFrame) -> str:
    if features.empty:
        return ""
    paired = features.dropna(subset=["value", "baseline"])
    paired = paired[paired["baseline"] != 0]
    if paired.empty:
        return ""
    paired = paired.head(24)
    multiple = paired["alert_id"].nunique() > 1
    labels = [
        (f"{a[-6:]}:{f}" if multiple else str(f))
        for a, f in zip(paired["alert_id"], paired["feature"], strict=True)
    ]
    ratios = (paired["value"] / paired["baseline"]).astype("float64").tolist()
    return charts.bar_chart(
        "Feature value ÷ its baseline (1 = typical)",
        charts.Bars(labels, {"value ÷ baseline": ratios}),
        y_label="ratio",
        value_format="{:,.2f}",
    )


def scope_text(scope: Mapping[str, Any]) -> str:
    """Human words for a pack's scope."""
    if "case_id" in scope:
        return f"case {scope['case_id']}"
    if "entity_id" in scope:
        return f"entity {scope['entity_id']}, {scope.get('from')} to {scope.get('to')}"
    return ", ".join(f"{k} {v}" for k, v in sorted(scope.items()))
