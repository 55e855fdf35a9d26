"""The documentation covers every setting; the demo step turns alerts into a queue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from surveillance import storage
from surveillance.cases import CasesConfig, CaseStore
from surveillance.cases.demo import DEMO_USERS, demo_password, demo_step
from surveillance.settings import resolve

DOC = Path(__file__).parents[3] / "docs" / "cases.md"


@pytest.mark.parametrize("key", sorted(CasesConfig.model_fields))
def test_every_setting_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC.read_text()


def test_the_demo_step_prints_the_queue_and_users(
    tmp_path: Path, alerts: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    day = dt.date(2026, 3, 2)
    settings = resolve(lake=str(tmp_path / "lake"), db_url=f"sqlite:///{tmp_path / 'demo.db'}")
    storage.write_partition(
        alerts.table([alerts.row(0, severity="HIGH")]), settings.lake.alerts(day)
    )
    demo_step(settings, day)
    out = capsys.readouterr().out
    assert "case queue (top 1 of 1 open" in out and "FR_TRADING_AHEAD" in out
    assert all(demo_password(name) in out for name, _, _ in DEMO_USERS)


def test_demo_users_sign_in_with_the_printed_passwords(tmp_path: Path, alerts: Any) -> None:
    day = dt.date(2026, 3, 2)
    settings = resolve(lake=str(tmp_path / "lake"), db_url=f"sqlite:///{tmp_path / 'demo.db'}")
    storage.write_partition(alerts.table([alerts.row(0)]), settings.lake.alerts(day))
    demo_step(settings, day)
    demo_step(settings, day)  # a second run keeps the users it created
    with CaseStore(settings.db_url) as store:
        roles = {store.authenticate(n, demo_password(n)).role for n, _, _ in DEMO_USERS}
    assert roles == {"admin", "analyst", "supervisor", "reviewer"}
