"""The demo's last step: how to open the web app and whom to sign in as.

It builds the app once over the demo's lake and case store (so a broken
configuration fails here, not in the user's browser), then prints the command that
starts the server, the URL, the top open case's address and the demo users.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

from surveillance import storage
from surveillance.cases.views import CaseFilter
from surveillance.evidence.keys import PRIVATE_KEY_FILE
from surveillance.settings import Settings

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8000


def _demo_signing_key(settings: Settings) -> Path | None:
    """The key the evidence demo step created beside the lake, if any."""
    if not storage.is_local(settings.lake_uri):
        return None
    root = Path(storage.filesystem(settings.lake_uri)[1]).parent
    key = root / "keys" / PRIVATE_KEY_FILE
    return key if key.is_file() else None


def demo_step(settings: Settings, day: dt.date) -> None:
    """Check the web app starts over the demo's data; print the URL and demo users."""
    # The demo users are the case step's (surveillance.cases.demo creates them).
    from surveillance.cases.demo import DEMO_USERS, demo_password
    from surveillance.web.app import create_app

    key = _demo_signing_key(settings)
    app = create_app(settings, https_only=False, signing_key=key)
    try:
        page = app.state.cases.list_cases(CaseFilter(status=("NEW", "IN_REVIEW")), limit=1)
    finally:
        app.state.cases.dispose()
    base = f"http://{DEMO_HOST}:{DEMO_PORT}"
    command = ["mmsurv", "serve", "--lake", settings.lake_uri, "--port", str(DEMO_PORT)]
    if key is not None:
        command += ["--signing-key", str(key)]
    print("  start the web app (Ctrl-C stops it):")
    print(f"    .venv/bin/{shlex.join(command)}")
    print(f"  then open {base}/ in a browser", end="")
    if page.items:
        print(f"; the top open case is {base}/cases/{page.items[0].id}")
    else:
        print()
    print("  sign in as (user name / password):")
    for username, role, _ in DEMO_USERS:
        print(f"    {username:<11} {demo_password(username):<26} {role}")
    print(
        "  an analyst takes a case, reads the replay and closes it with a rationale; a HIGH "
        "case then waits for the supervisor's approval; the reviewer reads and exports"
    )
