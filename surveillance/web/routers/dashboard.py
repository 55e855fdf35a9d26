"""The AMM conduct dashboard: quoting obligations by day, alerts by typology and outcome."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from surveillance.days import day_range
from surveillance.errors import InputError
from surveillance.evidence.charts import Bars, Line, bar_chart, time_chart
from surveillance.web import deps, store
from surveillance.web.dashboard import book_days, obligations
from surveillance.web.models import DashboardQuery

router = APIRouter()

#: Longest period one dashboard page computes (each day reads every symbol's book).
MAX_DAYS = 92
DEFAULT_DAYS = 14


def _period(query: DashboardQuery, available: list[dt.date]) -> tuple[dt.date, dt.date]:
    latest = available[-1] if available else dt.datetime.now(dt.UTC).date()
    last = query.date_to or latest
    first = query.date_from or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InputError(f"The period {first} to {last} is empty: the end is before the start.")
    if (last - first).days + 1 > MAX_DAYS:
        raise InputError(
            f"The period {first} to {last} is {(last - first).days + 1} days; the dashboard "
            f"shows at most {MAX_DAYS}. Choose a shorter period."
        )
    return first, last


@router.get("/dashboard", name="dashboard")
def dashboard(
    request: Request,
    query: Annotated[DashboardQuery, Query()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    lake = request.app.state.settings.lake
    available = book_days(lake)
    try:
        first, last = _period(query, available)
    except InputError as exc:
        deps.flash(request, "error", str(exc))
        first, last = _period(DashboardQuery(), available)
    days = day_range(first, last)
    rows = [r for r in obligations(lake, days) if not query.symbol or r.symbol == query.symbol]
    counts = store.alert_counts(cases, days)
    charts = _charts(rows, counts)
    return deps.render(
        request,
        "dashboard.html",
        {
            "nav": "dashboard",
            "first": first,
            "last": last,
            "symbol": query.symbol or "",
            "rows": rows,
            "counts": counts,
            "charts": charts,
            "available": available,
        },
    )


def _epoch(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp()


def _charts(rows: list, counts: store.AlertCounts) -> dict[str, Markup]:
    symbols = sorted({r.symbol for r in rows})
    uptime_lines = []
    spread_lines = []
    for symbol in symbols:
        mine = [r for r in rows if r.symbol == symbol]
        xs = [_epoch(r.day) for r in mine]
        uptime_lines.append(
            Line(
                symbol,
                xs,
                [100 * r.uptime if r.uptime is not None else float("nan") for r in mine],
                step=False,
            )
        )
        spread_lines.append(
            Line(
                symbol,
                xs,
                [r.amm_spread_bps if r.amm_spread_bps is not None else float("nan") for r in mine],
                step=False,
            )
        )
    typology = bar_chart(
        "Alerts by typology",
        Bars(
            counts.days,
            {t: [counts.by_typology[d].get(t, 0) for d in counts.days] for t in counts.typologies},
            stacked=True,
        ),
        y_label="alerts",
    )
    outcome = bar_chart(
        "Alerts by case outcome (disposition, or state while open)",
        Bars(
            counts.days,
            {
                k: [counts.by_disposition[d].get(k, 0) for d in counts.days]
                for k in counts.dispositions
            },
            stacked=True,
        ),
        y_label="alerts",
    )
    return {
        "uptime": Markup(
            time_chart("AMM obligation uptime by day (%)", lines=uptime_lines, y_label="%")
        ),
        "spread": Markup(
            time_chart(
                "AMM quoted spread by day (bps, time-weighted)", lines=spread_lines, y_label="bps"
            )
        ),
        "typology": Markup(typology),
        "outcome": Markup(outcome),
    }
