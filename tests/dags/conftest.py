"""Running the project's DAGs under a real Airflow metadata database, in subprocesses.

Airflow configures itself from the environment when first imported, so each DAG run
happens in a child process with its own ``AIRFLOW_HOME``; the test reads back what
the run did (task-instance states) as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parents[2]
DAGS = REPO / "dags"
AIRFLOW = str(Path(sys.executable).parent / "airflow")

_RUNNER = """
import datetime as dt, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dag = getattr(module, sys.argv[2])
dr = dag.test(logical_date=dt.datetime.fromisoformat(sys.argv[3]), run_conf=json.loads(sys.argv[4]))
states = {}
for ti in dr.get_task_instances():
    key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
    states[key] = str(ti.state)
print("DAG-RESULT " + json.dumps({"state": str(dr.state), "tasks": states}))
"""


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow process rooted at ``home``."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        GX_ANALYTICS_ENABLED="False",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AIRFLOW_HOME with a migrated SQLite metadata database."""
    home = tmp_path_factory.mktemp("airflow-home")
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=airflow_env(home), check=True, capture_output=True
    )
    return home


@dataclass
class DagRunResult:
    """The final state of a DAG run and of each of its task instances."""

    state: str
    tasks: dict[str, str]
    log: str

    def states_of(self, task_id: str) -> list[str]:
        """States of a task's instances (every mapped index)."""
        return [s for k, s in self.tasks.items() if k == task_id or k.startswith(f"{task_id}[")]


@pytest.fixture
def dag_runner(airflow_home: Path) -> Callable[..., DagRunResult]:
    """Runs ``dag.test()`` of a project DAG in a child process (see :func:`run_dag_test`)."""

    def run(
        dag_file: str,
        dag_attr: str,
        logical_date: str,
        conf: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
    ) -> DagRunResult:
        return run_dag_test(airflow_home, dag_file, dag_attr, logical_date, conf, env)

    return run


def run_dag_test(
    home: Path,
    dag_file: str,
    dag_attr: str,
    logical_date: str,
    conf: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
) -> DagRunResult:
    """``dag.test()`` in a child process; returns the run's state and task states."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUNNER,
            str(DAGS / dag_file),
            dag_attr,
            logical_date,
            json.dumps(conf),
        ],
        env=airflow_env(home, **(env or {})),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = completed.stdout + completed.stderr
    for line in completed.stdout.splitlines():
        if line.startswith("DAG-RESULT "):
            data = json.loads(line[len("DAG-RESULT ") :])
            return DagRunResult(data["state"], data["tasks"], output)
    raise AssertionError(
        f"dag.test() did not finish (exit {completed.returncode}):\n{output[-5000:]}"
    )
