"""push requests and lock-only claims

- The push run lock keeps runs apart; rows are no longer claimed one by one ("sending" and
  `claimed_until` go; rows a crashed older version left claimed are simply due again).
- A provider request's answer and Google verdict live once in `pushrequest`; sent rows point to it
  (`push_request_id`) instead of each carrying `request_id` and `verdict`.
- ix_push_due becomes partial (rows with a `next_attempt_at`): pending rows always have one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 20:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import routy_app.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DUE_WHERE = sa.text("next_attempt_at IS NOT NULL")
CHECK_WHERE = sa.text("next_check_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "pushrequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("verdict_detail", sa.Text(), nullable=True),
        sa.Column("next_check_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pushrequest", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pushrequest_check",
            ["next_check_at", "integration_id"],
            unique=False,
            sqlite_where=CHECK_WHERE,
            postgresql_where=CHECK_WHERE,
        )

    # Existing data: claimed rows are due again; pending rows always carry a time; each Google request
    # of the sent history becomes one pushrequest row holding its answer and verdict.
    op.execute("UPDATE conversionpush SET status = 'pending' WHERE status = 'sending'")
    op.execute(
        "UPDATE conversionpush SET next_attempt_at = created_at WHERE status = 'pending' AND next_attempt_at IS NULL"
    )
    op.execute(
        "INSERT INTO pushrequest (integration_id, request_id, response, verdict, next_check_at, sent_at) "
        "SELECT integration_id, request_id, MIN(provider_response), MIN(verdict), "
        "MIN(CASE WHEN verdict IS NULL OR verdict = 'processing' THEN next_attempt_at END), MIN(sent_at) "
        "FROM conversionpush WHERE status = 'sent' AND request_id IS NOT NULL "
        "GROUP BY integration_id, request_id"
    )

    with op.batch_alter_table("conversionpush", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_request_id", sa.Integer(), nullable=True))  # no FK: see models

    # The lookup below runs once per sent row: index it for the migration (requests ~ rows in old data).
    op.create_index("tmp_pushrequest_lookup", "pushrequest", ["integration_id", "request_id"])
    op.execute(
        "UPDATE conversionpush SET push_request_id = (SELECT p.id FROM pushrequest p "
        "WHERE p.integration_id = conversionpush.integration_id AND p.request_id = conversionpush.request_id) "
        "WHERE status = 'sent' AND request_id IS NOT NULL"
    )
    op.drop_index("tmp_pushrequest_lookup", table_name="pushrequest")
    op.execute("UPDATE conversionpush SET next_attempt_at = NULL WHERE status = 'sent'")

    with op.batch_alter_table("conversionpush", schema=None) as batch_op:
        batch_op.drop_index("ix_push_due")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("request_id")
        batch_op.drop_column("verdict")
        batch_op.create_index(
            "ix_push_due",
            ["integration_id", "status", "next_attempt_at"],
            unique=False,
            sqlite_where=DUE_WHERE,
            postgresql_where=DUE_WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversionpush", schema=None) as batch_op:
        batch_op.drop_index("ix_push_due")
        batch_op.add_column(sa.Column("claimed_until", routy_app.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute(
        "UPDATE conversionpush SET request_id = (SELECT p.request_id FROM pushrequest p WHERE p.id = push_request_id), "
        "verdict = (SELECT p.verdict FROM pushrequest p WHERE p.id = push_request_id) "
        "WHERE push_request_id IS NOT NULL"
    )
    with op.batch_alter_table("conversionpush", schema=None) as batch_op:
        batch_op.drop_column("push_request_id")
        batch_op.create_index("ix_push_due", ["integration_id", "status", "next_attempt_at"], unique=False)
    with op.batch_alter_table("pushrequest", schema=None) as batch_op:
        batch_op.drop_index("ix_pushrequest_check")
    op.drop_table("pushrequest")
