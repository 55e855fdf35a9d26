"""Detection quality against ground-truth labels, with the contract's matching rule.

``venue-export-v1.md``: a label is detected when an alert of the same typology,
symbol and account overlaps its window in time; precision counts alerts that
detect some label, recall counts labels detected. Besides precision, recall and
F1 per typology, the analyst's cost of false alerts is reported as alerts per
symbol-hour and per symbol and clean day (a day with no label at all).

Windows are closed intervals: an alert whose window ends at the instant a label's
window starts overlaps it. That is what an analyst would call "the same moment".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveillance.contract import Alerts, Instruments, Labels, Typology
from surveillance.errors import InputError
from surveillance.storage import Landing, exists, filesystem, read_table

ALL = "ALL"


@dataclass(frozen=True)
class TypologyScore:
    """Precision, recall and F1 of one typology (or ``ALL``)."""

    typology: str
    labels: int
    detected: int
    alerts: int
    true_alerts: int

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def recall(self) -> float:
        return self.detected / self.labels if self.labels else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if np.isnan(p) or np.isnan(r) or p + r == 0:
            return float("nan") if (np.isnan(p) or np.isnan(r)) else 0.0
        return 2 * p * r / (p + r)

    def row(self) -> dict[str, object]:
        return {
            "typology": self.typology,
            "labels": self.labels,
            "detected": self.detected,
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "precision": _fmt(self.precision),
            "recall": _fmt(self.recall),
            "f1": _fmt(self.f1),
        }


def _fmt(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3f}"


@dataclass
class Evaluation:
    """The per-typology table and the false-alert load."""

    scores: list[TypologyScore]
    days: list[dt.date]
    clean_days: list[dt.date]
    symbol_days: int
    clean_symbol_days: int
    false_alerts: int
    clean_day_alerts: int
    matched: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def false_alerts_per_symbol_hour(self) -> float:
        hours = self.symbol_days * 24
        return self.false_alerts / hours if hours else float("nan")

    @property
    def alerts_per_symbol_clean_day(self) -> float:
        if not self.clean_symbol_days:
            return float("nan")
        return self.clean_day_alerts / self.clean_symbol_days

    @property
    def clean_alerts_per_symbol_hour(self) -> float:
        hours = self.clean_symbol_days * 24
        return self.clean_day_alerts / hours if hours else float("nan")

    def table(self) -> list[dict[str, object]]:
        return [s.row() for s in self.scores]

    def summary(self) -> dict[str, object]:
        return {
            "days": len(self.days),
            "clean_days": len(self.clean_days),
            "symbol_days": self.symbol_days,
            "false_alerts": self.false_alerts,
            "false_alerts_per_symbol_hour": _fmt(self.false_alerts_per_symbol_hour),
            "clean_day_alerts": self.clean_day_alerts,
            "alerts_per_symbol_clean_day": _fmt(self.alerts_per_symbol_clean_day),
            "clean_alerts_per_symbol_hour": _fmt(self.clean_alerts_per_symbol_hour),
        }


def match(labels: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """Every (label, alert) pair that the contract's rule counts as a detection."""
    if labels.empty or alerts.empty:
        return pd.DataFrame(columns=["label_index", "alert_index"])
    keys = [Labels.typology, Labels.symbol, Labels.account_id]
    left = labels[[*keys, Labels.window_start, Labels.window_end]].copy()
    left["label_index"] = np.arange(len(labels))
    right = alerts[
        [Alerts.typology, Alerts.symbol, Alerts.account_id, Alerts.window_start, Alerts.window_end]
    ].copy()
    right.columns = [*keys, "a_start", "a_end"]
    right["alert_index"] = np.arange(len(alerts))
    for col in keys:
        left[col] = left[col].astype(object)
        right[col] = right[col].astype(object)
    pairs = left.merge(right, on=keys, how="inner")
    overlap = (pairs["a_start"] <= pairs[Labels.window_end]) & (
        pairs[Labels.window_start] <= pairs["a_end"]
    )
    return pairs.loc[overlap, ["label_index", "alert_index"]].reset_index(drop=True)


