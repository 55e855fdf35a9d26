"""Running the project's DAGs under a real Airflow metadata database, in subprocesses.

Airflow configures itself from the environment when first imported, so each DAG run
happens in a child process with its own ``AIRFLOW_HOME``; the test reads back what
the run did (task-instance states) as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
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
    """The environment of an Airflow process rooted at ``home`` (as the demo sets it up)."""
    from surveillance.nightly_demo import airflow_environment

    env = airflow_environment(home)
    env["PYTHONPATH"] = str(REPO)
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


@dataclass
class AirflowCluster:
    """A real Airflow deployment on this machine: API server, scheduler, DAG processor.

    LocalExecutor, metadata in a fresh PostgreSQL database, every process in its own
    process group so the fixture can stop them all.
    """

    home: Path
    env: dict[str, str]
    database_url: str

    def cli(self, *args: str, timeout: float = 120) -> str:
        completed = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if completed.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
        return completed.stdout

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database_url.replace("+psycopg", "")) as conn:
            return list(conn.execute(sql).fetchall())


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def airflow_cluster(tmp_path: Path, pg_admin_url: str) -> Iterator[AirflowCluster]:
    """Starts and finally stops a LocalExecutor Airflow on a fresh PostgreSQL database."""
    import signal
    import uuid

    import psycopg

    name = f"mmsurv_airflow_{uuid.uuid4().hex[:10]}"
    admin = pg_admin_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    database_url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    port = _free_port()
    home = tmp_path / "airflow"
    home.mkdir()
    env = airflow_env(
        home,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=database_url,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex * 2,
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
    )
    cluster = AirflowCluster(home, env, database_url)
    cluster.cli("db", "migrate")
    processes = []
    try:
        for args in (["api-server", "--port", str(port)], ["scheduler"], ["dag-processor"]):
            log = open(home / f"{args[0]}.log", "w")  # noqa: SIM115 - closed with the process
            processes.append(
                subprocess.Popen(
                    [AIRFLOW, *args], env=env, stdout=log, stderr=log, start_new_session=True
                )
            )
        yield cluster
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL server the suite may create databases on; CI must have it."""
    import psycopg

    url = os.environ.get("MMSURV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    return url
