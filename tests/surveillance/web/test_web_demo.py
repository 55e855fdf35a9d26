"""The demo's web step: it starts the app over the demo's data and says how to sign in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from surveillance.web.demo import demo_step


def test_demo_step_prints_the_url_the_top_case_and_the_users(
    web_env: Any, h: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_step(web_env.settings, dt.date(2026, 3, 2))
    out = capsys.readouterr().out
    assert f"mmsurv serve --lake {web_env.settings.lake_uri}" in out
    assert f"http://127.0.0.1:8000/cases/{h.case_id('FR_TRADING_AHEAD')}" in out
    assert "analyst-demo-password" in out and "reviewer" in out
