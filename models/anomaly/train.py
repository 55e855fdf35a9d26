"""Training: fit every anomaly model on a window of days, calibrate it, register it.

:func:`train_models` is the stage function (the CLI, the demo and the weekly
retraining DAG call it). For each model and symbol it:

1. builds the affiliated market maker's bucket vectors for every day of the window
   (:func:`features.behaviour.bucket_vectors`);
2. scores each training day **out of sample**: the estimator is fitted on the other
   days and scores the left-out one (with a one-day window it can only score in
   sample, and the card says so);
3. calibrates the day thresholds (:mod:`models.anomaly.calibration`) on those
   out-of-sample training days, pooling the day-to-day spread over the window's
   symbols: a day alerts when its few most unusual buckets (*tail*) or the
   sustained shift of one feature over the day (*drift*) goes beyond what real
   clean days show, at ``target_false_alert_rate`` for all statistics together;
4. fits the final estimator on the whole window and registers it with its model
   card (:mod:`models.anomaly.registry`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.behaviour import FEATURES, bucket_vectors
from features.data import load_symbol_day
from models.anomaly.calibration import (
    CALIBRATION_FORMAT,
    DayCalibration,
    calibrate_days,
    day_statistics,
    drift_columns,
)
from models.anomaly.config import AnomalyConfig
from models.anomaly.registry import TrainedModel, library_versions, save
from models.anomaly.vectors import (
    MODEL_HELP,
    drift_clip,
    feature_list,
    make_estimator,
    model_input,
    signed_z,
)
from surveillance.config import Config, load_config
from surveillance.contract import Accounts, Instruments, Orders, Trades
from surveillance.days import day_range
from surveillance.errors import InputError
from surveillance.settings import Settings
from surveillance.storage import Lake, exists, filesystem, read_bytes

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What one training run registered."""

    first: dt.date
    last: dt.date
    days: list[dt.date]
    symbols: list[str]
    cards: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (for the CLI, the demo and the retraining DAG)."""
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": [d.isoformat() for d in self.days],
            "symbols": list(self.symbols),
            "models": [
                {
                    "model": c["model"],
                    "version": c["version"],
                    "uri": c["uri"],
                    "symbols": sorted(c["validation"]),
                    "thresholds": {s: v["day_threshold"] for s, v in c["validation"].items()},
                    "drift_thresholds": {
                        s: v["drift_threshold"] for s, v in c["validation"].items()
                    },
                }
                for c in self.cards
            ],
            "skipped": list(self.skipped),
            "seconds": round(self.seconds, 2),
        }


def _fingerprint(lake: Lake, days: list[dt.date], symbols: dict[dt.date, list[str]]) -> str:
    """SHA-256 over the bytes of every input partition (curated data and book outputs)."""
    digest = hashlib.sha256()
    for day in days:
        uris = [lake.curated(Accounts.name, day), lake.curated(Instruments.name, day)]
        for symbol in symbols.get(day, []):
            uris += [
                lake.curated(Orders.name, day, symbol),
                lake.curated(Trades.name, day, symbol),
                lake.book("top", day, symbol),
                lake.book("queue", day, symbol),
            ]
        for uri in uris:
            if not exists(uri):
                continue
            fs, path = filesystem(uri)
            files = sorted(fs.find(path)) if fs.isdir(path) else [path]
            for f in files:
                digest.update(str(f).rsplit("/lake/", 1)[-1].encode())
                digest.update(hashlib.sha256(read_bytes(str(f))).digest())
    return digest.hexdigest()


def training_vectors(
    settings: Settings, days: list[dt.date], bucket_s: int
) -> tuple[pd.DataFrame, dict[dt.date, list[str]]]:
    """Bucket vectors of every market maker, symbol and day of ``days`` that has data.

    Raises
    ------
    InputError
        If a day has curated orders but no book outputs for a symbol.
    """
    lake = settings.lake
    frames = []
    symbols: dict[dt.date, list[str]] = {}
    for day in days:
        day_symbols = lake.curated_symbols(Orders.name, day)
        for symbol in day_symbols:
            if not exists(lake.book("top", day, symbol)):
                raise InputError(
                    f"lake {lake.root}: no book outputs for {day.isoformat()} symbol {symbol} "
                    f"(expected {lake.book('top', day, symbol)}); run "
                    f"`mmsurv book --date {day.isoformat()}` before training on that day"
                )
            frames.append(bucket_vectors(load_symbol_day(lake, day, symbol), bucket_s))
        if day_symbols:
            symbols[day] = day_symbols
    if not frames:
        return pd.DataFrame(), symbols
    return pd.concat(frames, ignore_index=True), symbols


def model_drift_columns(model: str) -> np.ndarray:
    """The drift statistics of ``model``: one-sided for the peer model, else both ways.

    The peer model only counts deviations from its peers in each feature's
    suspicious direction (being better than the peers for clients is not an alert);
    the models of the AMM's own behaviour flag a sustained change either way (a
    market maker that starts trading ahead of clients also cancels less and enters
    more orders, changes that point nowhere on their own).
    """
    if model == "peer":
        return drift_columns(np.array([f.direction for f in FEATURES]))
    return drift_columns(np.zeros(len(FEATURES), dtype=int))


def calibrate(
    model: str, buckets: pd.DataFrame, cfg: AnomalyConfig
) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """Fit ``model`` on one symbol's buckets; score each training day out of sample.

    Returns the estimator fitted on every day, the day statistics of each training
    day scored by the estimator fitted on the other days (one row per day;
    :func:`models.anomaly.calibration.day_statistics`), and the validation metrics
    for the model card. With a single day the scores are in sample.
    """
    inp = model_input(model, buckets, cfg.period_hours)
    X = inp.X
    days = inp.keys["date"].to_numpy()
    unique = sorted(set(days))
    columns = model_drift_columns(model)
    decisions = np.empty(len(X))
    rows = []
    in_sample = len(unique) < 2
    for d in unique:
        held = days == d
        est = make_estimator(model, cfg).fit(X if in_sample else X[~held])
        decisions[held] = est.decision_function(X[held])
        z = signed_z(model, est, X[held])
        rows.append(day_statistics(decisions[held], z, columns, cfg.tail_buckets, drift_clip()))
    final = make_estimator(model, cfg).fit(X)
    metrics = {
        "training_days": len(unique),
        "training_buckets": len(X),
        "out_of_sample": not in_sample,
        "bucket_outlier_rate": round(float(np.mean(decisions < 0)), 4),
        "days": list(unique),
    }
    return final, np.array(rows), metrics


def _validation(metrics: dict[str, Any], cal: DayCalibration) -> dict[str, Any]:
    """The model card's validation entry of one symbol, once its calibration is known."""
    days = metrics.pop("days")
    return {
        **metrics,
        "day_threshold": round(cal.tail_threshold, 6),
        "drift_threshold": round(cal.drift_threshold, 6),
        "calibration": {
            "statistics": 1 + len(cal.columns),
            "degrees_of_freedom": cal.dof,
            "threshold_t": round(cal.threshold, 4),
        },
        "training_day_scores": {d: round(u, 4) for d, u in zip(days, cal.training_u, strict=True)},
        "training_days_alerting": round(
            float(np.mean([u > cal.threshold for u in cal.training_u])), 4
        ),
    }


