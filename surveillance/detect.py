"""The detect stage: features and every detector for one trading day.

For each symbol of the day's curated lake, :func:`detect_symbol` loads the
curated data and the book outputs (:func:`features.data.load_symbol_day`), runs
every enabled rule detector of ``models.rules.registry.RULES`` and every anomaly
scorer of :data:`ANOMALY_SCORERS`, writes each detector's feature table to
``lake.features(<detector>, day, symbol)`` and returns the alerts in the
contract's ``Alerts`` columns. :func:`detect_day` does every symbol and replaces
the day's alerts partition ``lake.alerts(day)`` (one sub-folder per symbol) in one
atomic swap, so a rerun of a day replaces its alerts and never duplicates them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from features.data import SymbolDay, load_symbol_day
from models.anomaly.score import score_baseline, score_iforest, score_peer, unavailable
from models.rules.base import RuleDetector, finish_alerts
from models.rules.config import RulesConfig
from models.rules.registry import RULES
from surveillance.config import Config, load_config
from surveillance.contract import Alerts, Orders
from surveillance.errors import InputError
from surveillance.settings import Settings
from surveillance.storage import (
    PART_FILE,
    join,
    replace_partition,
    symbol_partition,
    write_partition,
    write_table,
)

log = logging.getLogger(__name__)

#: An anomaly scorer: (settings, config, one symbol's data) -> alert rows in the
#: contract's ``Alerts`` columns with ``detector = "anomaly:<model>"``.
AnomalyScorer = Callable[[Settings, Config, SymbolDay], pd.DataFrame]

#: The second registry: anomaly scorers, by model name. The anomaly-model stage
#: registers its scorers here (``ANOMALY_SCORERS["iforest"] = score_iforest``);
#: detect runs every entry after the rules, on the same loaded data.
ANOMALY_SCORERS: dict[str, AnomalyScorer] = {}

#: Optional, per scorer: why it cannot score today (no model registered, disabled),
#: or None when it can. detect lists the reasons in its summary's ``skipped``.
ANOMALY_READY: dict[str, Callable[[Settings, Config], str | None]] = {}

ANOMALY_SCORERS["baseline"] = score_baseline
ANOMALY_SCORERS["peer"] = score_peer
ANOMALY_SCORERS["iforest"] = score_iforest
ANOMALY_READY.update({name: unavailable(name) for name in ("baseline", "peer", "iforest")})


@dataclass
class DetectResult:
    """What the detect stage did for one day."""

    day: dt.date
    symbols: list[str]
    alerts: int
    by_typology: dict[str, int]
    by_detector: dict[str, int]
    alerts_uri: str
    features_written: int
    seconds: float
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "date": self.day.isoformat(),
            "symbols": list(self.symbols),
            "alerts": self.alerts,
            "by_typology": dict(self.by_typology),
            "alerts_uri": self.alerts_uri,
            "features_written": self.features_written,
            "seconds": round(self.seconds, 2),
            "skipped": list(self.skipped),
        }


def alerts_schema() -> pa.Schema:
    """The schema of stored alerts: the contract's ``Alerts`` columns."""
    return Alerts.schema()


def alerts_table(alerts: pd.DataFrame) -> pa.Table:
    """Alert rows as an Arrow table in the contract's schema, in a stable order."""
    if alerts.empty:
        return Alerts.empty()
    ordered = alerts.sort_values(
        [Alerts.symbol, Alerts.window_start, Alerts.typology, Alerts.alert_id], kind="stable"
    )
    return pa.Table.from_pandas(
        ordered[Alerts.names()], schema=alerts_schema(), preserve_index=False
    )


def _features_table(frame: pd.DataFrame) -> pa.Table:
    """A feature table with its nanosecond time columns as UTC timestamps."""
    out = frame.copy()
    for col in out.columns:
        name = str(col)
        is_time = name in ("t", "start", "end", "gw") or name.endswith(("_t", "_time", "_gw"))
        if is_time and out[col].dtype == np.int64:
            out[col] = pd.to_datetime(out[col], unit="ns", utc=True)
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)


