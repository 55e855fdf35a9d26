"""``mmsurv cases|users|audit``: the workflow from the command line, as a signed-in user."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from surveillance import storage
from surveillance.cases import CaseStore
from surveillance.storage import Lake

PASSWORD = "correct-horse-battery"
DAY = dt.date(2026, 3, 2)
Run = Callable[..., Any]


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The seeded store on SQLite only: the CLI is a thin layer over the service layer,
    which every other test module checks on both databases."""
    target = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def cli(
    mmsurv: Run, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> Run:
    """``mmsurv`` against the test store and a lake in ``tmp_path``, password in the env."""
    monkeypatch.setenv("MMSURV_DB_URL", db_url)
    monkeypatch.setenv("MMSURV_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("MMSURV_PASSWORD", PASSWORD)
    return mmsurv


@pytest.fixture
def lake_alerts(tmp_path: Path, alerts: Any) -> None:
    """Three alerts for 2026-03-02 in the lake: two cases (one HIGH, one LOW)."""
    rows = [
        alerts.row(0, severity="HIGH", score=90.0),
        alerts.row(5, severity="MEDIUM", score=50.0),
        alerts.row(120, severity="LOW", score=20.0, symbol="ETH-USDT"),
    ]
    storage.write_partition(alerts.table(rows), Lake(tmp_path / "lake").alerts(DAY))


def _cases(cli: Run, *args: str) -> dict[str, Any]:
    result = cli("cases", "list", "--user", "ana", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_ingest_alerts_opens_cases(cli: Run, lake_alerts: None) -> None:
    result = cli("cases", "ingest-alerts", "--date", "2026-03-02")
    assert result.exit_code == 0
    assert "3 alerts for 2026-03-02: 3 new" in result.stdout
    assert "2 cases opened" in result.stdout


def test_ingest_alerts_again_adds_nothing(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    result = cli("cases", "ingest-alerts", "--date", "2026-03-02")
    assert "0 new, 0 updated, 3 unchanged; 0 cases opened" in result.stdout


def test_ingest_alerts_before_detection_exits_3(cli: Run) -> None:
    result = cli("cases", "ingest-alerts", "--date", "2026-03-02")
    assert result.exit_code == 3 and "run mmsurv detect" in result.stderr


def test_list_filters_by_severity(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    page = _cases(cli, "--severity", "LOW")
    assert page["total"] == 1 and page["items"][0]["symbol"] == "ETH-USDT"


def test_list_as_csv_has_a_header_and_one_row_per_case(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    result = cli("cases", "list", "--user", "ana", "--format", "csv")
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("id,status,") and len(lines) == 3


def test_list_as_a_table_shows_the_queue(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    result = cli("cases", "list", "--user", "ana")
    assert "cases 1-2 of 2" in result.stdout and "FR_TRADING_AHEAD" in result.stdout


def test_show_as_json_has_the_alerts(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = _cases(cli, "--severity", "HIGH")["items"][0]["id"]
    result = cli("cases", "show", str(case_id), "--user", "ana", "--format", "json")
    detail = json.loads(result.stdout)
    assert len(detail["alerts"]) == 2 and detail["history"][0]["action"] == "case.created"


def test_a_high_case_is_worked_to_closed(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli, "--severity", "HIGH")["items"][0]["id"])
    assert cli("cases", "assign", case_id, "--to", "ana", "--user", "ana").exit_code == 0
    assert (
        cli("cases", "comment", case_id, "--text", "looked at it", "--user", "ana").exit_code == 0
    )
    proposed = cli(
        "cases", "close", case_id, "--disposition", "FALSE_POSITIVE",
        "--rationale", "client order arrived after the AMM's", "--user", "ana",
    )  # fmt: skip
    assert "closure proposed by ana" in proposed.stdout
    approved = cli("cases", "approve", case_id, "--user", "sue")
    assert approved.exit_code == 0 and "CLOSED as FALSE_POSITIVE" in approved.stdout


def test_escalate_and_reopen(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli, "--severity", "LOW")["items"][0]["id"])
    cli("cases", "assign", case_id, "--to", "ana", "--user", "sue")
    cli("cases", "close", case_id, "--disposition", "NO_FURTHER_ACTION",
        "--rationale", "within the quoting obligation", "--user", "ana")  # fmt: skip
    reopened = cli("cases", "reopen", case_id, "--reason", "venue corrected the trades",
                   "--user", "sue")  # fmt: skip
    escalated = cli("cases", "escalate", case_id, "--rationale", "pattern over three days",
                    "--user", "ana")  # fmt: skip
    assert "IN_REVIEW" in reopened.stdout and "ESCALATED" in escalated.stdout


def test_a_stale_version_is_a_conflict(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case = _cases(cli, "--severity", "LOW")["items"][0]
    cli("cases", "assign", str(case["id"]), "--to", "ana", "--user", "sue")
    result = cli(
        "cases", "assign", str(case["id"]), "--to", "bob", "--user", "sue",
        "--expect-version", str(case["version"]),
    )  # fmt: skip
    assert result.exit_code == 1 and "changed since you read it" in result.stderr


def test_a_reviewers_write_exits_1(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli)["items"][0]["id"])
    result = cli("cases", "comment", case_id, "--text", "hello", "--user", "rex")
    assert result.exit_code == 1 and "rex is a reviewer and may not" in result.stderr


def test_a_refused_transition_exits_1_with_the_reason(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli)["items"][0]["id"])
    result = cli("cases", "reopen", case_id, "--reason", "just because really", "--user", "sue")
    assert result.exit_code == 1 and "only a closed case can be reopened" in result.stderr


def test_a_wrong_password_exits_2(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "wrong-password-here")
    result = cli("cases", "list", "--user", "ana")
    assert result.exit_code == 2 and "sign-in as 'ana' failed" in result.stderr


def test_commands_need_a_user(cli: Run) -> None:
    result = cli("cases", "list")
    assert result.exit_code == 2 and "pass --user NAME" in result.stderr


def test_an_admin_adds_and_lists_users(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMSURV_NEW_PASSWORD", "eves-long-password")
    added = cli("users", "add", "eve", "--role", "reviewer", "--user", "ada")
    listed = cli("users", "list", "--user", "ada", "--format", "json")
    assert added.exit_code == 0
    assert {"username": "eve", "role": "reviewer"}.items() <= {
        u["username"]: u for u in json.loads(listed.stdout)
    }["eve"].items()


def test_an_admin_disables_a_user(cli: Run) -> None:
    assert cli("users", "disable", "bob", "--user", "ada").exit_code == 0
    assert cli("cases", "list", "--user", "bob").exit_code == 2


def test_the_first_admin_needs_no_sign_in(
    mmsurv: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setenv("MMSURV_DB_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("MMSURV_NEW_PASSWORD", "first-admin-password")
    result = mmsurv("users", "add", "root", "--role", "admin")
    assert result.exit_code == 0 and "user root added as admin" in result.stdout


def test_audit_verify_passes_on_an_intact_chain(cli: Run) -> None:
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "audit chain intact: 6 entries" in result.stdout


def test_audit_verify_exits_1_naming_the_first_bad_entry(cli: Run, db_url: str) -> None:
    with CaseStore(db_url) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
        conn.exec_driver_sql("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3")
    result = cli("audit", "verify")
    assert result.exit_code == 1 and "audit entry 3" in result.stderr and "edited" in result.stderr


def test_audit_list_shows_a_cases_entries(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli)["items"][0]["id"])
    result = cli("audit", "list", "--case", case_id, "--user", "rex", "--format", "json")
    assert json.loads(result.stdout)[0]["action"] == "case.created"


def test_show_as_a_table_has_alerts_and_history(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli, "--severity", "HIGH")["items"][0]["id"])
    result = cli("cases", "show", case_id, "--user", "rex")
    assert all(title in result.stdout for title in (f"case {case_id}", "alerts", "history"))


def test_a_supervisor_rejects_a_proposed_closure(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli, "--severity", "HIGH")["items"][0]["id"])
    cli("cases", "assign", case_id, "--to", "ana", "--user", "ana")
    cli("cases", "close", case_id, "--disposition", "FALSE_POSITIVE",
        "--rationale", "client order arrived later", "--user", "ana")  # fmt: skip
    result = cli("cases", "reject", case_id, "--reason", "check the second fill", "--user", "sue")
    assert result.exit_code == 0 and f"case {case_id}: IN_REVIEW, assigned to ana" in result.stdout


def test_a_supervisor_unassigns_a_case(cli: Run, lake_alerts: None) -> None:
    cli("cases", "ingest-alerts", "--date", "2026-03-02")
    case_id = str(_cases(cli, "--severity", "LOW")["items"][0]["id"])
    cli("cases", "assign", case_id, "--to", "ana", "--user", "sue")
    cli("cases", "assign", case_id, "--unassign", "--user", "sue")
    assert _cases(cli, "--assignee", "-", "--severity", "LOW")["total"] == 1
