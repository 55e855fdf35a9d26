"""The analysts' web app (``mmsurv serve``): case queue, case pages with a market replay,
the case workflow, the AMM conduct dashboard and the reviewer's read-only view.

Public API: :func:`create_app` builds the FastAPI application for resolved settings.
"""

from __future__ import annotations

from surveillance.web.app import create_app

__all__ = ["create_app"]
