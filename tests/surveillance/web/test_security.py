"""Sign-in throttling and the session key, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.errors import ConfigError
from surveillance.web.security import LoginThrottle, secret_path, session_secret


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(
        max_per_user=3, max_per_address=10, window_s=60, lockout_s=300, clock=clock
    )


def test_lockout_ends_after_the_lockout_period() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(3):
        throttle.failure("Ana", "10.0.0.1")
    assert throttle.check("ana", "10.0.0.2") is not None  # user names are case-folded
    clock.now += 301
    assert throttle.check("ana", "10.0.0.2") is None


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(2):
        throttle.failure("ana", "10.0.0.1")
    clock.now += 61
    throttle.failure("ana", "10.0.0.1")
    assert throttle.check("ana", "10.0.0.1") is None


def test_success_clears_the_users_failures() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(2):
        throttle.failure("ana", "10.0.0.1")
    throttle.success("ana")
    throttle.failure("ana", "10.0.0.1")
    assert throttle.check("ana", "10.0.0.1") is None


def test_session_key_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MMSURV_WEB_SECRET", raising=False)
    lake = str(tmp_path / "lake")
    first = session_secret(lake)
    assert session_secret(lake) == first
    assert secret_path(lake).stat().st_mode & 0o077 == 0


def test_short_session_key_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_WEB_SECRET", "too-short")
    with pytest.raises(ConfigError, match="MMSURV_WEB_SECRET: must hold at least 32"):
        session_secret(str(tmp_path / "lake"))
