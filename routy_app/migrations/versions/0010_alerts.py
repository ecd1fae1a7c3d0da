"""alerts: channels, per-source rules, incidents, the delivery outbox; when access ends

- `alertchannel`: email (SMTP), Slack-compatible and signed JSON webhook channels; secrets in
  `secrets_enc` (Fernet), never in clear.
- `alertrule`: per traffic source, each alert kind on/off with its thresholds (no row = defaults).
- `incident`: one row per problem (open -> resolved); a partial unique index keeps one open per key.
- `alertdelivery`: the outbox of alert notices per channel, retried with backoff.
- `integration.authorized_at` / `access_expires_at`: when the grant was issued and when access ends
  without a new consent (Meta long-lived token; Google refresh token of an app in "Testing").
  Existing rows keep NULL (not known) until their next connect or reconnect.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-02 05:07:24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import routy_app.models

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alertchannel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("secrets_enc", sa.Text(), nullable=True),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("last_test_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_message", sa.Text(), nullable=True),
        sa.Column("created_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("traffic_source_id", sa.Integer(), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_notified_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("resolved_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_integration", ["integration_id", "first_seen_at"], unique=False)
        batch_op.create_index("ix_incident_status_seen", ["status", "last_seen_at"], unique=False)
        batch_op.create_index(
            "uq_incident_open_key",
            ["key"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "alertdelivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("notice", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", routy_app.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alertchannel.id"],
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "channel_id", "event", "notice", name="uq_alertdelivery_once"),
    )
    with op.batch_alter_table("alertdelivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alertdelivery_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(
            "ix_alertdelivery_due",
            ["status", "next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_alertdelivery_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "alertrule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("traffic_source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("updated_at", routy_app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["traffic_source_id"],
            ["trafficsource.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("traffic_source_id", "kind", name="uq_alertrule_source_kind"),
    )
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authorized_at", routy_app.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("access_expires_at", routy_app.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_column("access_expires_at")
        batch_op.drop_column("authorized_at")

    op.drop_table("alertrule")
    with op.batch_alter_table("alertdelivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alertdelivery_incident_id"))
        batch_op.drop_index(
            "ix_alertdelivery_due",
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_alertdelivery_channel_id"))

    op.drop_table("alertdelivery")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_incident_open_key", sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'")
        )
        batch_op.drop_index("ix_incident_status_seen")
        batch_op.drop_index("ix_incident_integration")

    op.drop_table("incident")
    op.drop_table("alertchannel")
