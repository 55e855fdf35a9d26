"""Speed of the anomaly models' nightly work (``python -m benchmarks anomaly``).

Prints, on one simulated day (``MMSURV_BENCH_ANOMALY_EVENTS`` events, default one
million, 3 symbols; simulated, ingested and booked once, not timed):

- behaviour vectors (:func:`features.behaviour.bucket_vectors`) per symbol: median
  of three runs, journal rows per second;
- training the three models on that day (``train_models``; one day, so in-sample
  calibration) and scoring them (``score_model``) per symbol;
- peak resident memory of the process.

The named reference: the nightly run should spend well under a minute per symbol on
anomaly work; the ratio printed is that minute over the measured vectors-plus-scoring
time per symbol. Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import tempfile
import time

EVENTS = int(os.environ.get("MMSURV_BENCH_ANOMALY_EVENTS", "1000000"))
SYMBOLS = 3
RUNS = 3
REFERENCE_SECONDS_PER_SYMBOL = 60.0
DAY = dt.date(2026, 3, 2)


def run() -> None:
    from features.behaviour import bucket_vectors
    from features.data import load_symbol_day
    from models.anomaly.score import score_model
    from models.anomaly.train import train_models
    from surveillance.book import build_book
    from surveillance.config import load_config
    from surveillance.ingest import ingest_day
    from surveillance.settings import resolve
    from surveillance.simulate import simulate_day

    with tempfile.TemporaryDirectory(prefix="mmsurv-bench-anomaly-") as tmp:
        settings = resolve(landing=f"{tmp}/landing", lake=f"{tmp}/lake")
        simulate_day(settings.landing_uri, DAY, symbols=SYMBOLS, events=EVENTS, seed=5, clean=True)
        ingest_day(settings, DAY)
        build_book(settings, DAY)
        cfg = load_config(None)
        symbols = settings.lake.curated_symbols("orders", DAY)
        per_symbol = {}
        for symbol in symbols:
            data = load_symbol_day(settings.lake, DAY, symbol)
            times = []
            for _ in range(RUNS):
                fresh = load_symbol_day(settings.lake, DAY, symbol)
                start = time.perf_counter()
                bucket_vectors(fresh)
                times.append(time.perf_counter() - start)
            per_symbol[symbol] = (len(data.orders), statistics.median(times))
        start = time.perf_counter()
        train_models(settings, DAY, DAY, config=cfg)
        train_s = time.perf_counter() - start
        score_s = []
        for symbol in symbols:
            data = load_symbol_day(settings.lake, DAY, symbol)
            start = time.perf_counter()
            for name in ("baseline", "peer", "iforest"):
                score_model(name, settings, cfg, data)
            score_s.append(time.perf_counter() - start)
    print(f"  day of {EVENTS:,} events on {SYMBOLS} symbols")
    for symbol, (rows, seconds) in per_symbol.items():
        print(
            f"  vectors {symbol}: {rows:,} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)"
        )
    print(f"  training (3 models, 1 day): {train_s:.1f} s")
    vec = statistics.mean(s for _, s in per_symbol.values())
    score = statistics.mean(score_s)
    print(f"  scoring (3 models, vectors included) per symbol: {score:.2f} s")
    print(
        f"  ratio to the {REFERENCE_SECONDS_PER_SYMBOL:.0f} s per symbol reference: "
        f"{REFERENCE_SECONDS_PER_SYMBOL / max(score, vec):.1f}x"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory: {peak:,.0f} MiB")
