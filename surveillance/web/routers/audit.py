"""The audit trail: every recorded change in chain order, and a check of its hash chain.

Everyone signed in may read it (reviewers above all). Verifying walks the whole
chain, so it runs only when asked (a GET: it changes nothing).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from surveillance.web import deps
from surveillance.web.models import blank_to_none
from surveillance.web.routers.cases import history_detail

router = APIRouter()

PAGE = 100


class AuditQuery(BaseModel):
    """Which entries to list: after a sequence number, optionally one actor's; verify or not."""

    model_config = ConfigDict(extra="ignore")

    after: int = Field(default=0, ge=0)
    actor: str | None = Field(default=None, max_length=64)
    verify: bool = False

    _blank = field_validator("actor", mode="before")(blank_to_none)


@router.get("/audit", name="audit")
def audit(
    request: Request,
    query: Annotated[AuditQuery, Query()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    entries = cases.audit_entries(actor=query.actor, after_seq=query.after, limit=PAGE + 1)
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    verdict = cases.verify_chain() if query.verify else None
    return deps.render(
        request,
        "audit.html",
        {
            "nav": "audit",
            "q": query,
            "entries": entries,
            "next_after": entries[-1].seq if more and entries else None,
            "verdict": verdict,
            "history_detail": history_detail,
        },
    )
