"""What each model reads of the behaviour vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.behaviour import FEATURE_NAMES
from models.anomaly.vectors import model_input, signed_z


def _buckets(amm_value: float, peer_value: float) -> pd.DataFrame:
    rows = []
    for entity, role, value in (
        ("ENT-GROUP", "AFFILIATED_MM", amm_value),
        ("ENT-XMM-1", "EXTERNAL_MM", peer_value),
    ):
        row = {"entity_id": entity, "role": role, "symbol": "S", "date": "2026-01-05"}
        row.update({"bucket": 0, "bucket_start": 0})
        row.update({name: 1.0 for name in FEATURE_NAMES})
        row["parent_lead_z"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def test_peers_without_a_placebo_z_count_as_its_null() -> None:
    """The AMM's parent-lead z of 3 against peers with nothing to measure is a gap of 3;
    a feature that is not standardised stays NaN where peers measured nothing."""
    frame = _buckets(3.0, np.nan)
    frame.loc[1, "spread_bps"] = np.nan
    inp = model_input("peer", frame, 1)
    j = FEATURE_NAMES.index("parent_lead_z")
    assert inp.X[0, j] == pytest.approx(3.0)
    assert np.isnan(inp.X[0, FEATURE_NAMES.index("spread_bps")])


def test_the_drift_reads_a_standardised_feature_as_it_is() -> None:
    """signed_z passes the day's placebo z through; other features get the model's z."""

    class Scaler:
        def standardise(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return 100.0 * np.asarray(X), np.zeros_like(X)

    inp = model_input("iforest", _buckets(3.0, 0.0), 1)
    z = signed_z("iforest", Scaler(), inp.X)
    assert z[0, FEATURE_NAMES.index("parent_lead_z")] == pytest.approx(3.0)
    assert z[0, FEATURE_NAMES.index("spread_bps")] == pytest.approx(100.0)
