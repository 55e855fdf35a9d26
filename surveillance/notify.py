"""Telling people that the nightly run failed: a log line always, a webhook or an email when set.

The scheduler's failure callback gathers what failed into a :class:`FailureNotice`
and hands it here with the delivery target it found (an Airflow connection, in
the DAG). Nothing here imports Airflow, so the same notice can be sent from the CLI
or a test.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from dataclasses import asdict, dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureNotice:
    """What an on-call operator needs to act on a failed run."""

    dag_id: str
    run_id: str
    task_id: str
    trading_day: str | None
    reason: str
    message: str
    report_uri: str | None = None

    @property
    def subject(self) -> str:
        day = f" for {self.trading_day}" if self.trading_day else ""
        return f"[mm-surveillance] {self.dag_id}{day} failed at {self.task_id}: {self.reason}"

    def body(self) -> str:
        lines = [self.subject, "", self.message]
        if self.report_uri:
            lines += ["", f"Data-quality report: {self.report_uri}"]
        lines += ["", f"Run: {self.run_id}"]
        return "\n".join(lines)


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class EmailTarget:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def send_failure_notice(
    notice: FailureNotice, target: WebhookTarget | EmailTarget | None = None
) -> None:
    """Log the failure loudly and deliver it to ``target`` when one is configured.

    Delivery problems are logged, never raised: a broken mail server must not hide
    the original failure from the scheduler.
    """
    log.error("%s\n%s", notice.subject, notice.message)
    if target is None:
        return
    try:
        if isinstance(target, WebhookTarget):
            _post_webhook(notice, target)
        else:
            _send_email(notice, target)
    except OSError as exc:
        log.error("could not deliver the failure notice to %s: %s", target, exc)


def _post_webhook(notice: FailureNotice, target: WebhookTarget) -> None:
    payload = {"text": notice.subject, **asdict(notice)}
    request = urllib.request.Request(
        target.url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=target.timeout_seconds) as response:
        response.read()


def _send_email(notice: FailureNotice, target: EmailTarget) -> None:
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message.set_content(notice.body())
    with smtplib.SMTP(target.host, target.port, timeout=10) as smtp:
        if target.starttls:
            smtp.starttls()
        if target.username:
            smtp.login(target.username, target.password or "")
        smtp.send_message(message)