def evaluate(
    labels: pd.DataFrame,
    alerts: pd.DataFrame,
    *,
    symbols_by_day: dict[dt.date, int] | None = None,
    days: list[dt.date] | None = None,
) -> Evaluation:
    """Score ``alerts`` against ``labels`` per typology.

    Parameters
    ----------
    labels, alerts
        Frames with the contract's label and alert columns.
    symbols_by_day
        Symbols traded each day, for the per-symbol-hour rates; defaults to the
        distinct symbols seen in labels and alerts of the day.
    days
        The days evaluated (a clean day may have neither labels nor alerts);
        defaults to the days seen in labels and alerts.
    """
    labels = _normalise_times(labels, Labels.window_start, Labels.window_end)
    alerts = _normalise_times(alerts, Alerts.window_start, Alerts.window_end)
    pairs = match(labels, alerts)
    label_hit = np.zeros(len(labels), dtype=bool)
    alert_hit = np.zeros(len(alerts), dtype=bool)
    label_hit[pairs["label_index"].to_numpy(dtype=int)] = True
    alert_hit[pairs["alert_index"].to_numpy(dtype=int)] = True
    label_typ = labels[Labels.typology].astype(object).to_numpy() if len(labels) else np.array([])
    alert_typ = alerts[Alerts.typology].astype(object).to_numpy() if len(alerts) else np.array([])
    scores = []
    for typ in [t.value for t in Typology]:
        lab = label_typ == typ
        ale = alert_typ == typ
        scores.append(
            TypologyScore(
                typ,
                int(lab.sum()),
                int(label_hit[lab].sum()),
                int(ale.sum()),
                int(alert_hit[ale].sum()),
            )
        )
    scores.append(
        TypologyScore(ALL, len(labels), int(label_hit.sum()), len(alerts), int(alert_hit.sum()))
    )
    label_days = _days_of(labels, Labels.window_start)
    alert_days = _alert_days(alerts)
    all_days = sorted(set(days or []) | set(label_days) | set(alert_days))
    labelled = set(label_days)
    clean = [d for d in all_days if d not in labelled]
    if symbols_by_day is None:
        symbols_by_day = {}
        for d in all_days:
            syms = set(labels.loc[label_days == d, Labels.symbol]) if len(labels) else set()
            if len(alerts):
                syms |= set(alerts.loc[alert_days == d, Alerts.symbol])
            symbols_by_day[d] = max(len(syms), 1)
    symbol_days = sum(symbols_by_day.get(d, 1) for d in all_days)
    clean_symbol_days = sum(symbols_by_day.get(d, 1) for d in clean)
    clean_set = set(clean)
    clean_alerts = sum(1 for d in alert_days if d in clean_set)
    return Evaluation(
        scores=scores,
        days=all_days,
        clean_days=clean,
        symbol_days=symbol_days,
        clean_symbol_days=clean_symbol_days,
        false_alerts=int((~alert_hit).sum()),
        clean_day_alerts=clean_alerts,
        matched=pairs,
    )


def _normalise_times(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    out = frame.copy()
    for col in cols:
        if col in out:
            out[col] = pd.to_datetime(out[col], utc=True)
    return out


def _days_of(frame: pd.DataFrame, col: str) -> np.ndarray:
    if frame.empty:
        return np.array([], dtype=object)
    return np.array([t.date() for t in frame[col]], dtype=object)


def _alert_days(alerts: pd.DataFrame) -> np.ndarray:
    if alerts.empty:
        return np.array([], dtype=object)
    if Alerts.date in alerts and alerts[Alerts.date].notna().all():
        return np.array([dt.date.fromisoformat(str(d)) for d in alerts[Alerts.date]], dtype=object)
    return _days_of(alerts, Alerts.window_start)


# ---------------------------------------------------------------------- loading
def read_labels(uri: str) -> tuple[pd.DataFrame, dict[dt.date, int], list[dt.date]]:
    """Labels from a landing root (``<root>/labels/date=...``) or a Parquet file or folder.

    Returns the labels, the number of instruments per day when the root holds the
    instruments snapshots (else an empty mapping), and the days the root holds.

    Raises
    ------
    InputError
        If nothing readable is found at ``uri``.
    """
    landing = Landing(uri)
    label_days = landing.days(Labels.name)
    if label_days:
        frames = []
        for d in label_days:
            files = landing.files(Labels.name, d)
            if files:
                frames.append(read_table(landing.day_dir(Labels.name, d)).to_pandas())
        labels = pd.concat(frames, ignore_index=True) if frames else Labels.empty().to_pandas()
        symbols: dict[dt.date, int] = {}
        for d in set(label_days) | set(landing.days(Instruments.name)):
            if landing.files(Instruments.name, d):
                inst = read_table(landing.day_dir(Instruments.name, d)).to_pandas()
                symbols[d] = int(inst[Instruments.symbol].nunique())
        days = sorted(set(label_days) | set(landing.days("orders")))
        return labels, symbols, days
    if not exists(uri):
        raise InputError(
            f"labels {uri}: not found; pass a landing root holding labels/date=YYYY-MM-DD/ "
            "or a Parquet file of labels"
        )
    return read_table(uri).to_pandas(), {}, []


def read_alerts(uri: str) -> pd.DataFrame:
    """Alerts from an export file (Parquet or CSV) or an alerts partition folder.

    Raises
    ------
    InputError
        If the file is missing or lacks the columns matching needs.
    """
    if not exists(uri):
        raise InputError(f"alerts {uri}: not found; export them with `mmsurv alerts export`")
    fs, path = filesystem(uri)
    if not fs.isdir(path) and Path(path).suffix.lower() == ".csv":
        with fs.open(path, "rb") as handle:
            alerts = pd.read_csv(handle, dtype=str, keep_default_na=False)
        alerts = alerts.replace({"": None})
    else:
        alerts = read_table(uri).to_pandas()
    needed = [
        Alerts.typology,
        Alerts.symbol,
        Alerts.account_id,
        Alerts.window_start,
        Alerts.window_end,
    ]
    missing = [c for c in needed if c not in alerts]
    if missing:
        raise InputError(
            f"alerts {uri}: column {missing[0]!r} is missing; expected the alerts export "
            f"columns ({', '.join(Alerts.required_names())}); re-export with `mmsurv alerts export`"
        )
    return alerts
