"""A worker alone on PostgreSQL (workers.shared: auto) shares nothing per update: its flood
windows stay in the process and it takes no chat turns; a second worker makes it share from
its next beat, the windows handed to the database, and read back when it is alone again.
"always" shares alone too; "never" shares with others alive."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.flood import SharedFloodGate
from bot.db import session_factory
from bot.outbox.shared import SharedBudget
from bot.workers import Workers
from models import FloodWindow, SendMark
from tests.conftest import PG_SKIP_REASON, PG_URL, migrated_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]
PERSON = ("telegram", "42")


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_lone", pool_size=4) as engine:
        yield engine


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_lone_worker_shares_from_the_beat_that_sees_a_second_one(
    pg_engine: AsyncEngine,
) -> None:
    sessions = session_factory(pg_engine)
    a = Workers(sessions, "a", shared=True, sharing="auto")
    switches: list[bool] = []

    async def switched(alone: bool) -> None:
        switches.append(alone)

    a.on_switch.append(switched)
    assert not a.alone  # shared until counted
    await a.beat()
    assert a.alone and switches == [True]
    b = Workers(sessions, "b", shared=True, sharing="auto")
    await b.beat()
    assert not b.alone  # a second worker shares from its first beat
    assert a.alone  # until a's next beat
    await a.beat()
    assert not a.alone and switches == [True, False]
    await b.leave()
    await a.beat()
    assert a.alone and switches == [True, False, True]


async def test_the_flood_windows_change_hands_at_each_switch(pg_engine: AsyncEngine) -> None:
    sessions = session_factory(pg_engine)
    a = Workers(sessions, "a", shared=True, sharing="auto")
    gate_a = SharedFloodGate(3, sessions, a)
    await a.beat()
    assert await gate_a.book(PERSON) == (0.0, False)
    assert await gate_a.book(PERSON) == (0.0, False)
    assert await count(sessions, FloodWindow) == 0  # alone: nothing written
    b = Workers(sessions, "b", shared=True, sharing="auto")
    gate_b = SharedFloodGate(3, sessions, b)
    await b.beat()
    await a.beat()  # a sees b: its windows go to the database
    assert await gate_b.book(PERSON) == (0.0, False)  # the third this minute
    wait, warn = await gate_b.book(PERSON)
    assert 59.0 < wait <= 60.0 and warn
    wait, _ = await gate_a.book(PERSON)
    assert 59.0 < wait <= 60.0
    await b.leave()
    await a.beat()  # alone again: the windows come back, b's bookings with them
    assert await count(sessions, FloodWindow) == 1
    wait, _ = await gate_a.book(PERSON)
    assert 59.0 < wait <= 60.0  # the third of the next minute
    wait, _ = await gate_a.book(PERSON)
    assert 119.0 < wait <= 120.0


async def test_a_lone_sender_takes_no_chat_turn(pg_engine: AsyncEngine) -> None:
    sessions = session_factory(pg_engine)
    a = Workers(sessions, "a", shared=True, sharing="auto")
    budget = SharedBudget(a)
    await a.beat()
    await budget.chat_turn("telegram", "42", 1.0)
    assert await count(sessions, SendMark) == 0
    await Workers(sessions, "b", shared=True).beat()
    await a.beat()
    await budget.chat_turn("telegram", "42", 1.0)
    assert await count(sessions, SendMark) == 1


async def test_always_shares_alone_and_never_shares_with_others(pg_engine: AsyncEngine) -> None:
    sessions = session_factory(pg_engine)
    always = Workers(sessions, "always", shared=True, sharing="always")
    await always.beat()
    assert not always.alone
    gate = SharedFloodGate(3, sessions, always)
    await gate.book(PERSON)
    assert await count(sessions, FloodWindow) == 1
    never = Workers(sessions, "never", shared=True, sharing="never")
    await never.beat()
    assert never.alone
    assert sorted(await never.living()) == ["always", "never"]
