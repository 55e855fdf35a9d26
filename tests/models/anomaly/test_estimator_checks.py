"""scikit-learn's estimator checks over every anomaly estimator."""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from models.anomaly.estimators import BehaviourIsolationForest, PeerComparison, RobustBaseline


@parametrize_with_checks(
    [
        RobustBaseline(),
        RobustBaseline(period_column=0, min_period_rows=2),
        PeerComparison(),
        BehaviourIsolationForest(n_estimators=20, random_state=0),
    ]
)
def test_sklearn_conventions(estimator: Any, check: Any) -> None:
    """Each estimator passes scikit-learn's API checks (fit returns self, outlier signs...)."""
    check(estimator)
