"""``ingest_day``: one landing day through the data-quality gate into the curated lake.

The order of work is what makes a red night safe to investigate:

1. no ``_SUCCESS`` marker: :class:`NotReadyError` (exit 3), nothing written;
2. lineage first (size, rows, SHA-256 of every file), so even a day whose files
   cannot be read gets a report naming them;
3. the contract reader: a file-level failure (unreadable, missing column, wrong
   type, missing dataset) writes the report and raises :class:`ContractError`
   (exit 2); the curated lake is not touched;
4. the GX suites; failing rows grow into whole orders and trades (quarantine);
5. the verdict: the day fails (:class:`DataQualityError`, exit 1) when the
   quarantined share of events is above the configured threshold, a dataset is
   empty, or a reference snapshot (accounts, instruments) has a bad row; the
   quarantine and the report are written, the curated lake is not;
6. otherwise the curated partitions are swapped in, then the report is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import gc
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveillance.config import Config, load_config
from surveillance.contract import (
    LANDING_DATASETS,
    Accounts,
    Instruments,
    Orders,
    Trades,
)
from surveillance.days import parse_day
from surveillance.errors import ContractError, DataQualityError, NotReadyError
from surveillance.ingest import curated, gate, lineage, report
from surveillance.ingest.config import IngestConfig
from surveillance.ingest.quarantine import (
    ORDER_QUARANTINED,
    TRADE_QUARANTINED,
    Quarantine,
    expand,
)
from surveillance.settings import Settings
from surveillance.validate import (
    FILE_COLUMN,
    ROW_COLUMN,
    LandingDay,
    order_keys,
    read_landing_day,
)

PASSED = "passed"
FAILED = "failed"

#: Datasets whose rows are the day's events: the share of these quarantined is gated.
EVENT_DATASETS = (Orders.name, Trades.name)
#: Reference snapshots: a bad row fails the day (every other stage keys on them).
REFERENCE_DATASETS = (Accounts.name, Instruments.name)

#: Datasets the venue may leave out of a day: not curated when absent.
OPTIONAL_DATASETS = frozenset(d.name for d in LANDING_DATASETS if d.optional_dataset)
#: Reason of a day failed because a reference snapshot has a quarantined row.
REFERENCE_REASON = "reference_snapshot"
#: Reason of a day failed because too large a share of its events was quarantined.
THRESHOLD_REASON = "quarantine_threshold"


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: counts, the gate's verdict and where everything is."""

    day: dt.date
    status: str
    events: int
    quarantined_events: int
    quarantine_share: float
    threshold: float
    rows: dict[str, int]
    quarantined: dict[str, int]
    symbols: list[str]
    partitions: dict[str, list[str]]
    quarantine_uri: str
    report_uri: str
    report_html: str
    top_reasons: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds spent per phase (lineage, read, gate, quarantine, write, report).
    timings: dict[str, float] = field(default_factory=dict)
    #: CPU seconds (user + sys, every thread) per phase, as ``timings``.
    cpu_timings: dict[str, float] = field(default_factory=dict)
    #: The process's peak resident memory (bytes) at the end of each phase: where it grew.
    peak_memory: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-able fields for XCom, the run report and ``--format json``."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


