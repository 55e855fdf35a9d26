"""Typed exceptions with reason codes and the CLI exit code each one maps to.

Exit codes follow ``shared/design/cli.md``: 1 the work failed, 2 bad usage or bad
input the user must fix, 3 input not ready yet (a scheduler may retry).
"""

from __future__ import annotations


class SurveillanceError(Exception):
    """Base of every error the pipeline raises on purpose.

    ``reason`` is a stable, machine-readable code (for logs, reports and tests);
    the message is for people and names the thing, the expectation, what was
    found and the fix.
    """

    exit_code = 1
    reason = "failure"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class InputError(SurveillanceError):
    """Bad input or usage that the user must fix; retrying will not help."""

    exit_code = 2
    reason = "bad_input"


class ContractError(InputError):
    """A file does not conform to the venue export contract.

    Carries the file, the column, what the contract expects and what was found,
    so the message can say all four.
    """

    reason = "contract_violation"

    def __init__(
        self,
        file: str,
        message: str,
        *,
        column: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.file = file
        self.column = column
        self.expected = expected
        self.found = found
        super().__init__(message, reason=reason)


class NotReadyError(SurveillanceError):
    """The input is not there yet (for example no ``_SUCCESS`` marker)."""

    exit_code = 3
    reason = "not_ready"


class DataQualityError(SurveillanceError):
    """A day failed the data-quality gate; its report says why."""

    reason = "data_quality"


class ConfigError(InputError):
    """A configuration file or value is invalid."""

    reason = "bad_config"
