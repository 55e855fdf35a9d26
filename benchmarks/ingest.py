"""Ingest and validation of a ten-million-event day, against pyarrow reading the same files.

The day is simulated once and cached under ``./mmsurv-data/bench/ingest-<events>``
(the simulator is deterministic, so the cache is the same day on every machine).
Each measurement runs in a fresh Python process, so its peak memory (the RSS
high-water mark, ``ru_maxrss``) is the ingest's own and not the simulator's:

- *floor*: ``pyarrow.parquet.read_table`` of every landing file of the day;
- *ingest*: ``ingest_day`` end to end: lineage (SHA-256 of every file), the contract
  reader, the Great Expectations suites with the validator's rules, quarantine,
  the curated partitions and the report.

Events are orders plus trades rows (what the gate's share counts). CPU time (user +
sys, every thread) is reported beside wall time: on a shared machine it shows the
work done whatever the load, and the load average is printed with the figures. Figures are the
median of ``MMSURV_BENCH_RUNS`` runs (default 3); ``MMSURV_BENCH_EVENTS`` sets the
day's size (default 10,000,000). Timings are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 3, 2)
SYMBOLS = 3
SEED = 0
GOAL_EVENTS_PER_SECOND = 500_000
GOAL_PEAK_GIB = 4.0

_FLOOR = """
import json, resource, sys, time
import pyarrow.parquet as pq
from surveillance.storage import Landing
from surveillance.contract import LANDING_DATASETS, Orders, Trades
import datetime as dt
landing, day = Landing(sys.argv[1]), dt.date.fromisoformat(sys.argv[2])
files = [f for d in LANDING_DATASETS for f in landing.files(d.name, day)]
cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
start = time.perf_counter()
tables = {f: pq.read_table(f) for f in files}
seconds = time.perf_counter() - start
events = sum(t.num_rows for f, t in tables.items() if f"/{Orders.name}/" in f or f"/{Trades.name}/" in f)
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu0
print(json.dumps({"seconds": seconds, "cpu": cpu, "events": events, "peak": usage.ru_maxrss * 1024}))
"""

_INGEST = """
import json, resource, sys, time, datetime as dt
from surveillance.ingest import ingest_day, pipeline
from surveillance.settings import resolve
settings = resolve(sys.argv[1], sys.argv[3], "sqlite://", None)
cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
start = time.perf_counter()
result = ingest_day(settings, dt.date.fromisoformat(sys.argv[2]))
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime - cpu0,
                  "events": result.events, "peak": usage.ru_maxrss * 1024,
                  "timings": result.timings, "cpu_timings": result.cpu_timings,
                  "status": result.status}))
"""


def _landing(events: int) -> Path:
    """The cached benchmark day, simulated on first use."""
    from surveillance.simulate import simulate_day
    from surveillance.storage import Landing

    root = Path("mmsurv-data", "bench", f"ingest-{events}", "landing").resolve()
    if not Landing(root).is_ready(DAY):
        print(f"simulating a {events:,}-event day into {root} (once; cached)", flush=True)
        start = time.perf_counter()
        simulate_day(root, DAY, symbols=SYMBOLS, events=events, seed=SEED)
        print(f"  simulated in {time.perf_counter() - start:.0f} s", flush=True)
    return root


def _measure(code: str, *args: str) -> dict:
    env = dict(os.environ, GX_ANALYTICS_ENABLED="False")
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> None:
    """Print events/s, peak memory and the ratio to the pyarrow floor (median of runs)."""
    events_wanted = int(os.environ.get("MMSURV_BENCH_EVENTS", "10000000"))
    runs = int(os.environ.get("MMSURV_BENCH_RUNS", "3"))
    landing = _landing(events_wanted)
    floors, ingests, loads = [], [], []
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        floors.append(_measure(_FLOOR, str(landing), DAY.isoformat()))
        with tempfile.TemporaryDirectory(prefix="mmsurv-bench-lake-") as lake:
            ingests.append(_measure(_INGEST, str(landing), DAY.isoformat(), lake))
    loads.append(os.getloadavg()[0])
    events = ingests[0]["events"]
    floor_s = statistics.median(r["seconds"] for r in floors)
    ingest_s = statistics.median(r["seconds"] for r in ingests)
    floor_cpu = statistics.median(r["cpu"] for r in floors)
    ingest_cpu = statistics.median(r["cpu"] for r in ingests)
    peak = max(r["peak"] for r in ingests) / 2**30
    rate = events / ingest_s
    print(
        f"day: {events:,} events (orders + trades rows), {runs} run(s), median; "
        f"load average (1 min) {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores"
    )
    print(
        f"pyarrow read (floor): {floor_s:8.2f} s  {events / floor_s:>12,.0f} events/s  "
        f"cpu {floor_cpu:6.2f} s  peak {max(r['peak'] for r in floors) / 2**30:.2f} GiB"
    )
    print(
        f"ingest + validation:  {ingest_s:8.2f} s  {rate:>12,.0f} events/s  "
        f"cpu {ingest_cpu:6.2f} s  peak {peak:.2f} GiB  (status {ingests[0]['status']})"
    )
    print(
        f"ratio ingest / floor: {ingest_s / floor_s:.1f}x wall, {ingest_cpu / floor_cpu:.1f}x cpu "
        f"(cpu = user + sys of the measured process, every thread)"
    )
    print("runs (wall s): " + ", ".join(f"{r['seconds']:.1f}" for r in ingests))
    phases = {k: statistics.median(r["timings"][k] for r in ingests) for k in ingests[0]["timings"]}
    print("ingest phases (s):   " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    cpu = {k: statistics.median(r["cpu_timings"][k] for r in ingests) for k in phases}
    print("ingest phases (cpu): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    print(
        f"goal >= {GOAL_EVENTS_PER_SECOND:,} events/s: {'met' if rate >= GOAL_EVENTS_PER_SECOND else 'NOT met'}; "
        f"goal < {GOAL_PEAK_GIB:.0f} GiB: {'met' if peak < GOAL_PEAK_GIB else 'NOT met'}"
    )


if __name__ == "__main__":
    run()
