"""The simulated venue's speed (``make bench`` / ``python -m benchmarks simulate``).

Prints:

- journal rows (events) per second of ``simulate_day`` on a 1-million-event,
  3-symbol day with misconduct, as the median of three runs, including writing
  the landing files;
- one 10-million-event day: wall time, events per second and peak resident memory.

Each run is a fresh Python process, so peak memory is that run's own. The named
reference is the requirement: a 10-million-event day in under 10 minutes, that is
16,667 events per second; the ratio printed is measured speed over it. Set
``MMSURV_BENCH_SIM_LARGE`` to change the large day's size (for a quick look).
Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

SMALL_EVENTS = 1_000_000
LARGE_EVENTS = int(os.environ.get("MMSURV_BENCH_SIM_LARGE", "10000000"))
SYMBOLS = 3
RUNS = 3
REFERENCE_EVENTS_PER_S = 10_000_000 / 600  # the requirement: 10M events in 10 minutes

_CHILD = """
import json, resource, sys, time
from surveillance.simulate import simulate_day
out, events, symbols, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
start = time.perf_counter()
summary = simulate_day(out, "2026-03-02", symbols=symbols, events=events, seed=seed)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "rows": summary.orders, "trades": summary.trades,
                  "labels": summary.labels, "peak_rss_mib": usage.ru_maxrss / 1024}))
"""


def _simulate(events: int, seed: int) -> dict[str, float]:
    """One simulated day in a fresh process; its time, size and peak memory."""
    with tempfile.TemporaryDirectory(prefix="mmsurv-bench-sim-") as tmp:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, tmp, str(events), str(SYMBOLS), str(seed)],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> None:
    """Print the simulator's throughput and the large day's time and memory."""
    print(f"host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    small = [_simulate(SMALL_EVENTS, seed) for seed in range(RUNS)]
    rates = [r["rows"] / r["seconds"] for r in small]
    cpu_rates = [r["rows"] / r["cpu_seconds"] for r in small]
    rate = statistics.median(rates)
    print(
        f"simulate {SMALL_EVENTS:,} events x {SYMBOLS} symbols: median {rate:,.0f} events/s "
        f"wall over {RUNS} runs ({', '.join(f'{r:,.0f}' for r in rates)}), "
        f"{statistics.median(cpu_rates):,.0f} events per CPU second; "
        f"peak RSS {max(r['peak_rss_mib'] for r in small):,.0f} MiB; "
        f"{rate / REFERENCE_EVENTS_PER_S:.2f}x the required {REFERENCE_EVENTS_PER_S:,.0f} events/s"
    )
    large = _simulate(LARGE_EVENTS, 0)
    print(
        f"simulate {LARGE_EVENTS:,} events x {SYMBOLS} symbols: {large['seconds']:,.1f} s wall, "
        f"{large['cpu_seconds']:,.1f} s CPU ({large['rows'] / large['seconds']:,.0f} events/s, "
        f"{large['rows']:,.0f} rows, {large['trades']:,.0f} trades, {large['labels']:.0f} "
        f"labels); peak RSS {large['peak_rss_mib']:,.0f} MiB; requirement: under 600 s; "
        f"host load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    run()
