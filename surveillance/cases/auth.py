"""Users' roles, what each may do, and password hashing with Argon2id.

Roles separate duties the way a surveillance function is organised:

- ``analyst``: works cases: takes them, comments, escalates, proposes or makes
  closures of the cases assigned to them.
- ``supervisor``: everything an analyst does, on any case; assigns cases to
  anyone; approves or rejects proposed closures (never their own); reopens.
- ``reviewer``: the independent reviewer: reads everything, changes nothing,
  exports evidence.
- ``admin``: manages user accounts and reads everything; decides no case
  (account administration and case decisions stay with different people).
"""

from __future__ import annotations

import functools
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class UserRole(StrEnum):
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    WORK_OWN_CASES = "work_own_cases"
    WORK_ANY_CASE = "work_any_case"
    ASSIGN_ANY = "assign_any"
    APPROVE = "approve"
    REOPEN = "reopen"
    EXPORT = "export"
    MANAGE_USERS = "manage_users"


PERMISSIONS: dict[UserRole, frozenset[Permission]] = {
    UserRole.ANALYST: frozenset({Permission.READ, Permission.WORK_OWN_CASES}),
    UserRole.SUPERVISOR: frozenset(
        {
            Permission.READ,
            Permission.WORK_OWN_CASES,
            Permission.WORK_ANY_CASE,
            Permission.ASSIGN_ANY,
            Permission.APPROVE,
            Permission.REOPEN,
            Permission.EXPORT,
        }
    ),
    UserRole.REVIEWER: frozenset({Permission.READ, Permission.EXPORT}),
    UserRole.ADMIN: frozenset({Permission.READ, Permission.MANAGE_USERS, Permission.EXPORT}),
}

#: Roles that can be given cases to work.
CASE_WORKERS = frozenset({UserRole.ANALYST, UserRole.SUPERVISOR})


def allowed(role: str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission`` (unknown roles hold nothing)."""
    try:
        return permission in PERMISSIONS[UserRole(role)]
    except ValueError:
        return False


# argon2-cffi's defaults follow RFC 9106's second recommended option (Argon2id,
# t=3, m=64 MiB, p=4); hashes carry their own parameters, so raising them later
# keeps old hashes verifiable.
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the user name is unknown, so a wrong name costs as much
    # time as a wrong password and timing does not reveal which names exist.
    return _HASHER.hash("mmsurv: no such user")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` in PHC string format."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (``None``: no such user, still slow)."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
