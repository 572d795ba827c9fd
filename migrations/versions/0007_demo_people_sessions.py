"""persons: demo people are marked; web chat sessions can be ended (an epoch per person);
invites: made by the operator on the command line

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_demo", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Until now a demo person was whoever had an identity on the "demo" channel.
    op.execute(
        "UPDATE persons SET is_demo = true WHERE id IN "
        "(SELECT person_id FROM channel_identities WHERE channel = 'demo')"
    )


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("by_operator")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("is_demo")
