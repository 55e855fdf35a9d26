"""Day calibration: the false-alert rate on clean days and the power of the drift."""

from __future__ import annotations

import numpy as np
import pytest

from models.anomaly.calibration import (
    DayCalibration,
    calibrate_days,
    day_statistics,
    drift_columns,
    judge,
)

DIRECTIONS = np.array([1, -1, 0])
COLUMNS = drift_columns(DIRECTIONS)


def _day(
    rng: np.random.Generator, day_effect: float, shift: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One day's bucket decisions and signed z: bucket noise plus a whole-day effect."""
    z = rng.normal(0.0, 1.0, (288, 3)) + day_effect * rng.normal(0.0, 1.0, 3)
    if shift is not None:
        z = z + shift
    return rng.normal(0.0, 0.1, 288), z


def _calibrate(
    rng: np.random.Generator, n_days: int, day_effect: float
) -> dict[str, DayCalibration]:
    rows = {
        s: np.array([day_statistics(*_day(rng, day_effect), COLUMNS, 6) for _ in range(n_days)])
        for s in ("A", "B")
    }
    return calibrate_days(rows, COLUMNS, target=0.05)


def test_drift_columns_count_both_ways_only_for_two_sided_features() -> None:
    """High for +1, low for -1, both ways for a feature suspicious either way."""
    assert COLUMNS.tolist() == [[0, 1], [1, -1], [2, 1], [2, -1]]


def test_clean_days_alert_at_most_at_the_target_rate_despite_day_effects() -> None:
    """Whole days that differ far more than their buckets do stay within the target.

    Bucket-resampled calibration would call most of these days unusual: the day
    effect (sd 0.3) dwarfs the noise of a 288-bucket mean (sd 0.06). 800 days:
    the measured rate is the target give or take 1.5 points.
    """
    rng = np.random.default_rng(0)
    alerts = []
    for _ in range(40):
        cal = _calibrate(rng, 7, 0.3)["A"]
        alerts += [judge(cal, *_day(rng, 0.3), 6).alert for _ in range(20)]
    assert np.mean(alerts) <= 0.065


def test_a_sustained_shift_in_the_suspicious_direction_alerts_and_names_its_feature() -> None:
    """A shift of a fraction of the bucket noise, all day, is found; the other way is not."""
    rng = np.random.default_rng(1)
    cal = _calibrate(rng, 7, 0.05)["A"]
    up = judge(cal, *_day(rng, 0.05, np.array([0.6, 0.0, 0.0])), 6)
    assert up.alert and up.reason == "drift" and int(np.argmax(up.drift_z)) == 0
    down = judge(cal, *_day(rng, 0.05, np.array([-0.6, 0.0, 0.0])), 6)
    assert not down.alert


def test_a_burst_alerts_through_the_tail() -> None:
    """A few buckets far outside the usual decisions alert as a tail."""
    rng = np.random.default_rng(2)
    cal = _calibrate(rng, 7, 0.05)["A"]
    decisions, z = _day(rng, 0.05)
    decisions[:6] = -3.0
    verdict = judge(cal, decisions, z, 6)
    assert verdict.alert and verdict.reason == "tail" and verdict.tail == -3.0


def test_buckets_without_a_measurement_do_not_dilute_the_drift() -> None:
    """NaN buckets are left out of the day mean, not counted as typical."""
    z = np.full((10, 3), np.nan)
    z[:2, 0] = 2.0
    stats = day_statistics(np.zeros(10), z, COLUMNS, 6)
    assert stats[1] == 2.0 and np.isnan(stats[2])


def test_a_drift_against_the_suspicious_direction_points_to_no_typology() -> None:
    """Cancelling less than usual is unusual but not evidence of quote fading."""
    from features.behaviour import FEATURE_NAMES, FEATURES
    from models.anomaly.score import _suspicious_way

    columns = drift_columns(np.zeros(len(FEATURES), dtype=int))
    stats = {"A": np.zeros((3, 1 + len(columns)))}
    cal = calibrate_days(stats, columns, target=0.05)["A"]
    j = FEATURE_NAMES.index("cancel_ratio")
    z = np.zeros((288, len(FEATURES)))
    z[:, j] = -2.0
    lower = judge(cal, np.zeros(288), z, 6)
    z[:, j] = 2.0
    higher = judge(cal, np.zeros(288), z, 6)
    assert lower.alert and not _suspicious_way("cancel_ratio", cal, lower)
    assert higher.alert and _suspicious_way("cancel_ratio", cal, higher)


def test_a_feature_may_clip_its_bucket_z_wider() -> None:
    """The default clip caps a bucket's z at 4; a per-feature clip of 12 keeps 10."""
    z = np.full((10, 3), 10.0)
    default = day_statistics(np.zeros(10), z, COLUMNS, 6)
    wider = day_statistics(np.zeros(10), z, COLUMNS, 6, np.array([12.0, 4.0, 4.0]))
    assert default[1] == 4.0 and wider[1] == 10.0 and wider[3] == 4.0


def test_judge_uses_the_clip_the_calibration_was_trained_with() -> None:
    """A calibration carrying a per-feature clip scores with that clip."""
    rows = {"A": np.zeros((3, 1 + len(COLUMNS)))}
    cal = calibrate_days(rows, COLUMNS, target=0.05, clip=np.array([12.0, 4.0, 4.0]))["A"]
    z = np.zeros((288, 3))
    z[:, 0] = 10.0
    verdict = judge(cal, np.zeros(288), z, 6)
    assert verdict.alert and verdict.u[1] == pytest.approx(10.0 / cal.sd[1])
