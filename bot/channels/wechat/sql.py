"""The INSERT of the session's dialect, for ON CONFLICT DO NOTHING."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring(session: AsyncSession, table: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` on `table` (values to be added)."""
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return make(table)
