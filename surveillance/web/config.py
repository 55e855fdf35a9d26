"""The ``[web]`` section of the configuration file: sessions, sign-in limits, pages.

Defaults are the packaged defaults; a deployment changes only what it needs, for
example ``[web] session_idle_minutes = 15``. The values protect analysts' sessions
and bound what one page asks of the lake, so they are validated like every other
section (unknown keys refused).
"""

from __future__ import annotations

from pydantic import Field

from surveillance.config import SectionModel


class WebConfig(SectionModel):
    """Settings of the analysts' web app (``mmsurv serve``)."""

    https_only: bool | None = Field(
        default=None,
        description="Send the session cookie only over HTTPS. None (the default) means "
        "'secure unless the server listens on a loopback address', so a local demo over "
        "http://127.0.0.1 works and any other deployment needs TLS.",
    )
    session_max_hours: float = Field(
        default=10.0, gt=0, le=24 * 7, description="A session ends this long after sign-in."
    )
    session_idle_minutes: float = Field(
        default=30.0, gt=0, description="A session ends after this long without a request."
    )
    login_max_failures_per_user: int = Field(
        default=5, ge=1, description="Failed sign-ins for one user name before it is locked out."
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address (any user) before it is locked out.",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Failures older than this are forgotten."
    )
    login_lockout_minutes: float = Field(
        default=15.0, gt=0, description="How long a locked-out user name or address must wait."
    )
    page_size: int = Field(default=25, ge=5, le=500, description="Cases per queue page.")
    replay_margin_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Market replay shows this much before and after the flagged span.",
    )
    replay_max_points: int = Field(
        default=5_000,
        ge=100,
        description="Most book updates (and most other events) drawn in one replay: a few per "
        "pixel of a wide chart. Longer windows are thinned evenly (the case's own orders, "
        "cancels and fills are always kept) and zooming in fetches the zoomed span at full "
        "detail.",
    )
    replay_max_table_rows: int = Field(
        default=500, ge=10, description="Most rows in the case page's orders and trades tables."
    )
