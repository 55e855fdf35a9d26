"""The anomaly estimators: scikit-learn outlier detectors over behaviour vectors.

All three follow :class:`sklearn.ensemble.IsolationForest`'s conventions, so that
they can be swapped, pickled and checked by ``parametrize_with_checks``:

- ``score_samples(X)``: higher is more normal;
- ``decision_function(X) = score_samples(X) - offset_``: negative is an outlier;
- ``predict(X)``: +1 inlier, -1 outlier;
- ``offset_`` is the ``contamination`` quantile of the training scores, so that a
  share ``contamination`` of the training rows is called an outlier.

Each also exposes ``standardise(X) -> (z, centre)``: every feature's robust
z-score and the baseline it was measured against, which is what an alert's
explanation quotes. NaN in ``X`` means "nothing to measure" and counts as being at
the baseline (z = 0); infinities are refused.

:class:`RobustBaseline`
    median and MAD per feature and per time-of-day period (the value of column
    ``period_column``): the entity against its own history at the same time of day.
:class:`PeerComparison`
    rows are the gaps between the affiliated market maker and the median external
    market maker in the same bucket; it learns the usual gap and scores only the
    deviations in each feature's suspicious ``directions``.
:class:`BehaviourIsolationForest`
    an :class:`~sklearn.ensemble.IsolationForest` on robustly scaled features, for
    combinations of features that are each unremarkable alone.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted, validate_data

#: 1 / Phi^-1(3/4): scales a MAD to a standard deviation under normality.
MAD_TO_SD = 1.4826
#: sqrt(pi / 2): scales a mean absolute deviation to a standard deviation.
MEANAD_TO_SD = 1.2533


def _robust_centre_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and robust scale of ``X`` (NaN ignored).

    The scale is 1.4826 MAD; where more than half the values are equal (MAD = 0) it
    falls back on 1.2533 times the mean absolute deviation, and where that is zero
    too (a constant column) on 1, so that a constant feature does not turn every
    later difference into infinity.
    """
    n_features = X.shape[1]
    centre = np.zeros(n_features)
    scale = np.ones(n_features)
    for j in range(n_features):
        col = X[:, j]
        col = col[np.isfinite(col)]
        if len(col) == 0:
            continue
        med = float(np.median(col))
        mad = MAD_TO_SD * float(np.median(np.abs(col - med)))
        if mad <= 1e-12:
            mad = MEANAD_TO_SD * float(np.mean(np.abs(col - med)))
        centre[j] = med
        scale[j] = mad if mad > 1e-12 else 1.0
    return centre, scale


def _check_contamination(value: Any) -> float:
    if not isinstance(value, Real) or isinstance(value, bool) or not (0.0 < float(value) <= 0.5):
        raise ValueError(
            f"contamination must be a float in (0, 0.5], the share of training rows "
            f"called outliers; found {value!r}"
        )
    return float(value)


def _check_positive_int(name: str, value: Any) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, found {value!r}")
    return int(value)


