"""The demo's case step: the day's alerts become cases; demo users to sign in with."""

from __future__ import annotations

import datetime as dt

from surveillance.cases.stage import create_cases
from surveillance.cases.store import CaseStore
from surveillance.cases.views import CaseFilter
from surveillance.settings import Settings

#: Demo accounts, one per role, with passwords printed for the demo only.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "Demo Admin"),
    ("analyst", "analyst", "Demo Analyst"),
    ("supervisor", "supervisor", "Demo Supervisor"),
    ("reviewer", "reviewer", "Demo Reviewer"),
)


def demo_password(username: str) -> str:
    """The demo password of a demo user (printed by the demo; never use in production)."""
    return f"{username}-demo-password"


def ensure_demo_users(store: CaseStore) -> list[str]:
    """Create the demo users that do not exist yet; returns the names created."""
    existing = {u.username for u in store.list_users()}
    created: list[str] = []
    for username, role, display in DEMO_USERS:
        if username in existing:
            continue
        actor = None if not existing and not created else "admin"
        store.add_user(actor, username, role, demo_password(username), display_name=display)
        created.append(username)
    return created


def demo_step(settings: Settings, day: dt.date) -> None:
    """Load the day's alerts into cases, create demo users and print the case queue."""
    result = create_cases(settings, day)
    print(f"  {result.describe()}")
    print(f"  case store {settings.db_url}")
    with CaseStore.from_settings(settings) as store:
        ensure_demo_users(store)
        page = store.list_cases(CaseFilter(status=("NEW", "IN_REVIEW", "ESCALATED")), limit=10)
        print(f"  case queue (top {len(page.items)} of {page.total} open, by score):")
        for case in page.items:
            print(
                f"    #{case.id:<4} {case.severity:<6} {case.score:5.1f}  {case.typology:<24} "
                f"{case.entity_id} {case.symbol}  {case.alert_count} alert(s)  "
                f"{case.window_start:%H:%M:%S}-{case.window_end:%H:%M:%S}"
            )
        print("  demo users (password = <name>-demo-password):")
        for username, role, _ in DEMO_USERS:
            print(f"    {username:<11} {role:<11} {demo_password(username)}")
        print(
            "  try: MMSURV_PASSWORD=analyst-demo-password mmsurv cases list --user analyst "
            "--lake " + settings.lake_uri
        )
