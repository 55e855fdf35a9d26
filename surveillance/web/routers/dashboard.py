"""The AMM conduct dashboard: quoting obligations by day, alerts by typology and outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from surveillance.days import day_range
from surveillance.errors import InputError
from surveillance.evidence.charts import Bars, bar_chart
from surveillance.web import deps, store
from surveillance.web.dashboard import ObligationDay, book_days, obligations
from surveillance.web.models import DashboardQuery

router = APIRouter()

#: Longest period one dashboard page computes (each day reads every symbol's book).
MAX_DAYS = 92
DEFAULT_DAYS = 14


def _period(query: DashboardQuery, available: list[dt.date]) -> tuple[dt.date, dt.date]:
    latest = available[-1] if available else dt.datetime.now(dt.UTC).date()
    last = query.date_to or latest
    first = query.date_from or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if query.date_from is None and available:
        # By default no empty days before the lake's first book day.
        first = max(first, min(available[0], last))
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


def _charts(rows: list[ObligationDay], counts: store.AlertCounts) -> dict[str, Markup]:
    symbols = sorted({r.symbol for r in rows})
    days = sorted({r.day for r in rows})
    labels = [d.isoformat() for d in days]
    by_key = {(r.symbol, r.day): r for r in rows}

    def series(pick: Callable[[ObligationDay], float | None]) -> dict[str, Sequence[float]]:
        out: dict[str, Sequence[float]] = {}
        for symbol in symbols:
            values = []
            for day in days:
                row = by_key.get((symbol, day))
                value = pick(row) if row is not None else None
                values.append(0.0 if value is None else float(value))
            out[symbol] = values
        return out

    uptime = bar_chart(
        "AMM obligation uptime by day (% of the day)",
        Bars(labels, series(lambda r: None if r.uptime is None else 100 * r.uptime)),
        y_label="%",
        value_format="{:.1f}",
    )
    spread = bar_chart(
        "AMM quoted spread by day (bps, time-weighted)",
        Bars(labels, series(lambda r: r.amm_spread_bps)),
        y_label="bps",
        value_format="{:.2f}",
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
        "uptime": Markup(uptime),
        "spread": Markup(spread),
        "typology": Markup(typology),
        "outcome": Markup(outcome),
    }
