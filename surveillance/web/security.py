"""Session secret, CSRF tokens and sign-in throttling for the web app.

The session lives in a signed cookie (Starlette's ``SessionMiddleware``); its key
is read from ``MMSURV_WEB_SECRET`` or, failing that, generated once and kept in a
file beside the lake (readable by its owner only), so restarting the server does
not sign everyone out and two servers on one lake agree.

Sign-in attempts are throttled per user name and per client address: after too
many failures inside a window, further attempts are refused for a lockout period
without even checking the password, so guessing is slow and a locked-out attacker
learns nothing. The counters live in the server process (one per server); that is
enough to stop online guessing against one server, and a multi-server deployment
puts the same limit in its reverse proxy.
"""

from __future__ import annotations

import hmac
import math
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from surveillance.errors import ConfigError
from surveillance.storage import filesystem

ENV_SECRET = "MMSURV_WEB_SECRET"
SECRET_FILE_NAME = "mmsurv-web-secret"
#: A key shorter than this is refused: it could be guessed offline from one cookie.
MIN_SECRET_LENGTH = 32
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_SESSION_KEY = "csrf"


def secret_path(lake_uri: str) -> Path:
    """The file beside the lake that keeps the generated session key.

    Like the default SQLite case store, it sits in the lake's parent folder; a lake
    on object storage has no local parent, so the working directory is used (such
    deployments set ``MMSURV_WEB_SECRET``).
    """
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        return Path.cwd() / SECRET_FILE_NAME
    _, path = filesystem(lake_uri)
    return Path(path).parent / SECRET_FILE_NAME


def session_secret(lake_uri: str) -> str:
    """The key that signs session cookies: from the environment, else from the file.

    Raises
    ------
    ConfigError
        If ``MMSURV_WEB_SECRET`` or the stored file holds fewer than 32 characters.
    """
    value = os.environ.get(ENV_SECRET)
    if value is not None:
        if len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"environment variable {ENV_SECRET}: must hold at least {MIN_SECRET_LENGTH} "
                f"characters, found {len(value)}; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return value
    path = secret_path(lake_uri)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two servers starting together must not overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    stored = path.read_text().strip()
    if len(stored) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"session key file {path}: must hold at least {MIN_SECRET_LENGTH} characters, "
            f"found {len(stored)}; delete it to have a new one generated"
        )
    return stored


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the session's token with the one a request sent."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class _Track:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@dataclass(frozen=True)
class Lockout:
    """Why a sign-in attempt is refused before the password is checked."""

    scope: str  # "user" or "address"
    retry_after_s: int

    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        what = "this user name" if self.scope == "user" else "your address"
        return (
            f"Too many failed sign-ins for {what}. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}, or ask an administrator to check the account."
        )


class LoginThrottle:
    """Counts failed sign-ins per user name and per client address; locks out on excess.

    Parameters
    ----------
    max_per_user, max_per_address
        Failures inside ``window_s`` that trigger a lockout of that user name or address.
    window_s
        Seconds a failure is remembered.
    lockout_s
        Seconds a locked-out user name or address is refused.
    clock
        Monotonic time source; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        max_per_user: int,
        max_per_address: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_user = max_per_user
        self.max_per_address = max_per_address
        self.window_s = window_s
        self.lockout_s = lockout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tracks: dict[tuple[str, str], _Track] = {}

    @staticmethod
    def _user_key(username: str) -> tuple[str, str]:
        # Case-folded so that "Alice" and "alice" share one budget.
        return ("user", username.strip().casefold())

    def check(self, username: str, address: str) -> Lockout | None:
        """The lockout in force for this attempt, or None when it may proceed."""
        now = self._clock()
        with self._lock:
            for key in (self._user_key(username), ("address", address)):
                track = self._tracks.get(key)
                if track is not None and track.locked_until > now:
                    return Lockout(key[0], math.ceil(track.locked_until - now))
        return None

    def failure(self, username: str, address: str) -> None:
        """Record a failed attempt; lock the user name or address out when over its limit."""
        now = self._clock()
        with self._lock:
            for key, limit in (
                (self._user_key(username), self.max_per_user),
                (("address", address), self.max_per_address),
            ):
                track = self._tracks.setdefault(key, _Track())
                while track.failures and track.failures[0] <= now - self.window_s:
                    track.failures.popleft()
                track.failures.append(now)
                if len(track.failures) >= limit:
                    track.locked_until = now + self.lockout_s
                    track.failures.clear()

    def success(self, username: str) -> None:
        """Forget the user name's failures (the address keeps its count: it may be guessing
        other names)."""
        with self._lock:
            self._tracks.pop(self._user_key(username), None)
