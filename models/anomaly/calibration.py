"""A day's verdict from its buckets, and the calibration of that verdict on real days.

A model scores each 5-minute bucket; an alert is about an entity-symbol-day. The day
is summarised by a vector of *day statistics*, because misconduct comes in two
shapes:

*tail*
    minus the mean decision value of the day's ``tail_buckets`` most unusual buckets:
    a few bursts (trading ahead of a handful of orders) push it up a lot.
*drift*
    for each feature and each direction the model watches (``columns``: both ways
    for the models of the AMM's own behaviour, the suspicious way only for the peer
    model), the day's mean signed robust z-score, buckets with nothing to measure
    left out and each bucket's z clipped at :data:`Z_CLIP`: a small deviation
    repeated all day accumulates (a slow drift towards trading ahead of clients, a
    spread wider for most of the day) where no single bucket is unusual.

**Calibration on real days, out of sample.** Whole days differ far more than
buckets resampled from several days suggest (a volatile day moves every feature's
mean at once), so the null distribution of each statistic comes from real training
days, each scored out of sample by the model fitted on the other days (leave one day
out). Per symbol, each statistic's mean over those days is its baseline; its
day-to-day standard deviation is pooled over the symbols of the window (the
statistics are robust z-scores, so symbols share a scale) and widened by
``sqrt(1 + 1/n)`` for the error of an n-day mean. A day's standardised statistic is
therefore a prediction-interval t; the day alerts when the largest of them exceeds
the Student-t quantile at ``1 - target / m`` (``m`` statistics, Bonferroni) with the
pooled degrees of freedom. The t accounts for estimating the spread from a few days,
Bonferroni for taking the largest of ``m``: with correlated statistics the realised
false-alert rate is at or below the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

#: Per-bucket robust z-scores are clipped here before the day means: one wild bucket
#: is the tail statistic's business, not the drift's.
Z_CLIP = 4.0
#: Least day-to-day spread of a drift statistic (robust z units): about the standard
#: error of a day mean of 288 unit-variance buckets, so that a window of identical
#: days does not make every later change infinitely unusual.
DRIFT_SD_FLOOR = 0.05
#: Least day-to-day spread of the tail statistic (decision units).
TAIL_SD_FLOOR = 1e-3
#: Version of the calibration's format, recorded in model cards; scoring refuses others.
CALIBRATION_FORMAT = 3


def drift_columns(directions: np.ndarray) -> np.ndarray:
    """The (feature index, sign) pairs of the drift statistics, in order.

    A feature suspicious when high gives (j, +1), when low (j, -1), either way both.
    """
    cols: list[tuple[int, int]] = []
    for j, d in enumerate(np.asarray(directions, dtype=int)):
        cols += [(j, int(d))] if d != 0 else [(j, 1), (j, -1)]
    return np.array(cols, dtype=np.int64).reshape(-1, 2)


def statistic_names(feature_names: list[str], columns: np.ndarray) -> list[str]:
    """Readable names of the day statistics: ``tail`` then ``<feature>+`` / ``<feature>-``."""
    return ["tail"] + [f"{feature_names[j]}{'+' if s > 0 else '-'}" for j, s in columns]


def tail_mean(decisions: np.ndarray, k: int) -> float:
    """Mean of the ``k`` lowest decision values (all of them when fewer)."""
    d = np.sort(np.asarray(decisions, dtype=float))
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan")
    return float(d[: max(1, min(k, len(d)))].mean())


def day_statistics(
    decisions: np.ndarray,
    z: np.ndarray,
    columns: np.ndarray,
    tail_buckets: int,
    clip: float | np.ndarray = Z_CLIP,
) -> np.ndarray:
    """The day's statistics: ``-tail_mean`` then the mean signed z of each drift column.

    ``z`` holds each bucket's signed robust z-score per feature, NaN where the
    bucket had nothing to measure, clipped at ``clip`` (one bound, or one per
    feature). A statistic with nothing to measure all day is NaN.
    """
    bound = np.asarray(clip, dtype=float)
    z = np.clip(np.asarray(z, dtype=float), -bound, bound)
    out = np.full(1 + len(columns), np.nan)
    out[0] = -tail_mean(decisions, tail_buckets)
    if len(z):
        finite = np.isfinite(z)
        count = finite.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, np.where(finite, z, 0.0).sum(axis=0) / count, np.nan)
        out[1:] = columns[:, 1] * mean[columns[:, 0]]
    return out


@dataclass
class DayCalibration:
    """Day thresholds of one model on one symbol (see the module docstring).

    ``mean`` and ``sd`` are each day statistic's baseline and prediction spread;
    ``threshold`` applies to the largest standardised statistic; ``clip`` holds the
    per-feature clip of the bucket z-scores the statistics were computed with
    (``None``: :data:`Z_CLIP` for every feature), which scoring reuses.
    """

    columns: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    threshold: float
    days: int
    dof: int
    format: int = CALIBRATION_FORMAT
    training_u: list[float] = field(default_factory=list)
    clip: np.ndarray | None = None

    @property
    def tail_threshold(self) -> float:
        """The tail statistic's threshold in decision units (a day's tail below it alerts)."""
        return float(-(self.mean[0] + self.threshold * self.sd[0]))

    @property
    def drift_threshold(self) -> float:
        """Threshold of a drift statistic, in prediction standard deviations."""
        return float(self.threshold)


@dataclass
class DayVerdict:
    """A day's statistics, whether it alerts, and why."""

    tail: float
    drift: float
    drift_z: np.ndarray
    alert: bool
    reason: str
    excess: float
    u: np.ndarray


