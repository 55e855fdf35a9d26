"""The initial case store: users, cases, alerts, comments and the audit trail.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22

The audit table is append-only on both databases: a trigger refuses UPDATE and
DELETE (and TRUNCATE on PostgreSQL). The application never issues them; the
triggers stop anyone else with ordinary table privileges from doing so quietly.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The hash a chain's first entry points back to.
GENESIS = "0" * 64

_PG_FUNCTION = """
CREATE FUNCTION mmsurv_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("typology", sa.String(40), nullable=False),
        sa.Column("typologies", sa.JSON(), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("disposition", sa.String(32), nullable=True),
        sa.Column("disposition_rationale", sa.Text(), nullable=True),
        sa.Column("regulator_reference", sa.String(200), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("proposed_disposition", sa.String(32), nullable=True),
        sa.Column("proposed_rationale", sa.Text(), nullable=True),
        sa.Column("proposed_reference", sa.String(200), nullable=True),
        sa.Column("proposed_by", sa.String(64), nullable=True),
        sa.Column("proposed_at", sa.DateTime(), nullable=True),
        sa.Column("follows_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.ForeignKeyConstraint(["assignee"], ["users.username"], name="fk_cases_assignee_users"),
        sa.ForeignKeyConstraint(["closed_by"], ["users.username"], name="fk_cases_closed_by_users"),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.username"], name="fk_cases_approved_by_users"
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["users.username"], name="fk_cases_proposed_by_users"
        ),
        sa.ForeignKeyConstraint(
            ["follows_case_id"], ["cases.id"], name="fk_cases_follows_case_id_cases"
        ),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_window_start", "cases", ["window_start"])
    op.create_index("ix_cases_grouping", "cases", ["entity_id", "symbol", "family"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("typology", sa.String(40), nullable=False),
        sa.Column("detector", sa.String(200), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=True),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("trade_ids", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("detector_version", sa.String(64), nullable=True),
        sa.Column("params_hash", sa.String(64), nullable=True),
        sa.Column("features", sa.Text(), nullable=True),
        sa.Column("day", sa.String(10), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_alerts_case_id_cases"),
    )
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"])
    op.create_index("ix_alerts_day", "alerts", ["day"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_comments_case_id_cases"),
        sa.ForeignKeyConstraint(["author"], ["users.username"], name="fk_comments_author_users"),
    )
    op.create_index("ix_comments_case_id", "comments", ["case_id"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
        sa.UniqueConstraint("hash", name="uq_audit_entries_hash"),
    )
    op.create_index("ix_audit_entries_case_id", "audit_entries", ["case_id"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.execute(sa.text(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')"))

    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(_PG_FUNCTION))
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE "
                "ON audit_entries FOR EACH ROW EXECUTE FUNCTION mmsurv_audit_append_only()"
            )
        )
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE "
                "ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION mmsurv_audit_append_only()"
            )
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                sa.text(
                    f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} "
                    "ON audit_entries BEGIN "
                    f"SELECT RAISE(ABORT, 'audit_entries is append-only: {verb} refused'); END"
                )
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP TRIGGER audit_entries_no_truncate ON audit_entries"))
        op.execute(sa.text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
        op.execute(sa.text("DROP FUNCTION mmsurv_audit_append_only()"))
    else:
        op.execute(sa.text("DROP TRIGGER audit_entries_no_update"))
        op.execute(sa.text("DROP TRIGGER audit_entries_no_delete"))
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
    op.drop_table("comments")
    op.drop_table("alerts")
    op.drop_table("cases")
    op.drop_table("users")
