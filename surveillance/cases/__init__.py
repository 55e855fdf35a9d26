"""The case store: alerts become cases with a workflow, roles and a tamper-evident audit trail.

Public API (see ``docs/cases.md``):

- :func:`create_cases` (the pipeline stage) and :class:`CaseResult`;
- :class:`CaseStore`, the service layer the CLI, the web app and the evidence
  packs call, with its records (``views``) and typed errors (``errors``);
- :func:`upgrade`, which brings a database to the newest schema.
"""

from __future__ import annotations

from surveillance.cases.audit import ChainVerdict
from surveillance.cases.auth import Permission, UserRole
from surveillance.cases.config import CasesConfig
from surveillance.cases.db import upgrade
from surveillance.cases.errors import (
    AuditChainBroken,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    WorkflowError,
)
from surveillance.cases.stage import CaseResult, create_cases
from surveillance.cases.store import CaseStore, IngestSummary
from surveillance.cases.views import (
    AlertView,
    AuditEntryView,
    CaseDetail,
    CaseFilter,
    CasePage,
    CaseSummary,
    CommentView,
    UserView,
)
from surveillance.cases.workflow import CaseStatus, Disposition

__all__ = [
    "AlertView",
    "AuditChainBroken",
    "AuditEntryView",
    "AuthenticationError",
    "CaseDetail",
    "CaseFilter",
    "CasePage",
    "CaseResult",
    "CaseStatus",
    "CaseStore",
    "CaseSummary",
    "CasesConfig",
    "ChainVerdict",
    "CommentView",
    "ConflictError",
    "Disposition",
    "IngestSummary",
    "NotFoundError",
    "Permission",
    "PermissionDenied",
    "UserRole",
    "UserView",
    "WorkflowError",
    "create_cases",
    "upgrade",
]
