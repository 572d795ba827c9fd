"""wechat channel: the shared access token, residents' windows, callback nonces

Revision ID: 0013_wechat
Revises: 0012_dual
Create Date: 2026-12-06 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0013_wechat"
down_revision: str | None = "0012_dual"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.String(length=600), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_wechat_tokens")),
    )
    op.create_table(
        "wechat_windows",
        sa.Column("openid", sa.String(length=100), nullable=False),
        sa.Column("open_until", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("quota_left", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_windows")),
    )
    op.create_table(
        "wechat_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", "timestamp", name=op.f("pk_wechat_nonces")),
    )
    op.create_index(op.f("ix_wechat_nonces_at"), "wechat_nonces", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wechat_nonces_at"), table_name="wechat_nonces")
    op.drop_table("wechat_nonces")
    op.drop_table("wechat_windows")
    op.drop_table("wechat_tokens")
