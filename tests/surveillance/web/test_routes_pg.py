"""The web app's workflow on PostgreSQL: the same routes, the other supported database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from surveillance.web import create_app

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"


@pytest.fixture
def pg_app(pg_env: Any) -> Iterator[Any]:
    """The app over the test's PostgreSQL case store."""
    app = create_app(pg_env.settings, https_only=False)
    yield app
    app.state.cases.dispose()


def _client(app: Any, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = _token(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    return client


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def _case_id(client: TestClient, typology: str) -> int:
    ids = re.findall(r'href="/cases/(\d+)">#', client.get(f"/cases?typology={typology}").text)
    assert len(ids) == 1
    return int(ids[0])


def _form(client: TestClient, url: str, action: str, **fields: str) -> Any:
    page = client.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page)
    data = {"csrf_token": _token(page), "version": version.group(1) if version else "0", **fields}
    return client.post(f"{url}/{action}", data=data)


def test_four_eyes_closure_on_postgresql(pg_app: Any) -> None:
    ana, sue = _client(pg_app, "ana"), _client(pg_app, "sue")
    url = f"/cases/{_case_id(ana, 'FR_TRADING_AHEAD')}"
    assert _form(ana, url, "assign", assignee="ana").status_code == 303
    rationale = "Volume ahead was an unrelated hedge booked before the order."
    assert (
        _form(ana, url, "close", disposition="FALSE_POSITIVE", rationale=rationale).status_code
        == 303
    )
    assert _form(sue, url, "approve").status_code == 303
    assert 'id="case-status">CLOSED' in sue.get(url).text


def test_stale_version_conflicts_on_postgresql(pg_app: Any) -> None:
    ana, sue = _client(pg_app, "ana"), _client(pg_app, "sue")
    url = f"/cases/{_case_id(ana, 'SM_QUOTE_FADE')}"
    stale_page = sue.get(url).text
    assert _form(ana, url, "assign", assignee="ana").status_code == 303
    response = sue.post(
        f"{url}/escalate",
        data={
            "csrf_token": _token(stale_page),
            "version": re.search(r'name="version" value="(\d+)"', stale_page).group(1),  # type: ignore[union-attr]
            "rationale": "Escalating on a page that is out of date.",
        },
    )
    assert response.status_code == 409


def test_reviewer_write_is_refused_on_postgresql(pg_app: Any) -> None:
    rev = _client(pg_app, "rev")
    url = f"/cases/{_case_id(rev, 'SM_QUOTE_FADE')}"
    response = _form(rev, url, "comment", body="A reviewer may not comment.")
    assert response.status_code == 403
    assert "A reviewer may not comment." not in rev.get(url).text
