"""Route tests of the web app against a real case store (SQLite file) and a small lake."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from markupsafe import escape

from surveillance.web import create_app
from surveillance.web.config import WebConfig

Client = Callable[[str | None], TestClient]
HIGH = "FR_TRADING_AHEAD"
MEDIUM = "SM_QUOTE_FADE"
PASSWORD = "correct horse battery"


def _post(client: TestClient, url: str, page_url: str, **data: Any) -> Any:
    """Post a form as the page at ``page_url`` would (its CSRF token and case version)."""
    page = client.get(page_url).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    fields = {"csrf_token": token.group(1), **data}
    if "version" not in fields:
        version = re.search(r'name="version" value="(\d+)"', page)
        fields["version"] = version.group(1) if version else "0"
    return client.post(url, data=fields)


# ----------------------------------------------------------------------------- sign-in


def test_anonymous_page_redirects_to_sign_in(client_for: Client) -> None:
    response = client_for(None).get("/cases?severity=HIGH")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fseverity%3DHIGH"


def test_wrong_password_is_refused_without_saying_which_part(client_for: Client, h: Any) -> None:
    client = client_for(None)
    token = h.csrf(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "ana", "password": "nope-nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "user name or password is wrong" in response.text
    assert client.get("/cases").status_code == 303


def test_sign_in_redirects_only_to_a_local_path(client_for: Client, h: Any) -> None:
    client = client_for(None)
    token = h.csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
    )
    assert response.headers["location"] == "/cases"


def test_user_is_locked_out_after_repeated_failures(web_env: Any, h: Any) -> None:
    app = create_app(web_env.settings, config=WebConfig(login_max_failures_per_user=2))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        token = h.csrf(client.get("/login").text)
        for _ in range(2):
            client.post(
                "/login", data={"username": "ana", "password": "wrong", "csrf_token": token}
            )
        response = client.post(
            "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token}
        )
    app.state.cases.dispose()
    assert response.status_code == 429
    assert "Too many failed sign-ins for this user name" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_client_address_is_locked_out_across_user_names(web_env: Any, h: Any) -> None:
    app = create_app(
        web_env.settings,
        config=WebConfig(login_max_failures_per_address=2, login_max_failures_per_user=10),
        https_only=False,
    )
    with TestClient(app, follow_redirects=False) as client:
        token = h.csrf(client.get("/login").text)
        for name in ("x1", "x2"):
            client.post("/login", data={"username": name, "password": "bad", "csrf_token": token})
        response = client.post(
            "/login", data={"username": "bob", "password": PASSWORD, "csrf_token": token}
        )
    app.state.cases.dispose()
    assert response.status_code == 429
    assert "your address" in response.text


def test_disabled_user_is_signed_out_at_once(client_for: Client, web_env: Any) -> None:
    client = client_for("ana")
    assert client.get("/cases").status_code == 200
    store = web_env.store
    store.disable_user("root", "ana")
    store.dispose()
    response = client.get("/cases")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_sign_out_ends_the_session(client_for: Client) -> None:
    client = client_for("ana")
    _post(client, "/logout", "/cases")
    assert client.get("/cases").status_code == 303


def test_session_cookie_is_http_only_and_secure_by_default(web_env: Any, h: Any) -> None:
    app = create_app(web_env.settings)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = client.get("/login")
    app.state.cases.dispose()
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


# ----------------------------------------------------------------------------- CSRF


def test_post_without_csrf_token_is_refused_and_changes_nothing(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    client = client_for("sue")
    response = client.post(
        f"/cases/{case_id}/assign", data={"assignee": "sue", "version": h.case(case_id).version}
    )
    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert h.case(case_id).assignee is None


def test_post_with_another_sessions_token_is_refused(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    other_token = h.csrf(client_for("bob").get("/cases").text)
    response = client_for("sue").post(
        f"/cases/{case_id}/assign",
        data={"assignee": "sue", "version": h.case(case_id).version, "csrf_token": other_token},
    )
    assert response.status_code == 403
    assert h.case(case_id).assignee is None


def test_every_state_changing_route_demands_the_csrf_token(app: Any, client_for: Client) -> None:
    client = client_for("sue")
    posts = [
        r.path.replace("{case_id}", "1")
        for r in app.routes
        if isinstance(r, APIRoute) and r.methods & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert len(posts) >= 9
    refused = {p: client.post(p, data={"version": "1"}).status_code for p in posts}
    assert refused == dict.fromkeys(posts, 403)


def test_sign_in_form_needs_the_csrf_token(client_for: Client) -> None:
    response = client_for(None).post("/login", data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 403


# ----------------------------------------------------------------------------- queue


def test_queue_filters_by_severity_with_counts(client_for: Client, h: Any) -> None:
    page = client_for("ana").get("/cases?severity=HIGH").text
    rows = re.findall(r'href="/cases/(\d+)">#', page)
    assert rows == [str(h.case_id(HIGH))]
    assert "<b>1</b> case match" in page


def test_queue_sorts_by_score_or_date(client_for: Client, h: Any) -> None:
    client = client_for("ana")
    by_score = re.findall(r'href="/cases/(\d+)">#', client.get("/cases?sort=score").text)
    by_date = re.findall(r'href="/cases/(\d+)">#', client.get("/cases?sort=date_asc").text)
    low_late = h.case_id("PT_PRIORITY_BREACH")
    assert by_score[0] == str(h.case_id(HIGH))
    assert by_date[-1] == str(low_late)
    assert by_score.index(str(low_late)) == 2


def test_queue_filters_by_entity_symbol_date_and_assignee(client_for: Client, h: Any) -> None:
    client = client_for("ana")
    page = client.get(
        "/cases?entity=AMM-GROUP&symbol=ETH-USDT&date_from=2026-03-02&date_to=2026-03-02"
    ).text
    assert "<b>2</b> cases match" in page
    assert "<b>0</b> cases match" in client.get("/cases?date_from=2026-03-03").text
    assert "<b>0</b> cases match" in client.get("/cases?assignee=me").text
    assert "<b>4</b> cases match" in client.get("/cases?assignee=none").text


def test_queue_paginates(web_env: Any, h: Any) -> None:
    app = create_app(web_env.settings, config=WebConfig(page_size=5), https_only=False)
    store = app.state.cases
    from surveillance.contract import Alerts

    extra = Alerts.from_pylist(
        [
            {
                "alert_id": f"extra-{i}",
                "family": "MARKET_INTEGRITY",
                "typology": "MI_WASH_TRADE",
                "detector": "rule:test",
                "symbol": f"SYM{i}-USDT",
                "account_id": "AMM-1",
                "entity_id": "AMM-GROUP",
                "window_start": h.case(1).window_start,
                "window_end": h.case(1).window_end,
                "score": 10.0 + i,
                "severity": "LOW",
                "order_ids": [],
                "trade_ids": [],
                "explanation": "wash",
            }
            for i in range(3)
        ]
    )
    store.ingest_alerts(extra)
    with TestClient(app, follow_redirects=False) as client:
        token = h.csrf(client.get("/login").text)
        client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token})
        first = client.get("/cases").text
        second = client.get("/cases?page=2").text
    store.dispose()
    assert len(re.findall(r'href="/cases/(\d+)">#', first)) == 5
    assert len(re.findall(r'href="/cases/(\d+)">#', second)) == 2
    assert "Page 2 of 2" in second


def test_queue_refuses_an_unknown_filter_value_plainly(client_for: Client) -> None:
    response = client_for("ana").get("/cases?severity=CRITICAL")
    assert response.status_code == 400
    assert "severity" in response.text
    assert "Traceback" not in response.text


# ----------------------------------------------------------------------------- case page


def test_case_page_shows_explanation_alerts_features_and_history(
    client_for: Client, h: Any
) -> None:
    case_id = h.case_id(HIGH)
    page = client_for("ana").get(f"/cases/{case_id}").text
    assert "The AMM sold ahead of a large client buy" in page
    assert "amm_volume_ahead" in page and "5.00×" in page
    assert "case.created" in page
    assert 'data-src="/cases/' in page


def test_replay_data_has_book_and_the_cases_events(client_for: Client, h: Any) -> None:
    case_id = h.case_id(HIGH)
    data = client_for("ana").get(f"/cases/{case_id}/replay.json").json()
    book_rows = sum(1 for b in data["bid"] if b is not None)
    amm = [p for p in data["events"]["amm_order"] if p is not None]
    fills = [p for p in data["events"]["client_fill"] if p is not None]
    assert book_rows > 20 and amm and fills
    assert data["range"][0] < data["flag"][0] < data["flag"][1] < data["range"][1]
    named = [info for info, flag in zip(data["info"], data["in_case"], strict=True) if flag]
    assert any("order A24" in text for text in named)


def test_unknown_case_is_a_plain_not_found(client_for: Client) -> None:
    response = client_for("ana").get("/cases/9999")
    assert response.status_code == 404
    assert "case 9999 does not exist" in response.text


def test_unexpected_error_shows_a_reference_not_a_traceback(app: Any, client_for: Client) -> None:
    from surveillance.web import deps

    def broken() -> None:
        raise RuntimeError("database exploded at line 42")

    app.dependency_overrides[deps.get_store] = broken
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    response = client.get("/login")  # no store needed: still fine
    assert response.status_code == 200
    with client:
        response = client.get("/cases")
    assert response.status_code == 500
    assert "Reference for the administrator" in response.text
    assert "exploded" not in response.text and "Traceback" not in response.text


def test_pages_carry_a_strict_content_security_policy(client_for: Client) -> None:
    response = client_for("ana").get("/cases")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_vendored_chart_library_is_served_locally(client_for: Client) -> None:
    response = client_for(None).get("/static/vendor/uplot/uPlot.iife.min.js")
    assert response.status_code == 200
    assert "uPlot" in response.text[:5000]


# ----------------------------------------------------------------------------- workflow


def test_analyst_takes_and_closes_a_medium_case(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    client = client_for("ana")
    url = f"/cases/{case_id}"
    assert _post(client, f"{url}/assign", url, assignee="ana").status_code == 303
    response = _post(
        client,
        f"{url}/close",
        url,
        disposition="FALSE_POSITIVE",
        rationale="The client order was a market order sent after the cancel was acknowledged.",
    )
    assert response.status_code == 303
    assert "closed as FALSE_POSITIVE" in client.get(url).text
    assert h.case(case_id).status == "CLOSED"


def test_high_case_needs_a_second_persons_approval(client_for: Client, h: Any) -> None:
    case_id = h.case_id(HIGH)
    url = f"/cases/{case_id}"
    ana = client_for("ana")
    _post(ana, f"{url}/assign", url, assignee="ana")
    _post(
        ana,
        f"{url}/close",
        url,
        disposition="NO_FURTHER_ACTION",
        rationale="Volume ahead came from an unrelated hedge booked the day before.",
    )
    assert h.case(case_id).status == "IN_REVIEW"
    assert h.case(case_id).proposal is not None
    sue = client_for("sue")
    assert "Approve closure" in sue.get(url).text
    assert _post(sue, f"{url}/approve", url).status_code == 303
    closed = h.case(case_id)
    assert (closed.status, closed.approved_by) == ("CLOSED", "sue")
    assert "proposed rationale: Volume ahead came from an unrelated hedge" in sue.get(url).text


def test_supervisor_cannot_approve_their_own_proposal(client_for: Client, h: Any) -> None:
    case_id = h.case_id(HIGH)
    url = f"/cases/{case_id}"
    sue = client_for("sue")
    _post(sue, f"{url}/assign", url, assignee="sue")
    _post(
        sue,
        f"{url}/close",
        url,
        disposition="NO_FURTHER_ACTION",
        rationale="Volume ahead came from an unrelated hedge booked the day before.",
    )
    page = sue.get(url).text
    assert "Approve closure" not in page
    response = _post(sue, f"{url}/approve", url)
    assert response.status_code == 403
    assert "four eyes" in response.text
    assert h.case(case_id).status == "IN_REVIEW"


def test_closing_without_rationale_is_refused_with_the_reason(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    url = f"/cases/{case_id}"
    client = client_for("ana")
    _post(client, f"{url}/assign", url, assignee="ana")
    response = _post(client, f"{url}/close", url, disposition="FALSE_POSITIVE", rationale="ok")
    assert response.status_code == 422
    assert "a rationale is required" in response.text
    assert h.case(case_id).status == "IN_REVIEW"


def test_conflicting_edit_is_refused_and_keeps_the_users_text(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    url = f"/cases/{case_id}"
    ana, sue = client_for("ana"), client_for("sue")
    stale = h.csrf(ana.get(url).text), h.case(case_id).version
    _post(ana, f"{url}/assign", url, assignee="ana")
    # Sue's page was loaded before Ana took the case: her form carries the old version.
    sue_token = h.csrf(sue.get(url).text)
    rationale = "The AMM's cancel followed a price move on the reference index."
    response = sue.post(
        f"{url}/escalate",
        data={"csrf_token": sue_token, "version": stale[1], "rationale": rationale},
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.text
    assert str(escape(rationale)) in response.text
    assert h.case(case_id).status == "IN_REVIEW"


def test_supervisor_reopens_a_closed_case_with_a_reason(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    url = f"/cases/{case_id}"
    sue = client_for("sue")
    _post(sue, f"{url}/assign", url, assignee="sue")
    _post(sue, f"{url}/close", url, disposition="FALSE_POSITIVE", rationale="Benign: see comment.")
    response = _post(sue, f"{url}/reopen", url, reason="New evidence from the venue's operator.")
    assert response.status_code == 303
    assert h.case(case_id).status == "IN_REVIEW"


def test_comment_appears_on_the_case(client_for: Client, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    url = f"/cases/{case_id}"
    client = client_for("ana")
    _post(client, f"{url}/assign", url, assignee="ana")
    assert _post(client, f"{url}/comment", url, body="Checked the gateway logs.").status_code == 303
    assert "Checked the gateway logs." in client.get(url).text


# ----------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("user", "action", "fields"),
    [
        ("rev", "assign", {"assignee": "ana"}),
        ("rev", "comment", {"body": "reviewers do not comment"}),
        ("rev", "close", {"disposition": "FALSE_POSITIVE", "rationale": "not allowed here"}),
        ("root", "assign", {"assignee": "ana"}),
        ("ana", "approve", {}),
        ("ana", "reopen", {"reason": "analysts cannot reopen"}),
        ("bob", "escalate", {"rationale": "not bob's case to escalate"}),
    ],
)
def test_role_refused_actions_change_nothing(
    client_for: Client, h: Any, user: str, action: str, fields: dict[str, str]
) -> None:
    case_id = h.case_id(MEDIUM)
    url = f"/cases/{case_id}"
    before = h.case(case_id)
    response = _post(
        client_for(user), f"{url}/{action}", "/cases", version=before.version, **fields
    )
    assert response.status_code == 403
    assert h.case(case_id) == before


def test_reviewer_sees_no_action_controls(client_for: Client, h: Any) -> None:
    page = client_for("rev").get(f"/cases/{h.case_id(HIGH)}").text
    assert 'id="read-only"' in page
    for action in ("assign", "comment", "escalate", "close", "approve", "reject", "reopen"):
        assert f'class="act-{action}"' not in page


def test_analyst_sees_only_the_actions_they_may_take(client_for: Client, h: Any) -> None:
    page = client_for("ana").get(f"/cases/{h.case_id(MEDIUM)}").text
    assert "Take this case" in page
    assert 'class="act-close"' not in page  # not theirs yet
    assert 'class="act-reopen"' not in page


def test_dashboard_shows_obligation_uptime_and_alert_counts(client_for: Client) -> None:
    page = client_for("rev").get("/dashboard?date_from=2026-03-02&date_to=2026-03-02").text
    # The AMM quotes both sides within terms from 10:00 to the end of the day: 14 of 24 h.
    assert "58.3%" in page and "below obligation" in page
    assert "FR_TRADING_AHEAD" in page and "<svg" in page


# ----------------------------------------------------------------------------- evidence


@pytest.fixture
def signed_app(web_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app with an evidence signing key, as ``mmsurv serve --signing-key`` starts it."""
    from surveillance.evidence.keys import generate_keypair

    monkeypatch.delenv("MMSURV_SIGNING_KEY", raising=False)
    keys = generate_keypair(web_env.root / "keys")
    application = create_app(web_env.settings, https_only=False, signing_key=keys.private_key)
    yield application
    application.state.cases.dispose()


