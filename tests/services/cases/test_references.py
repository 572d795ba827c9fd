"""Reference numbers never repeat and only grow, also under concurrent inserts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import migrate
from bot.db import create_engine, session_factory
from bot.services.cases import references
from tests import factories as f
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    TestDB,
    create_postgres_database,
    drop_postgres_database,
)


async def test_format_and_increase(db: TestDB) -> None:
    async with db.sessions() as session:
        await f.ensure_reference_sequence(session)
        first = await references.next_reference(session, prefix="JM", year=2026)
        second = await references.next_reference(session, prefix="JM", year=2026)
    assert first.startswith("JM-2026-") and len(first) == len("JM-2026-000123")
    assert int(second.rsplit("-", 1)[1]) > int(first.rsplit("-", 1)[1])
    assert references.format_reference(prefix="QD", year=2027, number=1234567) == "QD-2027-1234567"


async def _draw_concurrently(url: str, count: int, concurrency: int) -> list[int]:
    engine = create_engine(url, pool_size=concurrency)
    sessions = session_factory(engine)
    gate = asyncio.Semaphore(concurrency)
    in_flight, peak = 0, 0

    async def one() -> int:
        nonlocal in_flight, peak
        async with gate, sessions() as session, session.begin():
            # Each draw sits in its own committed transaction, as a real submit would.
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)  # let the other transactions open before this one draws
            try:
                return await references.next_number(session)
            finally:
                in_flight -= 1

    try:
        numbers = list(await asyncio.gather(*(one() for _ in range(count))))
    finally:
        await engine.dispose()
    assert peak > 1, "the draws did not overlap"
    return numbers


def _check_distinct_and_increasing(numbers: list[int], count: int) -> None:
    assert len(set(numbers)) == count
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + count))


@pytest.mark.slow
async def test_one_thousand_concurrent_draws_on_postgres() -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = await create_postgres_database("redgrid_refs")
    try:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text(references.SEQUENCE_DDL))
        await engine.dispose()
        numbers = await _draw_concurrently(url, 1000, concurrency=20)
        _check_distinct_and_increasing(numbers, 1000)
    finally:
        await drop_postgres_database(name)


@pytest.mark.slow
async def test_concurrent_draws_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'refs.sqlite3'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    numbers = await _draw_concurrently(url, 300, concurrency=8)
    _check_distinct_and_increasing(numbers, 300)
    assert min(numbers) == 1
