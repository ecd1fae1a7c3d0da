"""syncrun.level_rows: rows read per level so far, for the Sync page's live progress

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("syncrun") as batch:
        batch.add_column(sa.Column("level_rows", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("syncrun") as batch:
        batch.drop_column("level_rows")
