"""workers: a heartbeat row per process, the outbox row's worker, leases, the shared per-chat send pace and flood window

Revision ID: 0016_workers
Revises: 0015_wecom
Create Date: 2026-12-06 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0016_workers"
down_revision: str | None = "0015_wecom"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("leased_by", sa.String(length=100), nullable=True))
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_index(op.f("ix_workers_heartbeat_at"), "workers", ["heartbeat_at"], unique=False)
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("taken_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "send_marks",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=False),
        sa.Column("last_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_id", name=op.f("pk_send_marks")),
    )
    op.create_table(
        "flood_windows",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column(
            "slots", sa.ARRAY(sa.Float()).with_variant(sa.JSON(), "sqlite"), nullable=False
        ),
        sa.Column("warned_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_flood_windows")),
    )


def downgrade() -> None:
    op.drop_table("flood_windows")
    op.drop_table("send_marks")
    op.drop_table("leases")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_by")
    op.drop_index(op.f("ix_workers_heartbeat_at"), table_name="workers")
    op.drop_table("workers")
