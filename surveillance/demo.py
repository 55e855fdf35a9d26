"""``make demo``: the pipeline end to end on a built-in simulated venue day.

Each step is a function that takes the demo's settings and day, does one stage
through the same functions the CLI and the DAGs call, and prints what a new user
should see. Later stages append their step to ``STEPS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from models.anomaly.demo import TRAINING_DAYS as ANOMALY_TRAINING_DAYS
from models.anomaly.demo import explain_step as anomaly_explain_step
from models.anomaly.demo import train_step as anomaly_train_step
from surveillance import settings as settings_module
from surveillance.book.demo import demo_step as book_step
from surveillance.cases.demo import demo_step as cases_step
from surveillance.detect import demo_step as detect_step
from surveillance.evidence.demo import demo_step as evidence_step
from surveillance.ingest.demo import demo_step as ingest_step
from surveillance.nightly_demo import demo_step as nightly_step
from surveillance.settings import Settings
from surveillance.simulate.demo import demo_step as simulate_step
from surveillance.web.demo import demo_step as web_step

DEMO_DAY = dt.date(2026, 3, 2)

Step = Callable[[Settings, dt.date], None]

#: The demo's steps, in pipeline order.
STEPS: list[tuple[str, Step]] = [
    ("simulate: a venue day with injected misconduct, and its labels", simulate_step),
    ("ingest: the data-quality gate, quarantine and curated lake", ingest_step),
    ("book: the order book replayed; spread, AMM presence, reconciliation", book_step),
    (
        f"anomaly models: trained on {ANOMALY_TRAINING_DAYS} clean simulated days",
        anomaly_train_step,
    ),
    ("detect: features and rule detectors; alerts by typology and evaluation", detect_step),
    ("anomaly alerts: what the models found, and why", anomaly_explain_step),
    ("cases: the day's alerts become cases", cases_step),
    ("evidence: a signed pack of one case, verified; the review report", evidence_step),
    ("nightly: the Airflow DAG for the day, rerun idempotently; its report", nightly_step),
    ("web app: work the cases in a browser", web_step),
]


def main() -> None:
    """Run every demo step against ``./mmsurv-data``."""
    settings = settings_module.resolve()
    print(f"mm-surveillance demo: trading day {DEMO_DAY}")
    print(f"  landing {settings.landing_uri}\n  lake    {settings.lake_uri}\n")
    for title, step in STEPS:
        print(f"== {title}", flush=True)
        step(settings, DEMO_DAY)
        print()


if __name__ == "__main__":
    main()
