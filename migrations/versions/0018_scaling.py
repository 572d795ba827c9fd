"""scaling: the distribution column `community_id` on requests, request_events and outbox

Revision ID: 0018_scaling
Revises: 0016_workers
Create Date: 2026-12-06 11:40:00.000000

What exists is filled as new rows are (models.sharding): a request from its compound's
community, its events from it, an outbox row from its recipient's home compound; 0 for none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_scaling"
down_revision: str | None = "0016_workers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("requests", "request_events", "outbox")

BACKFILL = (
    """UPDATE requests SET community_id = COALESCE(
        (SELECT compounds.community_id FROM compounds WHERE compounds.id = requests.compound_id),
        0)""",
    """UPDATE request_events SET community_id = COALESCE(
        (SELECT requests.community_id FROM requests
          WHERE requests.id = request_events.request_id), 0)""",
    """UPDATE outbox SET community_id = COALESCE(
        (SELECT compounds.community_id FROM persons
           JOIN compounds ON compounds.id = persons.compound_id
          WHERE persons.id = outbox.person_id), 0)""",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("community_id", sa.Integer(), server_default="0", nullable=False)
            )
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("community_id")
