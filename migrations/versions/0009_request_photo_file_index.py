"""request photos: index the file id, so an uploaded file's rows are found without a scan

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06 06:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_request_photos_file_id", "request_photos", ["file_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_photos_file_id", table_name="request_photos")
