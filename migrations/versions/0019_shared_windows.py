"""shared windows: a chat's recent send times on its send mark, so several workers keep a
channel's per-chat windows (WeCom's per member, a group robot's) together

Revision ID: 0019_shared_windows
Revises: 0018_scaling
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_shared_windows"
down_revision: str | None = "0018_scaling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("send_marks") as batch:
        batch.add_column(
            sa.Column(
                "recent", sa.ARRAY(sa.Float()).with_variant(sa.JSON(), "sqlite"), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("send_marks") as batch:
        batch.drop_column("recent")
