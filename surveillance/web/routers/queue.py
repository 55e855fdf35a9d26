"""The case queue: filters, sort by score or date, pagination, counts by status."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from surveillance.cases.workflow import CaseStatus
from surveillance.contract import Family, Severity, Typology
from surveillance.web import deps, store
from surveillance.web.models import QueueQuery

router = APIRouter()

CHOICES = {
    "status": [s.value for s in CaseStatus],
    "family": [f.value for f in Family],
    "typology": [t.value for t in Typology],
    "severity": [s.value for s in Severity],
}


@router.get("/cases", name="queue")
def queue(
    request: Request,
    query: Annotated[QueueQuery, Query()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
    web: deps.WebDep,
) -> Response:
    page = store.list_cases(cases, query, me=user.username, page_size=web.page_size)
    base = str(request.url_for("queue"))

    def page_url(number: int) -> str:
        return f"{base}?{urlencode(query.params(page=number))}"

    return deps.render(
        request,
        "queue.html",
        {
            "nav": "queue",
            "f": query,
            "page": page,
            "page_url": page_url,
            "choices": CHOICES,
            "workers": store.case_workers(cases),
        },
    )
