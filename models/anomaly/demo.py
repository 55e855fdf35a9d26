"""The ``make demo`` steps of the anomaly models: train before detect, explain after.

``train_step`` simulates clean days before the demo day (same venue size, other
seeds), as many as the packaged training window (``[anomaly] training_days``, 14), so
that the calibration estimates the day-to-day spread from as many days as in
production (from three, its Student-t threshold is too wide for any alert). It
ingests them and builds their books through the same stage functions as the CLI, and
trains every model on them with :func:`train_models`. Detect then scores the demo day
with the registered models, beside the rules, and ``explain_step`` prints the anomaly
alerts with their explanations.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from models.anomaly.config import AnomalyConfig
from models.anomaly.train import train_models
from surveillance.settings import Settings

#: Clean days simulated before the demo day to train on: the packaged window.
TRAINING_DAYS = AnomalyConfig().training_days


def train_step(settings: Settings, day: dt.date) -> None:
    """Simulate, ingest and book the clean days before ``day``; train the models on them."""
    from surveillance.book import build_book
    from surveillance.ingest import ingest_day
    from surveillance.simulate.day import simulate_day
    from surveillance.simulate.demo import DEMO_EVENTS, DEMO_SEED, DEMO_SYMBOLS
    from surveillance.storage import exists

    days = [day - dt.timedelta(days=k) for k in range(TRAINING_DAYS, 0, -1)]
    for k, d in enumerate(days):
        if not exists(settings.lake.book("top", d)):
            simulate_day(
                settings.landing_uri,
                d,
                symbols=DEMO_SYMBOLS,
                events=DEMO_EVENTS,
                seed=DEMO_SEED + 1000 + k,
                clean=True,
            )
            ingest_day(settings, d)
            build_book(settings, d)
        print(f"  clean training day {d}: simulated, ingested, book built")
    result = train_models(settings, days[0], days[-1])
    print(f"  trained in {result.seconds:.1f} s; registered under {settings.lake.models()}:")
    for m in result.summary()["models"]:
        thresholds = ", ".join(f"{s} {t:.3f}" for s, t in m["thresholds"].items())
        print(f"    anomaly:{m['model']:<9} v{m['version']}  day thresholds {thresholds}")


def explain_step(settings: Settings, day: dt.date) -> None:
    """Print the demo day's anomaly alerts beside the rule alerts, with explanations."""
    from surveillance.detect import read_alerts_day

    alerts = read_alerts_day(settings, day)
    anomaly = alerts[alerts["detector"].str.startswith("anomaly:")]
    rules = len(alerts) - len(anomaly)
    print(f"  {len(anomaly)} anomaly alerts beside {rules} rule alerts")
    for _, a in anomaly.sort_values("score", ascending=False).iterrows():
        print(f"  - {a['detector']} {a['symbol']} {a['typology']} score {a['score']:.0f}")
        for line in textwrap.wrap(str(a["explanation"]), 96):
            print(f"      {line}")
