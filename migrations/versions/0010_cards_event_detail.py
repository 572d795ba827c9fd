"""request events: a detail column, so a routed event keeps its rule and steps as codes and
ids and is told to each reader in their language (older rows keep their English note)

Revision ID: 0010_cards
Revises: 0009
Create Date: 2026-12-06 08:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_cards"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_events") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_events") as batch:
        batch.drop_column("detail")