def ingest_day(
    settings: Settings,
    day: dt.date | str,
    *,
    config: Config | None = None,
    ingested_at: dt.datetime | None = None,
) -> IngestResult:
    """Validate one landing day and write its curated partitions, quarantine and report.

    Parameters
    ----------
    settings
        Landing and lake roots (and the configuration file, when ``config`` is None).
    day
        The trading day.
    config
        The configuration; default: loaded from ``settings.config_path``.
    ingested_at
        The time recorded as the ingest's in the report and lineage (default: now,
        UTC). Passing a fixed time makes every output byte-identical on re-ingest.

    Returns
    -------
    IngestResult
        Counts, the quarantine share, the partitions written and the report's paths.

    Raises
    ------
    NotReadyError
        The day has no ``_SUCCESS`` marker (exit 3); nothing is written.
    ContractError
        A file-level failure (exit 2); the report is written, the curated lake is not.
    DataQualityError
        The day failed the gate (exit 1); quarantine and report are written, the
        curated lake is not, and the message names the top reasons and the report.
    """
    day = parse_day(day)
    cfg = config if config is not None else load_config(settings.config_path)
    options = cfg.section("ingest", IngestConfig)
    landing = settings.landing
    stamp = (ingested_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if not landing.is_ready(day):
        raise NotReadyError(
            f"landing {landing.root}: day {day.isoformat()} is not ready, marker "
            f"{landing.marker(day)} is missing; the venue has not finished exporting it "
            "(retry later)"
        )
    clock = _Clock()
    files = lineage.source_files(landing, day)
    clock.lap("lineage")
    manifest = lineage.manifest(
        day,
        files,
        ingested_at=stamp,
        config=options.model_dump(mode="json"),
        config_hash=cfg.section_hash("ingest"),
    )
    context = _Context(settings, day, stamp, options, manifest, clock)
    try:
        landing_day = read_landing_day(landing, day)
        clock.lap("read")
    except ContractError as exc:
        paths = context.write(_file_failure_summary(context, exc), {})
        raise ContractError(
            exc.file,
            f"{exc}\ndata-quality report: {paths.html}",
            column=exc.column,
            expected=exc.expected,
            found=exc.found,
            reason=exc.reason,
        ) from exc
    return _gate(context, landing_day)


class _Clock:
    """Wall-clock and CPU seconds per phase, for the benchmark and the run report.

    CPU time (user + sys, every thread of the process) beside wall time: on a shared
    machine the wall time of a phase says as much about the neighbours as about it.
    """

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peaks: dict[str, int] = {}
        self._last = time.perf_counter()
        self._last_cpu = time.process_time()

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[name] = round(now - self._last, 3)
        self.cpu[name] = round(cpu - self._last_cpu, 3)
        self.peaks[name] = _peak_rss()
        self._last, self._last_cpu = now, cpu


def _peak_rss() -> int:
    """The process's peak resident memory so far, in bytes (0 where unknown)."""
    try:
        import resource
    except ImportError:  # not on every platform
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@dataclass
class _Context:
    settings: Settings
    day: dt.date
    stamp: dt.datetime
    options: IngestConfig
    manifest: dict[str, Any]
    clock: _Clock

    def write(
        self, summary: dict[str, Any], results: dict[str, dict[str, Any]]
    ) -> report.ReportPaths:
        validation = report.saved_results(
            results, ingested_at=self.stamp, keep=self.options.result_rows_kept
        )
        return report.write_report(
            self.settings.lake,
            self.day,
            summary=summary,
            validation=validation,
            lineage=self.manifest,
        )

    def base_summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "ingested_at": self.stamp.isoformat(),
            "landing": self.settings.landing_uri,
            "versions": self.manifest["versions"],
            "threshold": self.options.max_quarantine_share,
            "file_error": None,
            "datasets": {},
            "expectations": [],
            "top_reasons": [],
            "events": {"total": 0, "quarantined": 0, "share": 0.0},
        }


def _file_failure_summary(context: _Context, exc: ContractError) -> dict[str, Any]:
    summary = context.base_summary()
    summary.update(
        status=FAILED,
        reason=exc.reason,
        message=str(exc),
        file_error={
            "reason": exc.reason,
            "file": exc.file,
            "column": exc.column,
            "expected": exc.expected,
            "found": exc.found,
            "message": str(exc),
        },
    )
    return summary


