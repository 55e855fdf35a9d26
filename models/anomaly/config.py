"""The ``[anomaly]`` configuration section: training window, buckets, calibration.

Its defaults are the packaged defaults. Training records the section's values in
each model card; scoring uses the values the model was trained with for everything
that shapes the vectors (the bucket), so a changed file cannot silently score a
model on vectors it was not trained on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from surveillance.config import SectionModel

ModelName = Literal["baseline", "peer", "iforest"]


class AnomalyConfig(SectionModel):
    """Settings of the anomaly models (``models.anomaly``)."""

    enabled: bool = Field(
        True,
        description="Score the registered anomaly models in `mmsurv detect` (when a model is "
        "registered; detect says so and skips them when none is).",
    )
    models: tuple[ModelName, ...] = Field(
        ("baseline", "peer", "iforest"),
        min_length=1,
        description="Models trained by `mmsurv models train` and scored by detect: "
        "`baseline` (own history by time of day), `peer` (against external market makers), "
        "`iforest` (isolation forest).",
    )
    training_days: int = Field(
        14,
        ge=1,
        le=366,
        description="Length of the trailing training window, in days, that the weekly "
        "retraining uses (`mmsurv models train` takes explicit --from/--to). The day "
        "calibration learns each statistic's day-to-day spread from these days: 14 days "
        "of 2 symbols give 26 degrees of freedom and a threshold near 3.4 (7 days: 12 and "
        "3.9).",
    )
    bucket_s: int = Field(
        300,
        ge=60,
        le=3600,
        description="Width of a behaviour bucket in seconds; must divide the day.",
    )
    period_hours: int = Field(
        1,
        ge=1,
        le=24,
        description="Width, in hours, of the time-of-day periods of the robust baseline: "
        "buckets in the same period of the day share a baseline.",
    )
    contamination: float = Field(
        0.01,
        gt=0,
        le=0.5,
        description="Share of training buckets each estimator calls outliers (its offset_).",
    )
    target_false_alert_rate: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Target share of clean entity-symbol-days that alert: the day threshold "
        "is set from the training days scored out of sample (leave one day out).",
    )
    tail_buckets: int = Field(
        6,
        ge=1,
        le=288,
        description="A day's score is the mean decision value of its this many most unusual "
        "buckets: a sustained drift moves all of them, a burst moves a few a lot.",
    )
    top_features: int = Field(
        3, ge=1, le=10, description="Features quoted in an alert's explanation."
    )
    n_estimators: int = Field(200, ge=10, le=5_000, description="Trees of the isolation forest.")
    random_state: int = Field(0, description="Seed of the isolation forest.")
    min_training_buckets: int = Field(
        100,
        ge=10,
        description="Fewest AMM buckets of a symbol needed to train a model for it.",
    )
