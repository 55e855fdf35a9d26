"""The demo's nightly step: the Airflow DAG run for the demo day, as the scheduler would.

It sets up a local Airflow (``AIRFLOW_HOME`` under the lake's parent folder, SQLite
metadata database) on first use, runs ``airflow dags test`` of the nightly DAG for
the demo day in a child process (Airflow configures itself from its environment),
and prints the run report's summary. The stages already ran in earlier demo steps,
so this run also shows that a rerun of a day replaces its outputs and duplicates
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from surveillance.nightly import read_run_summary
from surveillance.settings import Settings

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
DAG_ID = "nightly_surveillance"


def airflow_environment(home: Path) -> dict[str, str]:
    """The environment of a local, quiet Airflow rooted at ``home``."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        GX_ANALYTICS_ENABLED="False",
    )
    return env


def demo_step(settings: Settings, day: dt.date) -> None:
    """Run the nightly DAG for ``day`` and print its run report's summary."""
    home = Path(settings.lake_uri).parent / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).parent / "airflow")
    env = airflow_environment(home)
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    conf = {"landing": settings.landing_uri, "lake": settings.lake_uri, "db_url": settings.db_url}
    logical = f"{(day + dt.timedelta(days=1)).isoformat()}T01:30:00+00:00"
    completed = subprocess.run(
        [airflow, "dags", "test", DAG_ID, logical, "-c", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
    )
    summary = read_run_summary(settings, day)
    if summary is None:
        print(completed.stdout[-2000:] + completed.stderr[-3000:])
        raise SystemExit(f"the nightly DAG wrote no run report (exit {completed.returncode})")
    print(f"  DAG {DAG_ID} for {day}: {summary['status']} (Airflow home {home})")
    for stage in summary["stages"]:
        print(f"  {stage['stage']:<7} {stage['symbols'] or '':<18} {stage['seconds']:>7.2f} s")
    cases = summary["cases"]
    print(
        f"  alerts: {summary['alerts']['total']} "
        f"({cases.get('alerts_new', 0)} new, {cases.get('alerts_unchanged', 0)} unchanged); "
        f"cases: {cases.get('cases_created', 0)} created, "
        f"{cases.get('cases_updated', 0)} updated, {cases.get('open_cases', 0)} open"
    )
    for row in summary["obligations"]:
        uptime = "-" if row["uptime"] is None else f"{100 * row['uptime']:.1f}%"
        print(f"  {row['symbol']}: AMM uptime {uptime}" + ("  BREACH" if row["breached"] else ""))
    report = Path(settings.lake.report("nightly", day)) / "index.html"
    print(f"  run report: {report}")
