"""What the estimators mean, beyond scikit-learn's API checks."""

from __future__ import annotations

import numpy as np
import pytest

from models.anomaly.estimators import BehaviourIsolationForest, PeerComparison, RobustBaseline


def _periods(rng: np.random.Generator) -> np.ndarray:
    """Two periods: the feature is around 0 in period 0 and around 10 in period 1."""
    period = np.repeat([0.0, 1.0], 200)
    value = np.where(period == 0, 0.0, 10.0) + rng.normal(0, 1, 400)
    return np.column_stack([period, value])


def test_baseline_judges_a_value_against_its_own_time_of_day() -> None:
    """10 is normal in the period where it usually is and an outlier in the other."""
    est = RobustBaseline(period_column=0).fit(_periods(np.random.default_rng(0)))
    assert est.predict(np.array([[1.0, 10.0], [0.0, 10.0]])).tolist() == [1, -1]


def test_baseline_reports_the_baseline_an_explanation_quotes() -> None:
    """standardise() gives each row the median of its own period."""
    est = RobustBaseline(period_column=0).fit(_periods(np.random.default_rng(0)))
    _, centre = est.standardise(np.array([[1.0, 3.0]]))
    assert centre[0, 1] == pytest.approx(10.0, abs=0.3)


def test_nan_counts_as_at_the_baseline() -> None:
    """A feature with nothing to measure does not make a row unusual."""
    rng = np.random.default_rng(1)
    est = RobustBaseline().fit(rng.normal(0, 1, (300, 3)))
    assert est.score_samples(np.array([[np.nan, np.nan, np.nan]]))[0] == 0.0


def test_peer_comparison_ignores_deviations_that_favour_clients() -> None:
    """A gap far below usual on a 'higher is suspicious' feature is not an outlier."""
    rng = np.random.default_rng(2)
    est = PeerComparison(directions=[1, 1]).fit(rng.normal(0, 1, (300, 2)))
    assert est.predict(np.array([[-8.0, 0.0], [8.0, 0.0]])).tolist() == [1, -1]


def test_peer_comparison_refuses_directions_of_the_wrong_length() -> None:
    """One direction per column, each -1, 0 or +1."""
    with pytest.raises(ValueError, match="directions must give -1, 0 or \\+1 for each of the 2"):
        PeerComparison(directions=[1]).fit(np.zeros((10, 2)))


def test_contamination_sets_the_training_outlier_share() -> None:
    """About ``contamination`` of the training rows are called outliers."""
    X = np.random.default_rng(3).normal(0, 1, (1000, 4))
    est = BehaviourIsolationForest(n_estimators=30, contamination=0.05, random_state=0).fit(X)
    assert np.mean(est.predict(X) == -1) == pytest.approx(0.05, abs=0.01)
