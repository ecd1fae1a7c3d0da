"""leases that name their process, interrupted runs, the pull clock

- `lease` records the holder's machine (hostname | boot id | pid namespace), pid, the process's start time
  and when it last renewed: a process on the same machine can tell a dead holder at once
  (services/runs.py). Existing leases have none of it and are reclaimed when they expire.
- `syncrun.holder`: the lease holder running the run, so a reclaimed lease closes exactly its runs
  ("interrupted", with when and why in `error`).
- `integration.last_pull_at`: when the last finished pull started; the pull schedule's clock, which
  pushes no longer move (`last_sync_at` stays "the last sync of any kind"). Filled from the pull history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import routy_app.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lease", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewed_at", routy_app.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("machine", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pid_started", sa.Float(), nullable=True))
    with op.batch_alter_table("syncrun", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_pull_at", routy_app.models.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE integration SET last_pull_at = (SELECT MAX(r.started_at) FROM syncrun r "
        "WHERE r.integration_id = integration.id AND r.kind = 'pull' "
        "AND r.status IN ('success', 'partial', 'failed'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_column("last_pull_at")
    with op.batch_alter_table("syncrun", schema=None) as batch_op:
        batch_op.drop_column("holder")
    op.execute("UPDATE syncrun SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table("lease", schema=None) as batch_op:
        batch_op.drop_column("pid_started")
        batch_op.drop_column("pid")
        batch_op.drop_column("machine")
        batch_op.drop_column("renewed_at")
