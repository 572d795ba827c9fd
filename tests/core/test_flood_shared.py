"""The flood window shared by three workers on one PostgreSQL database: a person writing to
each of them in turn gets the limit once, not three times; the first update past it earns
one "slow down", and the same minute's rule as one process's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import migrate
from bot.core.flood import SharedFloodGate
from bot.db import create_engine, session_factory
from tests.conftest import PG_SKIP_REASON, PG_URL, create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    url, name = await create_postgres_database("redgrid_flood")
    engine = create_engine(url, pool_size=3)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await drop_postgres_database(name)


async def test_three_workers_share_one_window_per_person(pg_engine: AsyncEngine) -> None:
    gates = [SharedFloodGate(3, session_factory(pg_engine)) for _ in range(3)]
    person = ("webchat", "u1")
    booked = [await gates[n % 3].book(person) for n in range(3)]
    assert booked == [(0.0, False)] * 3
    wait, warn = await gates[0].book(person)  # the fourth this minute, whichever worker
    assert 59.0 < wait <= 60.0 and warn
    wait, warn = await gates[1].book(person)
    assert 59.0 < wait <= 60.0 and not warn  # told once
    assert await gates[2].book(("webchat", "u2")) == (0.0, False)
    # A photo is refused rather than held, and its refusal books nothing.
    left = await gates[2].try_book(person)
    assert 59.0 < left <= 60.0
    assert 59.0 < await gates[0].try_book(person) <= 60.0
    wait, _ = await gates[2].book(person)
    assert 59.0 < wait <= 60.0  # the third of the next minute
    wait, _ = await gates[0].book(person)
    assert 119.0 < wait <= 120.0  # that minute is full too: the one after


async def test_try_book_takes_a_free_slot(pg_engine: AsyncEngine) -> None:
    gate = SharedFloodGate(2, session_factory(pg_engine))
    other = SharedFloodGate(2, session_factory(pg_engine))
    person = ("webchat", "photos")
    assert await gate.try_book(person) == 0.0
    assert await other.try_book(person) == 0.0
    assert 59.0 < await gate.try_book(person) <= 60.0
