"""Detection quality and detect-stage speed on held-out simulated days.

``python -m benchmarks detect_quality`` produces the tables of ``docs/evaluation.md``. The
days are held out: their seeds (21 to 68) are never used while writing or tuning the
detectors (``benchmarks.detect_tune``, the tuning tool, refuses them). Each day has two
symbols and about 100,000 journal rows and runs the product's own path: ingest, book, and
``detect_day`` with the packaged defaults (every rule detector).

Printed: the per-typology table pooled over the full-intensity days, over the reduced-
intensity days (subtler misconduct, ``intensity=0.3``), and the false-alert load on the
clean days, then how long detect took per day.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.detect_tune import DAY, EVENTS, DaySpec, pool_days, prepare

#: Seed of the first day of each round of twelve held-out days. Each round was added
#: after the earlier ones had been run (33-44 after 21-32, 45-56 after 21-44, 57-68 after
#: 45-48's misses had been looked at), so that detectors changed after a run are also
#: judged on days nobody had seen.
ROUNDS: tuple[int, ...] = (21, 33, 45, 57)


def held_out_round(first: int) -> dict[str, tuple[DaySpec, ...]]:
    """A round's three groups of four days: full intensity, intensity 0.3, clean."""
    full, reduced, clean = (range(first + 4 * k, first + 4 * k + 4) for k in range(3))
    return {
        f"full intensity (seeds {full[0]}-{full[-1]})": tuple(DaySpec(s) for s in full),
        f"intensity 0.3 (seeds {reduced[0]}-{reduced[-1]})": tuple(
            DaySpec(s, intensity=0.3) for s in reduced
        ),
        f"clean (seeds {clean[0]}-{clean[-1]})": tuple(DaySpec(s, clean=True) for s in clean),
    }


#: Held-out days by group, round after round.
GROUPS: dict[str, tuple[DaySpec, ...]] = {
    name: days for first in ROUNDS for name, days in held_out_round(first).items()
}


def detect_one(cache: Path, spec: DaySpec) -> tuple[Any, Any, dict[dt.date, int], float]:
    """Prepare one held-out day, run the product's detect on it; alerts, labels, seconds."""
    from surveillance.detect import detect_day, read_alerts_day
    from surveillance.evaluate import read_labels
    from surveillance.settings import resolve

    root = prepare(cache, spec, EVENTS)
    settings = resolve(landing=str(root / "landing"), lake=str(root / "lake"))
    started = time.perf_counter()
    detect_day(settings, DAY)
    seconds = time.perf_counter() - started
    labels, symbols, _ = read_labels(settings.landing_uri)
    return read_alerts_day(settings, DAY), labels, symbols, seconds


def print_table(evaluation: Any) -> None:
    print(f"   {'typology':<26}{'labels':>7}{'found':>7}{'alerts':>7}{'prec':>7}{'recall':>7}")
    for row in evaluation.table():
        print(
            f"   {row['typology']!s:<26}{row['labels']!s:>7}{row['detected']!s:>7}"
            f"{row['alerts']!s:>7}{row['precision']!s:>7}{row['recall']!s:>7}"
        )
    print(f"   load: {evaluation.summary()}")


def run() -> None:
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, specs in GROUPS.items():
            print(f"-- {name}", flush=True)
            days = []
            for spec in specs:
                alerts, labels, symbols, took = detect_one(Path(tmp), spec)
                days.append((alerts, labels, symbols))
                seconds.append(took)
                print(f"   {spec.key}: {len(alerts)} alerts, detect {took:.1f} s", flush=True)
            print_table(pool_days(days))
    ordered = sorted(seconds)
    print(
        f"-- detect: median {ordered[len(ordered) // 2]:.1f} s per day "
        f"(about {EVENTS:,} journal rows, all rule detectors)"
    )
