"""wecom channel: the template cards sent to members, with their update codes

Revision ID: 0015_wecom
Revises: 0013_wechat
Create Date: 2026-12-06 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015_wecom"
down_revision: str | None = "0013_wechat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wecom_cards",
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("userid", sa.String(length=100), nullable=False),
        sa.Column("response_code", sa.String(length=300), nullable=True),
        sa.Column("code_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_wecom_cards")),
    )
    op.create_index(op.f("ix_wecom_cards_created_at"), "wecom_cards", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wecom_cards_created_at"), table_name="wecom_cards")
    op.drop_table("wecom_cards")
