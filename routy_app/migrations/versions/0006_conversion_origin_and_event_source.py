"""conversion origin and Google Ads mapping event source

- `conversion.origin`: where a conversion happened (web, app, in_store, phone, other), when the ingest
  API is told; Data Manager requires an eventSource on every offline conversion (v1.2, 2025-08-06).
- Google Ads mappings made before the choice existed get `event_source: WEB` in their `extra_json`
  (Routy's conversions come from tracked web clicks unless a mapping says otherwise); the Conversion
  Mappings tab shows the choice and lets an admin change it.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_EVENT_SOURCE = "WEB"


def upgrade() -> None:
    with op.batch_alter_table("conversion") as batch:
        batch.add_column(sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT m.id, m.extra_json FROM conversionmapping m JOIN integration i ON i.id = m.integration_id "
            "WHERE i.provider = 'google_ads'"
        )
    ).all()
    for mapping_id, extra_json in rows:
        extra = json.loads(extra_json or "{}")
        if extra.get("event_source"):
            continue
        extra["event_source"] = DEFAULT_EVENT_SOURCE
        conn.execute(
            sa.text("UPDATE conversionmapping SET extra_json = :extra WHERE id = :id"),
            {"extra": json.dumps(extra), "id": mapping_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("conversion") as batch:
        batch.drop_column("origin")
