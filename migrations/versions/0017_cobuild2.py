"""cobuild: quarterly property polls, calls' date and place, liaison invites

Revision ID: 0017_cobuild2
Revises: 0014_web_own_messages
Create Date: 2026-12-06 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0017_cobuild2"
down_revision: str | None = "0014_web_own_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cobuild_property_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["org_units.id"],
            name=op.f("fk_cobuild_property_polls_community_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["persons.id"],
            name=op.f("fk_cobuild_property_polls_opened_by_id_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cobuild_property_polls")),
        sa.UniqueConstraint(
            "community_id", "quarter", name=op.f("uq_cobuild_property_polls_community_id_quarter")
        ),
    )
    with op.batch_alter_table("cobuild_property_polls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cobuild_property_polls_community_id"), ["community_id"], unique=False
        )
    with op.batch_alter_table("cobuild_activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("starts_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("place", sa.String(length=200), server_default="", nullable=False)
        )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cobuild_unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_invites_cobuild_unit_id_cobuild_units"),
            "cobuild_units",
            ["cobuild_unit_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invites_cobuild_unit_id_cobuild_units"), type_="foreignkey"
        )
        batch_op.drop_column("cobuild_unit_id")
    with op.batch_alter_table("cobuild_activities", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("starts_at")
    with op.batch_alter_table("cobuild_property_polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cobuild_property_polls_community_id"))
    op.drop_table("cobuild_property_polls")
