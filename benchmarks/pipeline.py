"""Every nightly stage on one simulated day: seconds and events per second, per stage.

These are the figures behind the scale-out arithmetic of ``docs/deploy.md``: which
part of a day's work is serial (ingest reads and validates the whole day) and
which is per symbol (book and detect, mapped over symbols by the nightly DAG), and
how fast each runs on one core. The day is simulated once and cached under
``./mmsurv-data/bench/pipeline-<events>``; each run starts from an empty lake in a
fresh process. ``MMSURV_BENCH_EVENTS`` sets the size (default 1,000,000),
``MMSURV_BENCH_RUNS`` the number of runs (default 3); the median is printed.
Timings are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DAY = dt.date(2026, 3, 2)
SYMBOLS = 4

_RUN = """
import datetime as dt, json, resource, sys, time
from surveillance.book import build_book
from surveillance.cases import create_cases
from surveillance.detect import detect_day
from surveillance.ingest import ingest_day
from surveillance.settings import resolve

landing, lake, db = sys.argv[1:4]
day = dt.date.fromisoformat(sys.argv[4])
settings = resolve(landing, lake, db)
seconds = {}
for name, stage in (("ingest", ingest_day), ("book", build_book), ("detect", detect_day),
                    ("cases", create_cases)):
    started = time.perf_counter()
    stage(settings, day)
    seconds[name] = time.perf_counter() - started
seconds["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(seconds))
"""


def _day(events: int) -> tuple[Path, int]:
    from surveillance.simulate import simulate_day

    root = Path("mmsurv-data/bench") / f"pipeline-{events}"
    marker = root / "events.json"
    if not marker.exists():
        summary = simulate_day(root, DAY, symbols=SYMBOLS, events=events, seed=5)
        marker.write_text(json.dumps({"events": summary.orders + summary.trades}))
    return root, int(json.loads(marker.read_text())["events"])


def run() -> None:
    """Print each stage's median seconds and events per second on one core."""
    events_wanted = int(os.environ.get("MMSURV_BENCH_EVENTS", "1000000"))
    runs = int(os.environ.get("MMSURV_BENCH_RUNS", "3"))
    landing, events = _day(events_wanted)
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _RUN,
                    str(landing.resolve()),
                    f"{tmp}/lake",
                    f"sqlite:///{tmp}/cases.db",
                    DAY.isoformat(),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"day: {events:,} events (orders + trades), {SYMBOLS} symbols; median of {runs} runs")
    total = 0.0
    for stage in ("ingest", "book", "detect", "cases"):
        seconds = statistics.median(r[stage] for r in results)
        total += seconds
        print(f"  {stage:<7} {seconds:8.2f} s   {events / seconds:>12,.0f} events/s")
    print(f"  {'total':<7} {total:8.2f} s   {events / total:>12,.0f} events/s")
    print(f"  peak RSS {statistics.median(r['peak_mib'] for r in results):,.0f} MiB")
