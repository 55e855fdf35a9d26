"""The held-out days of the detection-quality evaluation stay apart from the tuning days."""

from __future__ import annotations

from collections import Counter

from benchmarks.detect_quality import GROUPS
from benchmarks.detect_tune import FIRST_HELD_OUT_SEED


def test_every_held_out_seed_is_refused_by_the_tuning_tool_and_used_once() -> None:
    seeds = Counter(spec.seed for days in GROUPS.values() for spec in days)
    assert min(seeds) >= FIRST_HELD_OUT_SEED
    assert set(seeds.values()) == {1}


def test_each_round_has_four_full_four_subtler_and_four_clean_days() -> None:
    kinds = Counter(
        "clean" if spec.clean else f"intensity {spec.intensity:g}"
        for days in GROUPS.values()
        for spec in days
    )
    rounds = len(GROUPS) // 3
    assert kinds == {"intensity 1": 4 * rounds, "intensity 0.3": 4 * rounds, "clean": 4 * rounds}
