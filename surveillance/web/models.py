"""Pydantic models of the web app, one per purpose.

- *Forms* validate what a browser posts (each case action carries the ``version``
  of the case the user was looking at, for optimistic locking).
- *Queries* validate the query strings of the queue and the dashboard; an empty
  field, as an HTML form sends for "any", means no filter.
- Public JSON (the replay's data) is :class:`surveillance.web.replay.ReplayData`.

The case store's own records (``surveillance.cases.views``) are what pages show;
nothing here duplicates them.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from surveillance.cases.workflow import CaseStatus, Disposition
from surveillance.contract import Family, Severity, Typology

MAX_TEXT = 10_000


def blank_to_none(value: object) -> object:
    """An empty form field (an HTML form's 'any') as None; other text stripped."""
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LoginForm(_Form):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    next: str = ""


class _CaseForm(_Form):
    version: int = Field(ge=0, description="the case version the user saw")


class AssignForm(_CaseForm):
    assignee: str = Field(min_length=1, max_length=64)


class CommentForm(_CaseForm):
    body: str = Field(min_length=1, max_length=MAX_TEXT)


class EscalateForm(_CaseForm):
    # Length rules (a rationale must say something) are the case store's: it
    # refuses with a message the page shows, so the rule lives in one place.
    rationale: str = Field(default="", max_length=MAX_TEXT)


class CloseForm(_CaseForm):
    disposition: Disposition
    rationale: str = Field(default="", max_length=MAX_TEXT)
    regulator_reference: str | None = Field(default=None, max_length=200)

    _blank = field_validator("regulator_reference", mode="before")(blank_to_none)


class ApproveForm(_CaseForm):
    pass


class ReasonForm(_CaseForm):
    """Reject a closure proposal, or reopen a closed case: both need a reason."""

    reason: str = Field(default="", max_length=MAX_TEXT)


QueueStatus = CaseStatus | Literal["OPEN"]
QueueSort = Literal["score", "date", "date_asc"]


class QueueQuery(BaseModel):
    """Filters, sort and page of the case queue (all optional)."""

    model_config = ConfigDict(extra="ignore")

    status: QueueStatus | None = None
    family: Family | None = None
    typology: Typology | None = None
    severity: Severity | None = None
    entity: str | None = Field(default=None, max_length=128)
    symbol: str | None = Field(default=None, max_length=64)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assignee: str | None = Field(default=None, max_length=64)
    sort: QueueSort = "score"
    page: int = Field(default=1, ge=1, le=100_000)

    _blank = field_validator(
        "status",
        "family",
        "typology",
        "severity",
        "entity",
        "symbol",
        "date_from",
        "date_to",
        "assignee",
        mode="before",
    )(blank_to_none)

    def params(self, **changes: object) -> dict[str, str]:
        """The non-empty query parameters, with ``changes`` applied (for page links)."""
        values = self.model_dump(mode="json") | changes
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


class DashboardQuery(BaseModel):
    """The dashboard's period (inclusive UTC days); defaults to the latest 14 days."""

    model_config = ConfigDict(extra="ignore")

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    symbol: str | None = Field(default=None, max_length=64)

    _blank = field_validator("date_from", "date_to", "symbol", mode="before")(blank_to_none)