def train_models(
    settings: Settings, first: dt.date, last: dt.date, *, config: Config | None = None
) -> TrainResult:
    """Train, calibrate and register every configured anomaly model on ``first..last``.

    Days of the window without curated data are skipped (and listed); a symbol with
    fewer than ``min_training_buckets`` AMM buckets is skipped for that model.

    Raises
    ------
    InputError
        If no day of the window has curated data, a day lacks its book outputs, or no
        symbol has enough buckets to train any model.
    """
    started = time.perf_counter()
    cfg = (config or load_config(settings.config_path)).section("anomaly", AnomalyConfig)
    days = day_range(first, last)
    buckets, symbols_by_day = training_vectors(settings, days, cfg.bucket_s)
    used = sorted(symbols_by_day)
    skipped = [f"{d.isoformat()}: no curated data" for d in days if d not in symbols_by_day]
    if buckets.empty:
        raise InputError(
            f"lake {settings.lake.root}: no curated data from {first.isoformat()} to "
            f"{last.isoformat()}; run `mmsurv ingest` and `mmsurv book` for those days first"
        )
    symbols = sorted(buckets["symbol"].unique())
    fingerprint = _fingerprint(settings.lake, used, symbols_by_day)
    cards = []
    for name in cfg.models:
        model = TrainedModel(
            name=name,
            feature_list=feature_list(name),
            bucket_s=cfg.bucket_s,
            period_hours=cfg.period_hours,
            tail_buckets=cfg.tail_buckets,
        )
        validation: dict[str, Any] = {}
        day_stats: dict[str, np.ndarray] = {}
        for symbol in symbols:
            mine = buckets[buckets["symbol"] == symbol]
            n_amm = int((mine["role"] == "AFFILIATED_MM").sum())
            if n_amm < cfg.min_training_buckets:
                skipped.append(
                    f"{name} {symbol}: {n_amm} AMM buckets, fewer than "
                    f"min_training_buckets={cfg.min_training_buckets}"
                )
                continue
            est, day_stats[symbol], validation[symbol] = calibrate(name, mine, cfg)
            model.estimators[symbol] = est
        columns = model_drift_columns(name)
        calibrations = calibrate_days(
            day_stats, columns, target=cfg.target_false_alert_rate, clip=drift_clip()
        )
        for symbol, cal in calibrations.items():
            model.calibrations[symbol] = cal
            validation[symbol] = _validation(validation[symbol], cal)
            log.info("anomaly %s %s: %s", name, symbol, validation[symbol])
        if not model.estimators:
            continue
        card = {
            "detector": f"anomaly:{name}",
            "description": MODEL_HELP[name],
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "training_window": {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "days_used": [d.isoformat() for d in used],
            },
            "data_fingerprint": fingerprint,
            "feature_list": model.feature_list,
            "estimator": type(next(iter(model.estimators.values()))).__name__,
            "parameters": next(iter(model.estimators.values())).get_params(),
            "config": cfg.model_dump(mode="json"),
            "library_versions": library_versions(),
            "calibration_format": CALIBRATION_FORMAT,
            "symbols": sorted(model.estimators),
            "validation": validation,
        }
        cards.append(save(settings.lake, model, card))
    if not cards:
        raise InputError(
            f"lake {settings.lake.root}: no symbol had enough AMM buckets to train from "
            f"{first.isoformat()} to {last.isoformat()} ({'; '.join(skipped)}); "
            f"train on more days or lower [anomaly] min_training_buckets"
        )
    return TrainResult(
        first=first,
        last=last,
        days=used,
        symbols=symbols,
        cards=cards,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )
