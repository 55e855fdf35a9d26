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


# ------------------------------------------------- ahead of large parents (event study)
NS = 1_000_000_000
DAY_START = 0


def _background(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An entity taking liquidity at random all day: 2,000 trades of random side."""
    t = np.sort(rng.integers(0, 86_400 * NS, 2_000))
    return t, rng.choice([-1.0, 1.0], len(t))


def _parents(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` buying parents, each running 2 minutes, spread over the day."""
    t0 = (np.arange(n) * 86_400 // n + 3_600) * NS
    return t0, t0 + 120 * NS, np.ones(n)


def test_parent_lead_is_high_when_the_entity_buys_before_and_sells_after() -> None:
    """Buying twenty lots 40 s before each buying parent and selling them 3 minutes after
    it (the background trades one lot at a time): z well
    above the placebo; the same trades the other way round: well below."""
    from features.behaviour import parent_lead_z

    rng = np.random.default_rng(1)
    t, v = _background(rng)
    t0, t1, s = _parents(6)
    lead_t = np.r_[t0 - 40 * NS, t1 + 180 * NS]
    for sign, expect in ((1.0, 1), (-1.0, -1)):
        times = np.r_[t, lead_t]
        signed = np.r_[v, sign * 20.0 * np.ones(len(t0)), -sign * 20.0 * np.ones(len(t1))]
        order = np.argsort(times, kind="stable")
        z = parent_lead_z(times[order], signed[order], t0, t1, s, DAY_START)
        assert (expect * z > 3).all()


def test_parent_lead_at_random_times_is_near_the_null() -> None:
    """Trading that ignores the parents: z about N(0, 1), never large."""
    from features.behaviour import parent_lead_z

    rng = np.random.default_rng(2)
    t, v = _background(rng)
    z = parent_lead_z(t, v, *_parents(40), DAY_START)
    assert abs(z.mean()) < 0.5 and np.abs(z).max() < 4


def test_parent_lead_without_aggressive_trades_has_nothing_to_measure() -> None:
    from features.behaviour import parent_lead_z

    z = parent_lead_z(np.zeros(0, dtype=np.int64), np.zeros(0), *_parents(3), DAY_START)
    assert np.isnan(z).all()


# ------------------------------------------------- sustained spread against the day
def test_sustained_ratio_follows_hours_and_ignores_short_bursts() -> None:
    """A spread 20 % wider for 6 hours reads 1.2 inside them; a 20-minute burst to
    twice the spread is not a sustained change; a bucket with no quote stays NaN."""
    from features.behaviour import sustained_ratio

    spread = np.full(288, 4.0)
    spread[60:132] = 4.8  # six hours
    spread[200:204] = 8.0  # twenty minutes
    spread[250] = np.nan
    r = sustained_ratio(spread)
    assert r[96] == pytest.approx(1.2) and r[20] == pytest.approx(1.0)
    assert r[202] == pytest.approx(1.0) and np.isnan(r[250])
