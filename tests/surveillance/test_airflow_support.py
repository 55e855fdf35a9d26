"""Airflow tasks resolve the run's day and settings, and fail fast on bad data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from surveillance import airflow_support
from surveillance.errors import ContractError, DataQualityError, SurveillanceError


@dataclass
class FakeResult:
    rows: int
    symbols: list[str]
    table: object


def _context(tmp_path: Path, **params: str) -> dict[str, object]:
    base = {"landing": str(tmp_path / "landing"), "lake": str(tmp_path / "lake")}
    return {
        "params": {**base, **params},
        "logical_date": dt.datetime(2026, 3, 3, 1, 30, tzinfo=dt.UTC),
        "dag_run": SimpleNamespace(run_after=dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)),
    }


def test_a_nightly_run_processes_the_utc_day_before_it(tmp_path: Path) -> None:
    assert airflow_support.trading_day_of_run(_context(tmp_path)) == "2026-03-02"


def test_the_day_param_overrides_the_schedule(tmp_path: Path) -> None:
    context = _context(tmp_path, day="2026-01-15")
    assert airflow_support.trading_day_of_run(context) == "2026-01-15"


def test_a_manual_run_without_logical_date_uses_its_run_after(tmp_path: Path) -> None:
    context = {**_context(tmp_path), "logical_date": None}
    assert airflow_support.trading_day_of_run(context) == "2026-03-04"


def test_settings_come_from_the_params(tmp_path: Path) -> None:
    settings = airflow_support.settings_of(_context(tmp_path, db_url="sqlite:///x.db"))
    assert settings.lake_uri == str(tmp_path / "lake")
    assert settings.db_url == "sqlite:///x.db"


def test_dag_params_default_to_the_deployments_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every DAG's settings Params take their defaults from MMSURV_*, and settings_of reads them."""
    monkeypatch.setenv("MMSURV_LAKE", str(tmp_path / "lake"))
    monkeypatch.delenv("MMSURV_CONFIG", raising=False)
    params = airflow_support.settings_params()
    assert set(params) == {"landing", "lake", "db_url", "config"}
    values = {name: param.value for name, param in params.items()}
    assert values["lake"] == str(tmp_path / "lake")
    assert values["config"] == ""
    settings = airflow_support.settings_of({"params": values})
    assert settings.lake_uri == str(tmp_path / "lake")


def test_run_stage_summarises_the_result(tmp_path: Path) -> None:
    def stage(settings: object, day: dt.date) -> FakeResult:
        return FakeResult(rows=7, symbols=["BTC-USD"], table=object())

    summary = airflow_support.run_stage(_context(tmp_path), "book", stage, "2026-03-02")
    assert summary["rows"] == 7
    assert summary["symbols"] == ["BTC-USD"]
    assert summary["stage"] == "book"
    assert "table" not in summary


@pytest.mark.parametrize(
    "error",
    [
        DataQualityError("quarantined 2% of events"),
        ContractError("part-0.parquet", "column 'price' must be float64, found string"),
    ],
)
def test_bad_data_fails_without_retries(tmp_path: Path, error: SurveillanceError) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    def stage(settings: object, day: dt.date) -> None:
        raise error

    with pytest.raises(AirflowFailException, match=rf"^\[{error.reason}\]"):
        airflow_support.run_stage(_context(tmp_path), "ingest", stage, "2026-03-02")


def test_other_failures_propagate_so_airflow_retries(tmp_path: Path) -> None:
    def stage(settings: object, day: dt.date) -> None:
        raise OSError("object store timed out")

    with pytest.raises(OSError, match="timed out"):
        airflow_support.run_stage(_context(tmp_path), "book", stage, "2026-03-02")
