"""Behaviour vectors on hand-built days: what each feature measures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from anomaly_days import FIRST, quiet_day

from features.behaviour import FEATURE_NAMES, bucket_vectors, day_vectors
from features.data import SymbolDay


@pytest.fixture(scope="module")
def quiet() -> tuple[SymbolDay, pd.DataFrame]:
    """A quiet hand-built day (AMM 99/101, external MM 98/102) and its bucket vectors."""
    data = quiet_day(FIRST, amm_spread=2.0)
    return data, bucket_vectors(data)


def _row(quiet: tuple[SymbolDay, pd.DataFrame], entity: str, bucket: int = 12) -> dict[str, Any]:
    frame = quiet[1]
    row = frame[(frame["entity_id"] == entity) & (frame["bucket"] == bucket)].iloc[0]
    return {str(k): v for k, v in row.items()}


def test_one_row_per_market_maker_entity_and_bucket(quiet: tuple[SymbolDay, pd.DataFrame]) -> None:
    """The AMM's accounts form one entity; each external MM is its own; 288 buckets each."""
    frame = quiet[1]
    assert frame.groupby("entity_id").size().to_dict() == {
        "ENT-GROUP": 288,
        "ENT-XMM-1": 288,
        "ENT-XMM-2": 288,
    }


def test_quoted_spread_is_in_bps_of_the_entitys_own_mid(
    quiet: tuple[SymbolDay, pd.DataFrame],
) -> None:
    """Bid 99, ask 101: 200 bps; the external MM's 98/102 is twice the market's spread."""
    assert _row(quiet, "ENT-GROUP")["spread_bps"] == pytest.approx(200.0)
    assert _row(quiet, "ENT-XMM-1")["spread_vs_market"] == pytest.approx(2.0)


def test_markout_against_clients_is_the_entitys_gain(quiet: tuple[SymbolDay, pd.DataFrame]) -> None:
    """Selling to a client at 101 with the mid at 100 afterwards is a 99 bps gain."""
    assert _row(quiet, "ENT-GROUP")["markout_60s_bps"] == pytest.approx(1e4 * (1 - 100 / 101))


def test_features_with_nothing_to_measure_are_nan(quiet: tuple[SymbolDay, pd.DataFrame]) -> None:
    """No aggressive trades and no cancels in the bucket: those features are NaN, not 0."""
    row = _row(quiet, "ENT-GROUP")
    assert np.isnan(row["taker_markout_60s_bps"]) and np.isnan(row["cancel_ratio"])


def test_day_vector_is_the_mean_of_the_buckets(quiet: tuple[SymbolDay, pd.DataFrame]) -> None:
    """A day's spread is the mean of its buckets' spreads, one row per entity."""
    days = day_vectors(*quiet)
    amm = days[days["entity_id"] == "ENT-GROUP"].iloc[0]
    assert amm["spread_bps"] == pytest.approx(200.0) and list(days.columns[4:-2]) == list(
        FEATURE_NAMES
    )


def test_bucket_must_divide_the_day(quiet: tuple[SymbolDay, pd.DataFrame]) -> None:
    """A bucket width that does not divide 86400 s is refused with the fix."""
    with pytest.raises(ValueError, match="must divide the day"):
        bucket_vectors(quiet[0], bucket_s=7)