class _RobustScorer(OutlierMixin, BaseEstimator):
    """What the median/MAD estimators share: z-scores, top-k scoring, calibration."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # Subclasses set centre_/scale_ (global) and may override _centre_scale_rows.
    def _centre_scale_rows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        return np.broadcast_to(self.centre_, (n, len(self.centre_))), np.broadcast_to(
            self.scale_, (n, len(self.scale_))
        )

    def _features(self, X: np.ndarray) -> np.ndarray:
        return X

    def _directions(self, n_features: int) -> np.ndarray:
        return np.zeros(n_features)

    def _z(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats = self._features(X)
        centre, scale = self._centre_scale_rows(X)
        z = (feats - centre) / scale
        z = np.where(np.isfinite(z), z, 0.0)
        return np.clip(z, -self.clip, self.clip), centre

    def _score(self, z: np.ndarray) -> np.ndarray:
        d = self._directions(z.shape[1])
        # One-sided features only count deviations the suspicious way.
        eff = np.where(d > 0, np.clip(z, 0, None), np.where(d < 0, np.clip(z, None, 0), z))
        k = min(self.top_k, eff.shape[1])
        sq = np.sort(eff * eff, axis=1)[:, -k:]
        return -np.sqrt(sq.mean(axis=1))

    def _validate_params(self) -> None:
        _check_contamination(self.contamination)
        _check_positive_int("top_k", self.top_k)
        if not isinstance(self.clip, Real) or not float(self.clip) > 0:
            raise ValueError(f"clip must be a positive number of robust SDs, found {self.clip!r}")

    def _calibrate(self, X: np.ndarray) -> None:
        scores = self._score(self._z(X)[0])
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus the root mean square of the ``top_k`` largest robust z-scores of each row.

        Higher is more normal, as for ``IsolationForest``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._score(self._z(X)[0])

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers, -1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1).astype(int)

    def standardise(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's robust z-score (clipped) and the baseline it is measured against."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._z(X)


class RobustBaseline(_RobustScorer):
    """Median and MAD per feature and per time-of-day period.

    Parameters
    ----------
    period_column : int or None, default=None
        Index of the column of ``X`` that holds the period (for example the hour of
        the day) of each row; it is not a feature. ``None``: one period.
    min_period_rows : int, default=20
        A period with fewer training rows uses the all-period baseline.
    top_k : int, default=3
        A row's score is minus the RMS of its ``top_k`` largest |z|.
    clip : float, default=10.0
        |z| is capped here so that one feature cannot dominate without bound.
    contamination : float, default=0.01
        Share of training rows called outliers: sets ``offset_``.

    Attributes
    ----------
    centre_, scale_ : ndarray of shape (n_features,)
        All-period median and robust scale of each feature (the period column's
        entries are 0 and 1 and unused).
    periods_ : ndarray of shape (n_periods,)
        The periods seen in training, sorted.
    period_centre_, period_scale_ : ndarray of shape (n_periods, n_features)
        Per-period baselines (the all-period one where a period had too few rows).
    offset_ : float
    n_features_in_ : int
    """

    def __init__(
        self,
        period_column: int | None = None,
        min_period_rows: int = 20,
        top_k: int = 3,
        clip: float = 10.0,
        contamination: float = 0.01,
    ) -> None:
        self.period_column = period_column
        self.min_period_rows = min_period_rows
        self.top_k = top_k
        self.clip = clip
        self.contamination = contamination

    def _periods(self, X: np.ndarray) -> np.ndarray | None:
        if self.period_column is None:
            return None
        return np.nan_to_num(X[:, self.period_column], nan=-1.0).round().astype(np.int64)

    def fit(self, X: Any, y: Any = None) -> RobustBaseline:
        """Learn each feature's median and robust scale, overall and per period.

        Raises
        ------
        ValueError
            If a parameter is out of range, ``X`` holds infinities, or
            ``period_column`` is not a column of ``X``.
        """
        self._validate_params()
        _check_positive_int("min_period_rows", self.min_period_rows)
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        pc = self.period_column
        if pc is not None and not (
            isinstance(pc, Integral) and not isinstance(pc, bool) and 0 <= pc < X.shape[1]
        ):
            raise ValueError(
                f"period_column must be the index of a column of X (0 to {X.shape[1] - 1}), "
                f"found {pc!r}"
            )
        self.centre_, self.scale_ = _robust_centre_scale(X)
        periods = self._periods(X)
        if periods is None:
            self.periods_ = np.zeros(0, dtype=np.int64)
        else:
            self.centre_[pc], self.scale_[pc] = 0.0, 1.0
            self.periods_ = np.unique(periods)
        n_p = len(self.periods_)
        self.period_centre_ = np.tile(self.centre_, (n_p, 1))
        self.period_scale_ = np.tile(self.scale_, (n_p, 1))
        if periods is not None:
            for i, p in enumerate(self.periods_):
                rows = X[periods == p]
                if len(rows) >= self.min_period_rows:
                    c, s = _robust_centre_scale(rows)
                    c[pc], s[pc] = 0.0, 1.0
                    self.period_centre_[i], self.period_scale_[i] = c, s
        self._calibrate(X)
        return self

    def _features(self, X: np.ndarray) -> np.ndarray:
        if self.period_column is None:
            return X
        out = X.copy()
        out[:, self.period_column] = 0.0
        return out

    def _centre_scale_rows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        periods = self._periods(X)
        if periods is None or len(self.periods_) == 0:
            return super()._centre_scale_rows(X)
        idx = np.searchsorted(self.periods_, periods)
        idx_c = np.clip(idx, 0, len(self.periods_) - 1)
        known = self.periods_[idx_c] == periods
        centre = np.where(known[:, None], self.period_centre_[idx_c], self.centre_)
        scale = np.where(known[:, None], self.period_scale_[idx_c], self.scale_)
        return centre, scale


class PeerComparison(_RobustScorer):
    """The affiliated market maker against its peers: its usual gap, one-sided.

    Each row of ``X`` is, per feature, the affiliated market maker's value minus the
    median of the external market makers' values in the same bucket (built by
    :func:`models.anomaly.vectors.peer_gaps`). The estimator learns the usual gap
    (median and robust scale per feature) and scores a row by how far its gaps move
    beyond it **in each feature's suspicious direction** (``directions``: +1 higher
    is suspicious, -1 lower is, 0 both): being better than its peers for clients is
    not an alert.

    Parameters
    ----------
    directions : array-like of shape (n_features,) or None, default=None
        Suspicious direction per feature; ``None``: both ways for every feature.
    top_k, clip, contamination
        As :class:`RobustBaseline`.

    Attributes
    ----------
    centre_, scale_ : ndarray of shape (n_features,)
        The usual gap and its robust scale.
    directions_ : ndarray of shape (n_features,)
    offset_ : float
    n_features_in_ : int
    """

    def __init__(
        self,
        directions: Any = None,
        top_k: int = 3,
        clip: float = 10.0,
        contamination: float = 0.01,
    ) -> None:
        self.directions = directions
        self.top_k = top_k
        self.clip = clip
        self.contamination = contamination

    def fit(self, X: Any, y: Any = None) -> PeerComparison:
        """Learn the usual gap of each feature.

        Raises
        ------
        ValueError
            If a parameter is out of range, ``X`` holds infinities, or ``directions``
            does not give one of -1, 0, +1 per column of ``X``.
        """
        self._validate_params()
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        if self.directions is None:
            self.directions_ = np.zeros(X.shape[1])
        else:
            d = np.asarray(self.directions, dtype=float).ravel()
            if len(d) != X.shape[1] or not np.isin(d, (-1.0, 0.0, 1.0)).all():
                raise ValueError(
                    f"directions must give -1, 0 or +1 for each of the {X.shape[1]} columns "
                    f"of X, found {list(d)}"
                )
            self.directions_ = d
        self.centre_, self.scale_ = _robust_centre_scale(X)
        self._calibrate(X)
        return self

    def _directions(self, n_features: int) -> np.ndarray:
        return np.asarray(self.directions_)


class BehaviourIsolationForest(_RobustScorer):
    """An isolation forest on robustly scaled behaviour vectors.

    Features are centred on their training median and divided by their robust
    scale, NaN set to 0 (the median), and clipped at ``clip``: the forest then sees
    every feature on one scale and a missing measurement as typical. Scores are the
    forest's own ``score_samples``; ``offset_`` is recalibrated to ``contamination``.

    Parameters
    ----------
    n_estimators, max_samples, max_features, random_state
        Passed to :class:`~sklearn.ensemble.IsolationForest`.
    clip : float, default=10.0
    contamination : float, default=0.01

    Attributes
    ----------
    centre_, scale_ : ndarray of shape (n_features,)
    forest_ : IsolationForest
    offset_ : float
    n_features_in_ : int
    """

    forest_: IsolationForest

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        clip: float = 10.0,
        contamination: float = 0.01,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.clip = clip
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> BehaviourIsolationForest:
        """Scale the features robustly and grow the forest.

        Raises
        ------
        ValueError
            If a parameter is out of range or ``X`` holds infinities.
        """
        _check_contamination(self.contamination)
        _check_positive_int("n_estimators", self.n_estimators)
        if not isinstance(self.clip, Real) or not self.clip > 0:
            raise ValueError(f"clip must be a positive number of robust SDs, found {self.clip!r}")
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        self.centre_, self.scale_ = _robust_centre_scale(X)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(self._z(X)[0])
        self.offset_ = float(
            np.percentile(self.forest_.score_samples(self._z(X)[0]), 100.0 * self.contamination)
        )
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """The forest's score of the scaled rows: higher is more normal."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        scores: np.ndarray = self.forest_.score_samples(self._z(X)[0])
        return scores