def _gate(context: _Context, landing_day: LandingDay) -> IngestResult:
    day, options, lake = context.day, context.options, context.settings.lake
    tables = landing_day.tables
    outcome = gate.validate_day(
        landing_day,
        LANDING_DATASETS,
        min_rows={
            Orders.name: options.min_order_events,
            Accounts.name: 1,
            Instruments.name: 1,
        },
    )
    # The order codes the rules hashed once also number the curated orders (order_key);
    # every other array the validator derived for its rules (sort orders, joins) is
    # released: on a large day they are a gigabyte.
    order_codes = order_keys(landing_day)
    landing_day.release_derived()
    _release_memory()
    context.clock.lap("gate")
    quarantine = expand(tables, outcome.failures)
    events = sum(len(tables[name]) for name in EVENT_DATASETS)
    held = sum(quarantine.count(name) for name in EVENT_DATASETS)
    share = held / events if events else 0.0
    top = _top_reasons(tables, quarantine, outcome, options.report_examples)

    problems: list[tuple[str, str]] = []
    for check in outcome.table_failures:
        problems.append(
            (check.reason, f"{check.dataset}: expected {check.description}, found {check.observed}")
        )
    bad_reference = [name for name in REFERENCE_DATASETS if quarantine.count(name)]
    if bad_reference:
        problems.append(
            (
                REFERENCE_REASON,
                "reference snapshot rows failed the contract in "
                + ", ".join(f"{n} ({quarantine.count(n)} rows)" for n in bad_reference)
                + "; every stage keys on them, so the venue must re-export them",
            )
        )
    if share > options.max_quarantine_share:
        problems.append(
            (
                THRESHOLD_REASON,
                f"{held:,} of {events:,} events quarantined ({share:.4%}), above the "
                f"threshold of {options.max_quarantine_share:.4%} ([ingest] "
                "max_quarantine_share)",
            )
        )
    status = FAILED if problems else PASSED

    context.clock.lap("quarantine")
    quarantine_uri = curated.write_quarantine(
        lake, day, tables, quarantine.masks, quarantine.reasons
    )
    partitions: dict[str, list[str]] = {}
    if status == PASSED:
        sent = {
            name: frame
            for name, frame in tables.items()
            if landing_day.files.get(name) or name not in OPTIONAL_DATASETS
        }
        keep = {name: ~mask for name, mask in quarantine.masks.items() if mask.any()}
        partitions = curated.write_curated(lake, day, sent, keep, order_codes=order_codes)

    summary = context.base_summary()
    summary.update(
        status=status,
        reason=problems[0][0] if problems else None,
        message=_failure_message(day, problems, top) if problems else None,
        events={"total": events, "quarantined": held, "share": share},
        datasets=_dataset_counts(landing_day, quarantine, status == PASSED),
        expectations=[_check_dict(c) for c in outcome.checks],
        top_reasons=top,
        partitions=partitions,
        quarantine=quarantine_uri,
    )
    context.clock.lap("write")
    paths = context.write(summary, outcome.results)
    context.clock.lap("report")
    if problems:
        raise DataQualityError(
            f"{summary['message']}\ndata-quality report: {paths.html}", reason=problems[0][0]
        )
    symbols = sorted(_symbol_of(uri) for uri in partitions.get(Orders.name, []))
    return IngestResult(
        day=day,
        status=status,
        events=events,
        quarantined_events=held,
        quarantine_share=share,
        threshold=options.max_quarantine_share,
        rows={name: len(frame) for name, frame in tables.items()},
        quarantined={name: quarantine.count(name) for name in tables},
        symbols=symbols,
        partitions=partitions,
        quarantine_uri=quarantine_uri,
        report_uri=paths.folder,
        report_html=paths.html,
        top_reasons=top,
        timings=context.clock.laps,
        cpu_timings=context.clock.cpu,
        peak_memory=context.clock.peaks,
    )


