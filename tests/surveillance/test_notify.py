"""Failure notices reach the operator by webhook or email, and never mask the failure."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from surveillance.notify import EmailTarget, FailureNotice, WebhookTarget, send_failure_notice

NOTICE = FailureNotice(
    dag_id="nightly_surveillance",
    run_id="scheduled__2026-03-03",
    task_id="ingest",
    trading_day="2026-03-02",
    reason="data_quality",
    message="quarantined 2.1% of events, above the 0.1% threshold",
    report_uri="/lake/reports/quality/date=2026-03-02",
)


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A loopback HTTP server that records the JSON bodies posted to it."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    """A minimal loopback SMTP server that keeps the DATA of each message."""
    messages: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 test\r\n")
            while line := self.rfile.readline():
                verb = line.decode().strip().split(" ")[0].upper()
                if verb == "DATA":
                    self.wfile.write(b"354 go\r\n")
                    body = []
                    while (data := self.rfile.readline()) not in (b".\r\n", b""):
                        body.append(data.decode())
                    messages.append("".join(body))
                    self.wfile.write(b"250 ok\r\n")
                elif verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], messages
    server.shutdown()


def test_webhook_receives_the_failure_as_json(
    webhook: tuple[str, list[dict[str, object]]],
) -> None:
    url, received = webhook
    send_failure_notice(NOTICE, WebhookTarget(url))
    assert received[0]["reason"] == "data_quality"
    assert "failed at ingest" in str(received[0]["text"])


def test_email_carries_the_subject_and_the_report_location(
    smtp_server: tuple[int, list[str]],
) -> None:
    port, messages = smtp_server
    target = EmailTarget("127.0.0.1", port, "mmsurv@venue.test", ("oncall@venue.test",))
    send_failure_notice(NOTICE, target)
    mail = email.message_from_string(messages[0], policy=email.policy.default)
    assert "nightly_surveillance for 2026-03-02 failed at ingest" in mail["Subject"]
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "reports/quality/date=2026-03-02" in body


def test_an_unreachable_target_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    send_failure_notice(NOTICE, WebhookTarget("http://127.0.0.1:9/nothing", timeout_seconds=1))
    assert "could not deliver the failure notice" in caplog.text
    assert "quarantined 2.1% of events" in caplog.text
