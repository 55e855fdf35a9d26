"""What every rule detector shares: its declaration, its scoring and its alerts.

A detector is a class with a name, the typology it flags, a version, help text
and a Pydantic model of its parameters. ``run(data, params)`` computes the
detector's features for one (day, symbol) and returns them together with the
candidate alerts, one row per flagged conduct. :func:`finish_alerts` turns those
rows into the contract's ``Alerts`` columns: entity, family, severity, the
detector's version, the hash of its parameters and a stable ``alert_id``.

Scores are on one scale for every detector: a detector measures how far its
triggering statistic is beyond its threshold (``excess`` = statistic /
threshold, so 1 at the threshold) and :func:`score_from_excess` maps that to
0-100: 50 at the threshold, 75 at twice, about 88 at three times. Severity then
follows the score (:func:`severity_of`), so that the morning queue can be sorted
across typologies.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from features.data import SymbolDay, from_ns
from surveillance.config import SectionModel, params_hash
from surveillance.contract import Alerts, Severity, Typology

#: Score at and above which an alert is HIGH, and MEDIUM.
HIGH_SCORE = 85.0
MEDIUM_SCORE = 65.0

#: Columns a detector's candidate rows carry before :func:`finish_alerts`.
CANDIDATE_COLUMNS = (
    "account_id",
    "window_start",
    "window_end",
    "excess",
    "order_ids",
    "trade_ids",
    "explanation",
    "features",
)


def score_from_excess(excess: float | np.ndarray) -> np.ndarray:
    """0-100 score from how many times the threshold a statistic is (1 = at it)."""
    x = np.clip(np.asarray(excess, dtype=float), 0.0, None)
    return np.round(100.0 * (1.0 - np.power(0.5, x)), 2)


def severity_of(score: float) -> str:
    if score >= HIGH_SCORE:
        return Severity.HIGH.value
    if score >= MEDIUM_SCORE:
        return Severity.MEDIUM.value
    return Severity.LOW.value


def alert_id(
    detector: str,
    version: str,
    phash: str,
    symbol: str,
    account: str | None,
    window_start: int,
    window_end: int,
    order_ids: Iterable[str],
    trade_ids: Iterable[str],
) -> str:
    """Stable identifier: the same conduct, detector and configuration give the same id."""
    parts = [
        detector,
        version,
        phash,
        symbol,
        account or "",
        str(int(window_start)),
        str(int(window_end)),
        ",".join(sorted(order_ids)),
        ",".join(sorted(trade_ids)),
    ]
    return "A-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def features_json(values: Mapping[str, Any]) -> str:
    """The triggering values and their baselines as canonical JSON."""
    return json.dumps(_json_value(values), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class DetectorOutput:
    """What a detector returns for one (day, symbol)."""

    features: pd.DataFrame
    candidates: pd.DataFrame


class RuleDetector(ABC):
    """A rule detector: one typology, one parameter model, one version."""

    name: ClassVar[str]
    typology: ClassVar[Typology]
    version: ClassVar[str]
    help: ClassVar[str]
    params_model: ClassVar[type[SectionModel]]

    @classmethod
    def detector(cls) -> str:
        return f"rule:{cls.name}"

    @classmethod
    def params_hash(cls, params: SectionModel) -> str:
        return params_hash({"detector": cls.name, **params.model_dump(mode="json")})

    @abstractmethod
    def run(self, data: SymbolDay, params: Any) -> DetectorOutput:
        """Features of the day and candidate alerts (see ``CANDIDATE_COLUMNS``)."""


def empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})


def candidates_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Candidate rows as a frame with ``CANDIDATE_COLUMNS`` (window times in ns)."""
    if not rows:
        return empty_candidates()
    return pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))


def finish_alerts(
    detector: type[RuleDetector],
    params: SectionModel,
    data: SymbolDay,
    candidates: pd.DataFrame,
) -> pd.DataFrame:
    """The contract's alert rows for a detector's candidates on one (day, symbol)."""
    columns = Alerts.names()
    if candidates.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    phash = detector.params_hash(params)
    version = detector.version
    name = detector.detector()
    scores = score_from_excess(candidates["excess"].to_numpy(dtype=float))
    rows = []
    records: list[dict[Any, Any]] = candidates.to_dict("records")
    for cand, score in zip(records, scores, strict=True):
        order_ids = sorted({str(o) for o in cand["order_ids"]})
        trade_ids = sorted({str(t) for t in cand["trade_ids"]})
        account = cand["account_id"] if isinstance(cand["account_id"], str) else None
        start, end = int(cand["window_start"]), int(cand["window_end"])
        feats = dict(cand["features"])
        feats["score_excess"] = float(cand["excess"])
        rows.append(
            {
                Alerts.alert_id: alert_id(
                    name, version, phash, data.symbol, account, start, end, order_ids, trade_ids
                ),
                Alerts.family: detector.typology.family.value,
                Alerts.typology: detector.typology.value,
                Alerts.detector: name,
                Alerts.symbol: data.symbol,
                Alerts.account_id: account,
                Alerts.entity_id: data.entity_of.get(account or "", account or ""),
                Alerts.window_start: from_ns(start),
                Alerts.window_end: from_ns(end),
                Alerts.score: float(score),
                Alerts.severity: severity_of(float(score)),
                Alerts.order_ids: order_ids,
                Alerts.trade_ids: trade_ids,
                Alerts.explanation: str(cand["explanation"]),
                Alerts.detector_version: version,
                Alerts.params_hash: phash,
                Alerts.features: features_json(feats),
                Alerts.date: data.day.isoformat(),
            }
        )
    return pd.DataFrame(rows, columns=columns)