def _release_memory() -> None:
    """Hand freed memory back to the system before the write, the other peak of a day.

    The gate leaves many medium-sized allocations (GX metrics, the validator's
    arrays) freed but held by the C allocator's heap; on glibc ``malloc_trim``
    returns them (about a third of a GiB on a ten-million-event day).
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _symbol_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("symbol=", 1)[1]


def _failure_message(
    day: dt.date, problems: list[tuple[str, str]], top: list[dict[str, Any]]
) -> str:
    lines = [f"ingest {day.isoformat()} failed the data-quality gate:"]
    lines += [f"  [{code}] {text}" for code, text in problems]
    if top:
        lines.append("top quarantine reasons:")
        for entry in top[:5]:
            lines.append(f"  {entry['dataset']} {entry['reason']}: {entry['rows']:,} rows")
            for example in entry["examples"][:2]:
                lines.append(f"    e.g. {_example_text(example)}")
    return "\n".join(lines)


def _example_text(example: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in example.items() if v is not None)


def _check_dict(check: gate.Check) -> dict[str, Any]:
    data = asdict(check)
    data["observed"] = gate.json_value(check.observed) if check.observed is not None else None
    return data


#: Columns shown for an example row, when the dataset has them.
_EXAMPLE_COLUMNS = (
    FILE_COLUMN,
    ROW_COLUMN,
    "symbol",
    "seq",
    "order_id",
    "trade_id",
    "account_id",
    "event_type",
)


def _top_reasons(
    tables: dict[str, pd.DataFrame], quarantine: Quarantine, outcome: gate.GateOutcome, k: int
) -> list[dict[str, Any]]:
    """Reasons by number of rows, each with up to ``k`` example rows and the check's words."""
    described = {(c.dataset, c.reason): c for c in outcome.checks}
    found = []
    for dataset, reason, rows in quarantine.reason_counts().itertuples(index=False):
        reasons = quarantine.reasons[dataset]
        positions = reasons.index[reasons.map(lambda r, code=reason: code in r).to_numpy()][:k]
        table = tables[dataset]
        check = described.get((dataset, reason))
        column = check.column if check is not None else None
        shown = [c for c in _EXAMPLE_COLUMNS if c in table.columns]
        if column and column not in shown:
            shown.append(column)
        examples = [
            {c: gate.json_value(v) for c, v in row.items()}
            for row in table.iloc[np.asarray(positions, dtype="int64")][shown].to_dict(
                orient="records"
            )
        ]
        found.append(
            {
                "dataset": dataset,
                "reason": reason,
                "rows": int(rows),
                "description": check.description if check is not None else _linked(reason),
                "examples": examples,
                "violations": check.examples if check is not None else [],
            }
        )
    return found


def _linked(reason: str) -> str:
    return {
        ORDER_QUARANTINED: "quarantined whole with its order: another row of the order "
        "failed a check, or the order traded with a quarantined order or trade",
        TRADE_QUARANTINED: "quarantined with an order of one of its fills",
    }.get(reason, "")


def _counts(column: pd.Series) -> dict[str, int]:
    counts = column.value_counts(dropna=False)
    return {str(k): int(v) for k, v in counts.items() if v}


def _dataset_counts(
    landing_day: LandingDay, quarantine: Quarantine, curated_written: bool
) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for dataset in LANDING_DATASETS:
        table = landing_day.tables[dataset.name]
        mask = quarantine.masks.get(dataset.name, np.zeros(len(table), dtype=bool))
        by_symbol: dict[str, dict[str, int]] = {}
        if "symbol" in table.columns and len(table):
            # value_counts on the column as read: a categorical counts by its codes.
            rows = _counts(table["symbol"])
            held = _counts(table.loc[mask, "symbol"]) if mask.any() else {}
            for symbol in sorted(rows):
                by_symbol[symbol] = {"rows": rows[symbol], "quarantined": held.get(symbol, 0)}
        contract = set(dataset.names()) | {FILE_COLUMN, ROW_COLUMN}
        counts[dataset.name] = {
            "files": len(landing_day.files.get(dataset.name, [])),
            "rows": len(table),
            "quarantined": int(mask.sum()),
            "curated": int(len(table) - mask.sum()) if curated_written else 0,
            "extra_columns": [c for c in table.columns if c not in contract],
            "by_symbol": by_symbol,
        }
    return counts
