"""web chat: the person's own messages, for every tab and device of the same identity; the
outbox indexed by chat

Revision ID: 0014_web_own_messages
Revises: 0013_wechat
Create Date: 2026-12-06 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0014_web_own_messages"
down_revision: str | None = "0013_wechat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_own_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=64), nullable=True),
        sa.Column("pressed_id", ID, nullable=True),
        sa.Column("after_id", ID, nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_web_own_messages_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_own_messages")),
        sa.UniqueConstraint(
            "channel", "chat_id", "key", name=op.f("uq_web_own_messages_channel_chat_id_key")
        ),
    )
    op.create_index(
        "ix_web_own_messages_chat_id",
        "web_own_messages",
        ["channel", "chat_id", "id"],
        unique=False,
    )
    op.create_index("ix_outbox_chat_id", "outbox", ["channel", "chat_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_id", table_name="outbox")
    op.drop_index("ix_web_own_messages_chat_id", table_name="web_own_messages")
    op.drop_table("web_own_messages")
