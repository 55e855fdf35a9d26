"""Typed errors of the case store, each with the CLI exit code it maps to.

The CLI and the web app catch these and show the message as is: each one says
what was refused, why, and what to do instead.
"""

from __future__ import annotations

from surveillance.errors import InputError, SurveillanceError


class CaseStoreError(SurveillanceError):
    """Base of the case store's errors (exit 1)."""

    reason = "case_store"


class NotFoundError(InputError):
    """A case, alert or user that does not exist was named (exit 2)."""

    reason = "not_found"


class AuthenticationError(InputError):
    """Unknown user, wrong password or disabled account (exit 2).

    The message never says which of the three it was, so it cannot be used to
    discover user names.
    """

    reason = "authentication_failed"


class PermissionDenied(CaseStoreError):
    """The acting user's role (or the four-eyes rule) does not allow the action (exit 1)."""

    reason = "permission_denied"


class WorkflowError(CaseStoreError):
    """The workflow refuses the transition; the message gives the reason (exit 1)."""

    reason = "workflow_refused"


class ConflictError(CaseStoreError):
    """Optimistic locking: the case changed since the caller read it (exit 1).

    Carries the version the caller saw and the current one so a client can reload
    and show what changed.
    """

    reason = "conflict"

    def __init__(self, message: str, *, case_id: int, expected: int, found: int) -> None:
        super().__init__(message)
        self.case_id = case_id
        self.expected = expected
        self.found = found


class AuditChainBroken(CaseStoreError):
    """``verify_chain`` found a tampered audit trail (exit 1)."""

    reason = "audit_chain_broken"
