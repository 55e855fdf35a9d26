"""The case store's tables as SQLAlchemy 2 models.

The migrations under ``surveillance/cases/migrations`` create exactly these
tables (a test compares them); the models are what the service layer reads and
writes. Users are referenced by user name rather than a surrogate id so that a
case row and an audit entry read the same way years later. The audit trail is
two tables: ``audit_entries`` (append-only, hash-chained) and ``audit_head``
(one row: the last sequence number and hash, the lock every writer takes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime stored as naive UTC, identically on SQLite and PostgreSQL.

    SQLite has no time zones; storing naive UTC everywhere keeps comparisons and
    sorting the same on both databases.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the case store stores UTC only")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    family: Mapped[str] = mapped_column(String(32))
    typology: Mapped[str] = mapped_column(String(40))
    typologies: Mapped[list[str]] = mapped_column(JSON)
    entity_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64))
    account_ids: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(8))
    severity_rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    alert_count: Mapped[int] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("users.username"), nullable=True
    )
    disposition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    disposition_rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    regulator_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("users.username"), nullable=True
    )
    approved_by: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("users.username"), nullable=True
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    proposed_disposition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    proposed_rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    proposed_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    proposed_by: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("users.username"), nullable=True
    )
    proposed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    follows_case_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("cases.id"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's API)
    __table_args__ = (Index("ix_cases_grouping", "entity_id", "symbol", "family"),)


class Alert(Base):
    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id"), index=True)
    family: Mapped[str] = mapped_column(String(32))
    typology: Mapped[str] = mapped_column(String(40))
    detector: Mapped[str] = mapped_column(String(200))
    symbol: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    entity_id: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    order_ids: Mapped[list[str]] = mapped_column(JSON)
    trade_ids: Mapped[list[str]] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text)
    detector_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    features: Mapped[str | None] = mapped_column(Text, nullable=True)
    day: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(64), ForeignKey("users.username"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One audit entry. Text columns hold canonical JSON so the hash covers what is stored."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's head: the row every writer locks, and a check against truncation."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
