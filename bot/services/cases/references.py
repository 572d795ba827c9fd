"""Request reference numbers ("JM-2026-000123"): unique, increasing, safe under concurrency."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SEQUENCE = "request_reference_seq"
COUNTER = "request_reference"
# For the migration (PostgreSQL only); SQLite uses the `counters` row named COUNTER.
SEQUENCE_DDL = f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH 1 INCREMENT BY 1"

# On SQLite the upsert runs under the writer lock taken at BEGIN IMMEDIATE (bot.db), so two
# sessions can never read the same value.
_SQLITE_NEXT = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)
# nextval() is never rolled back and never hands out a number twice, whatever the transaction
# does; gaps after a rollback are expected and harmless.
_PG_NEXT = text(f"SELECT nextval('{SEQUENCE}')")


def format_reference(*, prefix: str, year: int, number: int) -> str:
    """The printed reference: prefix, year and a zero-padded number."""
    return f"{prefix}-{year:04d}-{number:06d}"


async def next_number(session: AsyncSession) -> int:
    """The next value of the reference sequence."""
    if session.get_bind().dialect.name == "sqlite":
        value = (await session.execute(_SQLITE_NEXT, {"name": COUNTER})).scalar_one()
    else:
        value = (await session.execute(_PG_NEXT)).scalar_one()
    return int(value)


async def next_reference(session: AsyncSession, *, prefix: str, year: int) -> str:
    """A new reference such as "JM-2026-000123"; the number never repeats and only grows."""
    return format_reference(prefix=prefix, year=year, number=await next_number(session))