def calibrate_days(
    day_stats: dict[str, np.ndarray],
    columns: np.ndarray,
    *,
    target: float,
    clip: np.ndarray | None = None,
) -> dict[str, DayCalibration]:
    """Per symbol, the calibration from its training days' out-of-sample statistics.

    ``day_stats[symbol]`` has one row per training day (from
    :func:`day_statistics`). The spread of each statistic is pooled over the symbols;
    a symbol with a single day borrows the others' spread, and with a single day in
    all there is no spread to learn: every statistic then gets a spread of 1 and
    the threshold stays the normal quantile (the card says ``out_of_sample: false``).
    """
    m = 1 + len(columns)
    squares = np.zeros(m)
    dof = 0
    means: dict[str, np.ndarray] = {}
    for symbol, rows in day_stats.items():
        rows = np.asarray(rows, dtype=float).reshape(-1, m)
        finite = np.isfinite(rows)
        count = finite.sum(axis=0)
        total = np.where(finite, rows, 0.0).sum(axis=0)
        means[symbol] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        if len(rows) >= 2:
            dev = np.where(np.isfinite(rows), rows - means[symbol], 0.0)
            squares += (dev**2).sum(axis=0)
            dof += len(rows) - 1
    if dof > 0:
        sd = np.sqrt(squares / dof)
        threshold = float(stats.t.ppf(1.0 - target / m, dof))
    else:
        sd = np.ones(m)
        threshold = float(stats.norm.ppf(1.0 - target / m))
    sd = np.maximum(sd, np.r_[TAIL_SD_FLOOR, np.full(m - 1, DRIFT_SD_FLOOR)])
    out = {}
    for symbol, rows in day_stats.items():
        n = len(np.asarray(rows).reshape(-1, m))
        cal = DayCalibration(
            columns=np.asarray(columns),
            mean=means[symbol],
            sd=sd * np.sqrt(1.0 + 1.0 / max(n, 1)),
            threshold=threshold,
            days=n,
            dof=dof,
            clip=None if clip is None else np.asarray(clip, dtype=float),
        )
        cal.training_u = [
            float(np.max(_standardise(cal, r))) for r in np.asarray(rows).reshape(-1, m)
        ]
        out[symbol] = cal
    return out


def _standardise(cal: DayCalibration, statistics: np.ndarray) -> np.ndarray:
    u = (np.asarray(statistics, dtype=float) - cal.mean) / cal.sd
    return np.where(np.isfinite(u), u, 0.0)


def judge(
    cal: DayCalibration, decisions: np.ndarray, z: np.ndarray, tail_buckets: int
) -> DayVerdict:
    """The day's statistics against the calibration: alert or not, and the excess.

    ``z`` is each bucket's signed robust z per feature (NaN: nothing measured).
    ``excess`` is 1 at the threshold, growing by one per prediction standard
    deviation beyond it; it maps to the alert's 0-100 score and ranks days.
    ``drift_z`` holds, per feature, its largest standardised drift statistic (0 if
    none is positive); explanations quote the strongest.
    """
    clip: float | np.ndarray = Z_CLIP if cal.clip is None else cal.clip
    s = day_statistics(decisions, z, cal.columns, tail_buckets, clip)
    u = _standardise(cal, s)
    top = int(np.argmax(u))
    n_features = int(np.asarray(z).shape[1]) if np.ndim(z) == 2 else 0
    drift_z = np.zeros(n_features)
    for (j, _), value in zip(cal.columns, u[1:], strict=True):
        drift_z[j] = max(drift_z[j], value)
    alert = bool(u[top] > cal.threshold)
    reason = ("tail" if top == 0 else "drift") if alert else ""
    return DayVerdict(
        tail=-float(s[0]),
        drift=float(u[1:].max()) if len(u) > 1 else 0.0,
        drift_z=drift_z,
        alert=alert,
        reason=reason,
        excess=float(1.0 + u[top] - cal.threshold),
        u=u,
    )
