"""A day's verdict from its buckets, and the calibration of that verdict on clean days.

A model scores each 5-minute bucket; an alert is about an entity-symbol-day. Two
statistics summarise a day, because misconduct comes in two shapes:

*tail*
    the mean decision value of the day's ``tail_buckets`` most unusual buckets: a
    few bursts (trading ahead of a handful of orders) push it down a lot.
*drift*
    for each feature, the day's mean robust z-score (the feature's *profile*),
    standardised by how much day profiles vary between clean days; the drift is the
    largest of these (in the suspicious direction only, for the peer model). A
    sustained shift of one feature by a fraction of its bucket-to-bucket noise, too
    small to make any single bucket unusual, moves it (a spread 15 % wider all
    afternoon, a slow drift towards trading ahead of clients).

Calibration resamples *pseudo-days* from hour-long blocks of out-of-sample bucket
scores of the training window (blocks keep the within-hour dependence) and sets
both thresholds at one quantile ``q`` chosen so that the share of pseudo-days on
which **either** statistic fires equals the target false-alert rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DayCalibration:
    """Thresholds of one model on one symbol (see the module docstring)."""

    tail_threshold: float
    tail_spread: float
    drift_mean: np.ndarray
    drift_sd: np.ndarray
    drift_threshold: float
    drift_spread: float
    one_sided: bool
    pseudo_alert_rate: float


@dataclass
class DayVerdict:
    """A day's two statistics, whether it alerts, and why."""

    tail: float
    drift: float
    drift_z: np.ndarray
    alert: bool
    reason: str
    excess: float


def tail_mean(decisions: np.ndarray, k: int) -> float:
    """Mean of the ``k`` lowest decision values (all of them when fewer)."""
    d = np.sort(np.asarray(decisions, dtype=float))
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan")
    return float(d[: max(1, min(k, len(d)))].mean())


def _drift_z(profile: np.ndarray, mean: np.ndarray, sd: np.ndarray, one_sided: bool) -> np.ndarray:
    z = (profile - mean) / sd
    return np.clip(z, 0, None) if one_sided else np.abs(z)


def _spread(values: np.ndarray) -> float:
    s = float(1.4826 * np.median(np.abs(values - np.median(values))))
    return s if s > 0 else (float(np.std(values)) or 1.0)


def calibrate_day(
    decision_blocks: list[np.ndarray],
    z_blocks: list[np.ndarray],
    *,
    blocks_per_day: int,
    tail_buckets: int,
    target: float,
    pseudo_days: int,
    one_sided: bool,
    seed: int,
    day_profiles: np.ndarray | None = None,
) -> DayCalibration:
    """Calibrate both day statistics on pseudo-days resampled from hour blocks.

    ``decision_blocks[i]`` and ``z_blocks[i]`` are one block's out-of-sample bucket
    decisions and effective z-scores (rows: buckets, columns: features).
    ``day_profiles`` (one row per real training day) floor the day-to-day spread of
    each feature's profile: resampled blocks mix days, so they understate how much
    whole days differ (a volatile day, a day of one-sided flow).
    """
    rng = np.random.default_rng(seed)
    n_features = z_blocks[0].shape[1]
    tails = np.empty(pseudo_days)
    profiles = np.empty((pseudo_days, n_features))
    for i in range(pseudo_days):
        pick = rng.integers(len(decision_blocks), size=blocks_per_day)
        tails[i] = tail_mean(np.concatenate([decision_blocks[j] for j in pick]), tail_buckets)
        profiles[i] = np.concatenate([z_blocks[j] for j in pick]).mean(axis=0)
    mean = profiles.mean(axis=0)
    sd = profiles.std(axis=0)
    if day_profiles is not None and len(day_profiles) >= 2:
        sd = np.maximum(sd, day_profiles.std(axis=0, ddof=1))
    sd = np.where(sd > 1e-9, sd, 1.0)
    drifts = _drift_z(profiles, mean, sd, one_sided).max(axis=1)
    # One quantile for both statistics, so that either firing happens at the target rate.
    lo, hi = target / 2, target
    for _ in range(30):
        q = (lo + hi) / 2
        rate = np.mean((tails < np.quantile(tails, q)) | (drifts > np.quantile(drifts, 1 - q)))
        lo, hi = (q, hi) if rate < target else (lo, q)
    q = lo
    tail_t, drift_t = float(np.quantile(tails, q)), float(np.quantile(drifts, 1 - q))
    return DayCalibration(
        tail_threshold=tail_t,
        tail_spread=_spread(tails),
        drift_mean=mean,
        drift_sd=sd,
        drift_threshold=drift_t,
        drift_spread=_spread(drifts),
        one_sided=one_sided,
        pseudo_alert_rate=float(np.mean((tails < tail_t) | (drifts > drift_t))),
    )


def judge(
    cal: DayCalibration, decisions: np.ndarray, z: np.ndarray, tail_buckets: int
) -> DayVerdict:
    """The day's statistics against the calibration: alert or not, and the excess.

    ``excess`` is 1 at the threshold of the statistic that fired (the larger of the
    two when both did), growing by one per robust spread of calibration days beyond
    it; it maps to the alert's 0-100 score.
    """
    tail = tail_mean(decisions, tail_buckets)
    profile = z.mean(axis=0) if len(z) else np.zeros(len(cal.drift_mean))
    drift_z = _drift_z(profile, cal.drift_mean, cal.drift_sd, cal.one_sided)
    drift = float(drift_z.max()) if len(drift_z) else 0.0
    tail_x = 1.0 + (cal.tail_threshold - tail) / cal.tail_spread
    drift_x = 1.0 + (drift - cal.drift_threshold) / cal.drift_spread
    fired_tail = bool(tail < cal.tail_threshold)
    fired_drift = bool(drift > cal.drift_threshold)
    if fired_tail and (not fired_drift or tail_x >= drift_x):
        reason, excess = "tail", tail_x
    elif fired_drift:
        reason, excess = "drift", drift_x
    else:
        reason, excess = "", max(tail_x, drift_x)
    return DayVerdict(tail, drift, drift_z, fired_tail or fired_drift, reason, float(excess))
