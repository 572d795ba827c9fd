"""classifier runs: each retraining from staff corrections, its two accuracies, adopted or not

Revision ID: 0011_sweeps
Revises: 0010_cards
Create Date: 2026-12-06 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011_sweeps"
down_revision: str | None = "0010_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classifier_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corrections_upto", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("accuracy_before", sa.Float(), nullable=False),
        sa.Column("accuracy_after", sa.Float(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_runs")),
    )


def downgrade() -> None:
    op.drop_table("classifier_runs")
