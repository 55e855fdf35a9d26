"""The contract reader and every validator rule on a ten-million-event day.

The day is the validator's template day (``surveillance.validate.sample``) tiled to
size, two symbols interleaved in time, written once in eight files per dataset and
cached under ``./mmsurv-data/bench/validate-<events>``. Each measurement runs in a
fresh Python process, so the peak memory (RSS high-water mark) is the validator's own:

- *floor*: ``pyarrow.parquet.read_table`` of every landing file of the day;
- *read*: ``read_landing_day`` (per-file type checks, normalisation, pandas frames);
- *rules*: ``find_violations`` with the whole registry on the day just read.

Wall and CPU seconds are both printed: on a shared machine the CPU time is the
steadier figure. Figures are the median of ``MMSURV_BENCH_RUNS`` runs (default 3);
``MMSURV_BENCH_EVENTS`` sets the number of order events (default 10,000,000).
Timings are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

DAY = dt.date(2026, 3, 2)
EVENTS_PER_COPY = 28  # order events of one template copy over both symbols

_MEASURE = """
import datetime as dt, json, resource, sys, time
import pyarrow.parquet as pq
from surveillance.contract import LANDING_DATASETS
from surveillance.storage import Landing
from surveillance.validate import find_violations, read_landing_day
landing, day, what = Landing(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]), sys.argv[3]
wall, cpu = time.perf_counter(), time.process_time()
if what == "floor":
    files = [f for d in LANDING_DATASETS for f in landing.files(d.name, day)]
    rows = sum(pq.read_table(f).num_rows for f in files if "/orders/" in f)
    out = {"rows": rows}
else:
    read = read_landing_day(landing, day)
    out = {"rows": read.rows("orders"), "read_wall": time.perf_counter() - wall,
           "read_cpu": time.process_time() - cpu}
    wall2, cpu2 = time.perf_counter(), time.process_time()
    found = find_violations(read)
    out.update(rules_wall=time.perf_counter() - wall2, rules_cpu=time.process_time() - cpu2,
               violations=len(found))
out.update(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu,
           peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps(out))
"""


def _landing(events: int) -> Path:
    from surveillance.storage import Landing
    from surveillance.validate.sample import write_sample_day

    root = Path("mmsurv-data") / "bench" / f"validate-{events}"
    landing = Landing(root)
    if not landing.is_ready(DAY):
        copies = max(1, events // EVENTS_PER_COPY)
        print(f"writing the template day x{copies} to {root} (once)", flush=True)
        write_sample_day(landing, DAY, copies=copies, files=8)
    return root


def _measure(root: Path, what: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(root), DAY.isoformat(), what],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def run() -> None:
    from surveillance.validate import RULES

    events = int(os.environ.get("MMSURV_BENCH_EVENTS", "10000000"))
    repeats = int(os.environ.get("MMSURV_BENCH_RUNS", "3"))
    root = _landing(events)
    floor = [_measure(root, "floor") for _ in range(repeats)]
    full = [_measure(root, "validate") for _ in range(repeats)]
    rows = full[0]["rows"]
    gib = 2**30
    print(f"order events: {rows:,.0f} (median of {repeats} runs, each in a fresh process)")
    print(
        f"floor  pyarrow read of every file: {_median(floor, 'wall'):6.2f} s wall "
        f"{_median(floor, 'cpu'):6.2f} s CPU, peak {_median(floor, 'peak') / gib:.2f} GiB"
    )
    print(
        f"read   read_landing_day:           {_median(full, 'read_wall'):6.2f} s wall "
        f"{_median(full, 'read_cpu'):6.2f} s CPU"
    )
    print(
        f"rules  find_violations ({len(RULES)} rules): {_median(full, 'rules_wall'):6.2f} s wall "
        f"{_median(full, 'rules_cpu'):6.2f} s CPU, {_median(full, 'violations'):.0f} violations"
    )
    total = _median(full, "wall")
    print(
        f"total  reader + rules:             {total:6.2f} s wall "
        f"{_median(full, 'cpu'):6.2f} s CPU, {rows / total:,.0f} events/s, "
        f"peak {_median(full, 'peak') / gib:.2f} GiB; "
        f"{total / _median(floor, 'wall'):.1f}x the pyarrow floor"
    )


if __name__ == "__main__":
    run()
