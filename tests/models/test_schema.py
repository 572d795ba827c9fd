"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from tests.conftest import TestDB


async def test_models_and_migrations_agree(db: TestDB) -> None:
    def _diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, models.Base.metadata))

    diff = await db.connection.run_sync(_diff)
    assert diff == [], diff
