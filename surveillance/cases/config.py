"""The ``[cases]`` configuration section: how alerts group into cases and workflow limits."""

from __future__ import annotations

from pydantic import Field

from surveillance.config import SectionModel
from surveillance.contract import Severity


class CasesConfig(SectionModel):
    """Settings of the case store.

    The defaults are the packaged defaults; a configuration file states only what
    it changes, for example ``[cases]`` ``grouping_gap_seconds = 3600``.
    """

    grouping_gap_seconds: float = Field(
        900.0,
        ge=0,
        description="An alert joins a case of the same entity, symbol and family when its "
        "window starts no later than this many seconds after the case's window ends (or "
        "ends no earlier than this many seconds before it starts). 0 groups only "
        "overlapping or touching windows.",
    )
    four_eyes_severities: tuple[Severity, ...] = Field(
        (Severity.HIGH,),
        description="Closing a case of one of these severities needs a second supervisor's "
        "approval (ESCALATED cases always do).",
    )
    min_rationale_chars: int = Field(
        10,
        ge=1,
        description="Least length of a rationale (escalate, close) or reason (reopen, reject), "
        "so that 'ok' cannot stand in for a reason a regulator can read.",
    )
    password_min_length: int = Field(12, ge=8, description="Least length of a user's password.")