def run_rules(data: SymbolDay, rules: RulesConfig) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every enabled rule detector on one (day, symbol): alerts and feature tables."""
    alerts = []
    features: dict[str, pd.DataFrame] = {}
    for name, detector_cls in RULES.items():
        params = getattr(rules, name)
        if not params.enabled:
            continue
        detector: RuleDetector = detector_cls()
        output = detector.run(data, params)
        features[name] = output.features
        alerts.append(finish_alerts(detector_cls, params, data, output.candidates))
    frames = [a for a in alerts if not a.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in Alerts.names()}), features
    return pd.concat(frames, ignore_index=True), features


def detect_symbol(
    settings: Settings, day: dt.date, symbol: str, *, config: Config | None = None
) -> tuple[pd.DataFrame, int]:
    """Features and alerts of one symbol; writes its feature tables, returns its alerts.

    Returns the alert rows and the number of feature tables written.
    """
    cfg = config or load_config(settings.config_path)
    rules = cfg.section("rules", RulesConfig)
    lake = settings.lake
    data = load_symbol_day(lake, day, symbol)
    alerts, features = run_rules(data, rules)
    for name, scorer in ANOMALY_SCORERS.items():
        scored = scorer(settings, cfg, data)
        if not scored.empty:
            alerts = pd.concat([alerts, scored[Alerts.names()]], ignore_index=True)
        log.debug("anomaly scorer %s: %d alerts", name, len(scored))
    for name, frame in features.items():
        write_partition(_features_table(frame), lake.features(name, day, symbol))
    return alerts, len(features)


def detect_day(
    settings: Settings,
    day: dt.date,
    *,
    config: Config | None = None,
    symbols: list[str] | None = None,
) -> DetectResult:
    """Run every detector on every symbol of ``day`` and store the day's alerts.

    With ``symbols`` (the nightly DAG maps detect over symbols), only those symbols'
    alert partitions are replaced; without, the whole day's alerts are replaced in
    one swap, so symbols that no longer trade lose their stale alerts.

    Raises
    ------
    InputError
        If the day has no curated orders (run ``mmsurv ingest`` first) or a symbol
        has no book outputs (run ``mmsurv book`` first).
    """
    started = time.perf_counter()
    cfg = config or load_config(settings.config_path)
    lake = settings.lake
    available = lake.curated_symbols(Orders.name, day)
    if symbols is not None:
        unknown = sorted(set(symbols) - set(available))
        if unknown:
            raise InputError(
                f"lake {lake.root}: no curated orders for {day.isoformat()} symbol {unknown[0]}; "
                f"symbols with data: {', '.join(available) or 'none'}"
            )
    chosen = sorted(symbols) if symbols is not None else available
    if not chosen:
        raise InputError(
            f"lake {lake.root}: no curated orders for {day.isoformat()}; "
            f"run `mmsurv ingest --date {day.isoformat()}` first"
        )
    missing_book = [s for s in chosen if not _has_book(settings, day, s)]
    if missing_book:
        raise InputError(
            f"lake {lake.root}: no book outputs for {day.isoformat()} symbol {missing_book[0]} "
            f"(expected {lake.book('top', day, missing_book[0])}); "
            f"run `mmsurv book --date {day.isoformat()}` first"
        )
    skipped = []
    for name, ready in ANOMALY_READY.items():
        reason = ready(settings, cfg) if name in ANOMALY_SCORERS else None
        if reason:
            skipped.append(f"anomaly:{name}: {reason}")
    per_symbol: dict[str, pd.DataFrame] = {}
    written = 0
    for symbol in chosen:
        alerts, n = detect_symbol(settings, day, symbol, config=cfg)
        per_symbol[symbol] = alerts
        written += n
    uri = lake.alerts(day)
    if symbols is None:
        with replace_partition(uri) as staging:
            for symbol, alerts in per_symbol.items():
                write_table(
                    alerts_table(alerts), join(symbol_partition(staging, symbol), PART_FILE)
                )
    else:
        for symbol, alerts in per_symbol.items():
            write_partition(alerts_table(alerts), symbol_partition(uri, symbol))
    every = [a for a in per_symbol.values() if not a.empty]
    all_alerts = pd.concat(every, ignore_index=True) if every else pd.DataFrame()
    by_typology = all_alerts[Alerts.typology].value_counts().sort_index().to_dict() if every else {}
    by_detector = all_alerts[Alerts.detector].value_counts().sort_index().to_dict() if every else {}
    return DetectResult(
        day=day,
        symbols=chosen,
        alerts=len(all_alerts),
        by_typology={str(k): int(v) for k, v in by_typology.items()},
        by_detector={str(k): int(v) for k, v in by_detector.items()},
        alerts_uri=uri,
        features_written=written,
        seconds=time.perf_counter() - started,
        skipped=skipped,
    )


def _has_book(settings: Settings, day: dt.date, symbol: str) -> bool:
    from surveillance.storage import exists

    return exists(settings.lake.book("top", day, symbol))


def read_alerts_day(settings: Settings, day: dt.date) -> pd.DataFrame:
    """The stored alerts of ``day`` in the contract's columns.

    Raises
    ------
    InputError
        If detect has not run for ``day``.
    """
    from surveillance.storage import exists, read_table

    uri = settings.lake.alerts(day)
    if not exists(uri):
        raise InputError(
            f"lake {settings.lake.root}: no alerts for {day.isoformat()} at {uri}; "
            f"run `mmsurv detect --date {day.isoformat()}` first"
        )
    table = read_table(uri)
    return (
        table.select(Alerts.names()).to_pandas() if table.num_rows else Alerts.empty().to_pandas()
    )


def demo_step(settings: Settings, day: dt.date) -> None:
    """``make demo``: detect on the demo day, alerts by typology, evaluation against labels."""
    from surveillance.evaluate import evaluate, read_labels

    result = detect_day(settings, day)
    print(f"  {result.alerts} alerts on {len(result.symbols)} symbols in {result.seconds:.1f} s")
    for typology, count in result.by_typology.items():
        print(f"    {typology:<26} {count:>5}")
    labels, symbols, _days = read_labels(settings.landing_uri)
    if labels.empty:
        print("  no labels in the landing root: nothing to evaluate against")
        return
    evaluation = evaluate(
        labels, read_alerts_day(settings, day), symbols_by_day=symbols or None, days=[day]
    )
    print("  evaluation against the day's labels (contract matching rule):")
    print(
        f"    {'typology':<26} {'labels':>6} {'found':>6} {'alerts':>6} {'prec':>6} {'recall':>6}"
    )
    for row in evaluation.table():
        print(
            f"    {row['typology']!s:<26} {row['labels']!s:>6} {row['detected']!s:>6} "
            f"{row['alerts']!s:>6} {row['precision']!s:>6} {row['recall']!s:>6}"
        )
