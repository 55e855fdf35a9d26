"""Run every benchmark in turn and print its figures (``make bench``).

Each benchmark module exposes ``run() -> None`` and prints its own figures. Pass
names to run a subset: ``python -m benchmarks simulate book``.
"""

from __future__ import annotations

import importlib
import sys

#: Benchmark modules under ``benchmarks``, in pipeline order.
BENCHMARKS: tuple[str, ...] = (
    "simulate",
    "validate",
    "ingest",
    "book",
    "detect_quality",
    "anomaly",
    "cases",
    "evidence",
    "web",
    "pipeline",
)


def main(argv: list[str]) -> None:
    chosen = argv or list(BENCHMARKS)
    for name in chosen:
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main(sys.argv[1:])
