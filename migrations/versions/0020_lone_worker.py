"""lone worker: a worker's row names its process (host, pid, pid space, start), so a dead one on the same machine is taken over at once

Revision ID: 0020_lone_worker
Revises: 0018_scaling
Create Date: 2026-12-06 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_lone_worker"
down_revision: str | None = "0019_shared_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("host", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pid_space", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("pid_started", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("pid_started")
        batch.drop_column("pid_space")
        batch.drop_column("pid")
        batch.drop_column("host")
