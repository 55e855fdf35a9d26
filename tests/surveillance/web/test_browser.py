"""Browser tests: a person working a case end to end in headless Chromium.

The app runs under uvicorn in a thread on a free loopback port; Playwright drives
Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``) and never
downloads a browser. Screenshots go to ``test-artifacts/web/``. Outside CI a
machine without Chromium skips these tests; in CI (``CI=true``) they must run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MMSURV_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
PASSWORD = "correct horse battery"
HIGH = "FR_TRADING_AHEAD"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        app.state.cases.dispose()


@pytest.fixture
def server(web_env: Any) -> Iterator[str]:
    """The app served over the test's lake and case store; yields its base URL."""
    from surveillance.web import create_app

    with _serve(create_app(web_env.settings, https_only=False)) as base:
        yield base


@pytest.fixture
def thin_server(web_env: Any) -> Iterator[str]:
    """The app with an hour of margin and at most 100 points: every replay is thinned."""
    from surveillance.web import create_app
    from surveillance.web.config import WebConfig

    config = WebConfig(replay_margin_seconds=3600, replay_max_points=100)
    with _serve(create_app(web_env.settings, config=config, https_only=False)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (no browser download), launched once
    for the module; each test opens its own page."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases")


def _sign_out(page: Any) -> None:
    page.click("header .who button")
    page.wait_for_url("**/login")


def test_analyst_closes_and_supervisor_approves(server: str, browser: Any, h: Any) -> None:
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    _sign_in(page, server, "ana")
    page.select_option("select[name=severity]", "HIGH")
    page.click("#queue-filters button[type=submit]")
    page.wait_for_url("**severity=HIGH**")
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() == 1
    page.screenshot(path=str(ARTIFACTS / "1-queue-filtered.png"), full_page=True)

    rows.first.locator("a").click()
    page.wait_for_selector("#replay[data-rendered='1']", timeout=15_000)
    chart = page.locator("#replay")
    assert int(chart.get_attribute("data-book-points") or 0) > 20
    assert int(chart.get_attribute("data-event-points") or 0) > 5
    assert page.locator("#replay canvas").count() >= 1

    # Zoom: drag across the plot narrows the x scale.
    before = page.evaluate("() => [mmsurvReplay.scales.x.min, mmsurvReplay.scales.x.max]")
    box = page.locator("#replay .u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    after = page.evaluate("() => [mmsurvReplay.scales.x.min, mmsurvReplay.scales.x.max]")
    assert after[1] - after[0] < (before[1] - before[0]) * 0.5
    page.click("#replay-reset")
    page.screenshot(path=str(ARTIFACTS / "2-case-replay.png"), full_page=True)

    page.click(".act-assign button")
    page.wait_for_selector("text=Case assigned to ana")
    page.fill("#close-rationale", "Volume ahead was an unrelated hedge booked before the order.")
    page.select_option("#disposition", "NO_FURTHER_ACTION")
    page.click(".act-close button[type=submit]")
    page.wait_for_selector("text=waits for a supervisor's approval")
    case_url = page.url
    page.screenshot(path=str(ARTIFACTS / "3-closure-proposed.png"), full_page=True)
    _sign_out(page)

    _sign_in(page, server, "sue")
    page.goto(case_url)
    page.click(".act-approve button")
    page.wait_for_selector("text=Closure approved")
    assert page.locator("#case-status").inner_text() == "CLOSED"
    page.screenshot(path=str(ARTIFACTS / "4-approved.png"), full_page=True)
    assert not errors, errors
    assert h.case(h.case_id(HIGH)).approved_by == "sue"


def test_reviewer_reads_but_cannot_change(server: str, browser: Any, h: Any) -> None:
    case_id = h.case_id(HIGH)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _sign_in(page, server, "rev")
    page.goto(f"{server}/cases/{case_id}")
    page.wait_for_selector("#replay[data-rendered='1']", timeout=15_000)
    assert page.locator("#read-only").is_visible()
    assert page.locator("#actions form[class^='act-']:not(.act-export)").count() == 0
    page.screenshot(path=str(ARTIFACTS / "5-reviewer.png"), full_page=True)

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    version = h.case(case_id).version
    response = page.request.post(
        f"{server}/cases/{case_id}/close",
        form={
            "csrf_token": token,
            "version": str(version),
            "disposition": "FALSE_POSITIVE",
            "rationale": "A reviewer must not be able to close cases.",
        },
    )
    assert response.status == 403
    assert h.case(case_id).status == "NEW"

    page.goto(f"{server}/dashboard?date_from=2026-03-02&date_to=2026-03-02")
    page.screenshot(path=str(ARTIFACTS / "6-dashboard.png"), full_page=True)


def test_zooming_a_thinned_replay_fetches_full_detail(
    thin_server: str, browser: Any, h: Any
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _sign_in(page, thin_server, "ana")
    page.goto(f"{thin_server}/cases/{h.case_id(HIGH)}")
    chart = page.locator("#replay")
    page.wait_for_selector("#replay[data-detail='thinned']", timeout=15_000)
    thinned_points = int(chart.get_attribute("data-book-points") or 0)
    page.click("#replay-zoom-flag")
    page.wait_for_selector("#replay[data-detail='zoomed']", timeout=15_000)
    assert "every update of the zoomed span" in page.locator("#replay-note").inner_text()
    zoomed_points = int(chart.get_attribute("data-book-points") or 0)
    assert zoomed_points > 0 and zoomed_points != thinned_points
    page.screenshot(path=str(ARTIFACTS / "7-zoomed-detail.png"), full_page=False)
    page.click("#replay-reset")
    page.wait_for_selector("#replay[data-detail='thinned']", timeout=15_000)
