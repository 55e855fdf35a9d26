"""From behaviour vectors to each model's input matrix, and the models' factory.

One place decides what each model sees, for training and for scoring alike:

- ``baseline`` and ``iforest``: the affiliated market maker's bucket vectors
  (``baseline`` with the time-of-day period as its first column);
- ``peer``: per bucket, the affiliated market maker's value minus the median of the
  external market makers' values (:func:`peer_gaps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.behaviour import FEATURE_NAMES, FEATURES
from models.anomaly.calibration import Z_CLIP
from models.anomaly.config import AnomalyConfig
from models.anomaly.estimators import BehaviourIsolationForest, PeerComparison, RobustBaseline
from surveillance.contract import Role

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000

#: Features compared with peers as a log ratio rather than a difference: their level
#: scales with the market's state (a volatile hour widens every spread), their ratio
#: does not.
LOG_RATIO = ("spread_bps", "spread_vs_market", "spread_vs_day", "latency_p10_ms")

#: Every model: what it compares the affiliated market maker with.
MODEL_HELP: dict[str, str] = {
    "baseline": "its own history: median and MAD per feature and time-of-day period",
    "peer": "its peers: the gap to the median external market maker in the same bucket",
    "iforest": "an isolation forest over its behaviour vectors",
}


@dataclass(frozen=True)
class ModelInput:
    """One model's rows: the keys of each row, the matrix, and what explanations quote.

    ``values`` holds the affiliated market maker's own feature values per row and
    ``peers`` the peers' median (``peer`` model only, else ``None``).
    """

    keys: pd.DataFrame
    X: np.ndarray
    values: np.ndarray
    peers: np.ndarray | None


#: Features already standardised against the day's own placebo (null 0): the drift
#: statistics average their values as they are, and a peer with nothing to measure
#: counts as the null.
STANDARDISED = np.array([f.standardised for f in FEATURES])


def drift_clip() -> np.ndarray:
    """Per feature, the clip of each bucket's z in the day's drift statistics."""
    return np.array([Z_CLIP if f.drift_clip is None else f.drift_clip for f in FEATURES])


def feature_list(model: str) -> list[str]:
    """The columns of the model's input matrix, in order (recorded in the model card)."""
    if model == "baseline":
        return ["period", *FEATURE_NAMES]
    return list(FEATURE_NAMES)


def make_estimator(
    model: str, cfg: AnomalyConfig
) -> RobustBaseline | PeerComparison | BehaviourIsolationForest:
    """A fresh, unfitted estimator for ``model`` with the configuration's parameters.

    Raises
    ------
    ValueError
        If ``model`` is not one of :data:`MODEL_HELP`.
    """
    if model == "baseline":
        return RobustBaseline(
            period_column=0, min_period_rows=20, top_k=3, contamination=cfg.contamination
        )
    if model == "peer":
        return PeerComparison(
            directions=[f.direction for f in FEATURES], top_k=3, contamination=cfg.contamination
        )
    if model == "iforest":
        return BehaviourIsolationForest(
            n_estimators=cfg.n_estimators,
            contamination=cfg.contamination,
            random_state=cfg.random_state,
        )
    raise ValueError(f"no anomaly model {model!r}; models are {', '.join(MODEL_HELP)}")


def amm_buckets(buckets: pd.DataFrame) -> pd.DataFrame:
    """The affiliated market maker's bucket vectors, in (symbol, date, bucket) order."""
    amm = buckets[buckets["role"] == Role.AFFILIATED_MM.value]
    return amm.sort_values(["symbol", "date", "entity_id", "bucket"], kind="stable").reset_index(
        drop=True
    )


def period_of(bucket_start: np.ndarray, period_hours: int) -> np.ndarray:
    """Time-of-day period of each bucket start (ns): ``hour // period_hours``."""
    return ((np.asarray(bucket_start, dtype=np.int64) % DAY_NS) // (HOUR_NS * period_hours)).astype(
        float
    )


def peer_gaps(buckets: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The affiliated market maker's rows, its values and the peers' median per bucket.

    The peers are the external market makers of the same (symbol, date, bucket); a
    feature none of them measured in a bucket is NaN there (and so neutral).
    """
    amm = amm_buckets(buckets)
    peers = buckets[buckets["role"] == Role.EXTERNAL_MM.value]
    keys = ["symbol", "date", "bucket"]
    if peers.empty:
        median = np.full((len(amm), len(FEATURE_NAMES)), np.nan)
    else:
        med = peers.groupby(keys)[list(FEATURE_NAMES)].median()
        joined = amm[keys].join(med, on=keys)
        median = joined[list(FEATURE_NAMES)].to_numpy(dtype=float)
    return amm, amm[list(FEATURE_NAMES)].to_numpy(dtype=float), median


def model_input(model: str, buckets: pd.DataFrame, period_hours: int) -> ModelInput:
    """The rows ``model`` trains on or scores, from one or many days' bucket vectors."""
    if model == "peer":
        amm, values, median = peer_gaps(buckets)
        # A standardised feature's null is 0: peers with nothing to measure count as 0.
        gaps = values - np.where(STANDARDISED & ~np.isfinite(median), 0.0, median)
        for j, name in enumerate(FEATURE_NAMES):
            if name in LOG_RATIO:
                ok = (values[:, j] > 0) & (median[:, j] > 0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    gaps[:, j] = np.where(ok, np.log(values[:, j] / median[:, j]), np.nan)
        return ModelInput(amm, gaps, values, median)
    amm = amm_buckets(buckets)
    values = amm[list(FEATURE_NAMES)].to_numpy(dtype=float)
    if model == "baseline":
        period = period_of(amm["bucket_start"].to_numpy(), period_hours)
        return ModelInput(amm, np.column_stack([period, values]), values, None)
    return ModelInput(amm, values, values, None)


def effective_z(model: str, est: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket and feature: the robust z-score that counts, and the baseline centre.

    The baseline's period column is dropped; the peer model keeps only deviations in
    each feature's suspicious direction.
    """
    z, centre = est.standardise(X)
    z, centre = np.asarray(z, dtype=float), np.asarray(centre, dtype=float)
    if model == "baseline":
        z, centre = z[:, 1:], centre[:, 1:]
    if model == "peer":
        d = np.asarray(est.directions_)
        z = np.where(d > 0, np.clip(z, 0, None), np.where(d < 0, np.clip(z, None, 0), z))
    return z, centre


def signed_z(model: str, est: Any, X: np.ndarray) -> np.ndarray:
    """Per bucket and feature: the signed robust z-score, NaN where nothing was measured.

    What the day's drift statistics average (:func:`models.anomaly.calibration.day_statistics`):
    both directions kept (the statistic picks the suspicious one), and a bucket
    without a measurement left out rather than counted as typical.
    """
    z = np.asarray(est.standardise(X)[0], dtype=float)
    features = np.asarray(X, dtype=float)
    if model == "baseline":
        z, features = z[:, 1:], features[:, 1:]
    # Features standardised against the day's own placebo are averaged as they are.
    z = np.where(STANDARDISED, features, z)
    return np.where(np.isfinite(features), z, np.nan)
