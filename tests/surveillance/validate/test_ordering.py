"""The sort orders every lifecycle and sequence rule relies on are exactly right."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from surveillance.errors import ContractError
from surveillance.validate import landing_day_from_tables
from surveillance.validate.rules import _stable_order
from surveillance.validate.sample import sample_tables

DAY = dt.date(2026, 3, 2)


@settings(max_examples=100, deadline=None)
@given(
    keys=hnp.arrays(
        np.int64,
        st.integers(0, 300),
        elements=st.one_of(st.integers(0, 5), st.integers(0, 70_000), st.integers(0, 2**40)),
    )
)
def test_stable_order_matches_a_stable_argsort(keys: np.ndarray) -> None:
    assert np.array_equal(_stable_order(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("top", [3, 1_000, 2**40])
def test_stable_order_keeps_file_order_among_equal_keys(top: int) -> None:
    keys = np.random.default_rng(top).integers(0, top, 5_000)
    order = _stable_order(keys)
    assert np.array_equal(keys[order], np.sort(keys))
    same = keys[order][1:] == keys[order][:-1]
    assert (order[1:][same] > order[:-1][same]).all()


def test_files_need_not_be_in_time_order(
    frames: dict[str, pd.DataFrame], violations: Callable[..., pd.DataFrame]
) -> None:
    # The afternoon's file sorts before the morning's: a valid export (each file is in
    # engine order), which takes the validator off its already-in-order fast path.
    orders = frames["orders"]
    half = len(orders) // 2
    frames["orders"] = pd.concat([orders.iloc[half:], orders.iloc[:half]], ignore_index=True)
    found = violations(frames, files=2)
    assert found.empty, found.to_string()


def test_an_in_memory_day_needs_every_required_dataset() -> None:
    tables = sample_tables(DAY)
    del tables["accounts"]
    with pytest.raises(ContractError, match=r"accounts for 2026-03-02: no Parquet file"):
        landing_day_from_tables(DAY, tables)