def _signed_in(app: Any, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    return client


def test_reviewer_exports_a_signed_pack_and_the_export_is_audited(signed_app: Any, h: Any) -> None:
    import io
    import zipfile

    case_id = h.case_id(MEDIUM)
    client = _signed_in(signed_app, "rev")
    url = f"/cases/{case_id}"
    assert 'id="export-pack"' in client.get(url).text
    response = _post(client, f"{url}/export", url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "manifest.json" in names and "manifest.sig" in names
    assert "evidence.exported" in client.get(url).text


def test_analyst_cannot_export_evidence(signed_app: Any, h: Any) -> None:
    case_id = h.case_id(MEDIUM)
    client = _signed_in(signed_app, "ana")
    url = f"/cases/{case_id}"
    assert 'id="export-pack"' not in client.get(url).text
    assert _post(client, f"{url}/export", url).status_code == 403


def test_without_a_signing_key_export_is_not_offered(client_for: Client, h: Any) -> None:
    page = client_for("rev").get(f"/cases/{h.case_id(MEDIUM)}").text
    assert 'id="export-pack"' not in page and 'id="export-unavailable"' in page


# ----------------------------------------------------------------------------- audit trail


def test_reviewer_verifies_an_intact_audit_chain(client_for: Client) -> None:
    page = client_for("rev").get("/audit?verify=true").text
    assert "The chain is intact" in page
    assert "case.created" in page and "user.created" in page


def test_tampered_audit_entry_is_reported_on_the_audit_page(
    client_for: Client, web_env: Any
) -> None:
    import sqlite3

    with sqlite3.connect(web_env.root / "mmsurv.db") as db:
        # Someone with the database file drops the append-only trigger and edits history.
        triggers = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
        ).fetchall()
        for (name,) in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3")
    page = client_for("rev").get("/audit?verify=true").text
    assert "The chain is broken at entry #3 (edited)" in page


def test_long_window_is_thinned_and_a_zoomed_span_comes_at_full_detail(
    web_env: Any, h: Any
) -> None:
    app = create_app(
        web_env.settings,
        config=WebConfig(replay_margin_seconds=3600, replay_max_points=100),
        https_only=False,
    )
    case_id = h.case_id(HIGH)
    with TestClient(app) as client:
        token = h.csrf(client.get("/login").text)
        client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token})
        whole = client.get(f"/cases/{case_id}/replay.json").json()
        flag = whole["flag"]
        zoomed = client.get(
            f"/cases/{case_id}/replay.json", params={"start": flag[0], "end": flag[1]}
        ).json()
    app.state.cases.dispose()
    assert whole["thinned"] and "thinned" in whole["message"]
    assert sum(b is not None for b in whole["bid"]) <= 100
    assert not zoomed["thinned"]
    assert zoomed["range"] == [flag[0], flag[1]] and zoomed["full_range"] == whole["full_range"]
    assert all(flag[0] <= t <= flag[1] for t in zoomed["t"])
    assert zoomed["windows"] == [[flag[0], flag[1]]]


def test_idle_session_ends_with_a_message(
    client_for: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from surveillance.web import deps

    client = client_for("ana")
    monkeypatch.setattr(deps, "clock", lambda: time.time() + 31 * 60)
    response = client.get("/cases")
    monkeypatch.setattr(deps, "clock", time.time)
    assert response.status_code == 303
    assert "signed out after a period of inactivity" in client.get("/login").text


def test_replay_of_a_symbol_without_market_data_says_what_is_missing(
    client_for: Client, h: Any
) -> None:
    data = client_for("ana").get(f"/cases/{h.case_id('PT_PRIORITY_BREACH')}/replay.json").json()
    assert data["t"] == []
    assert "No book states for ETH-USDT on 2026-03-02: run `mmsurv book`" in data["message"]
