"""The flood window shared by three workers on one PostgreSQL database: a person writing to
each of them in turn gets the limit once, not three times; the first update past it earns
one "slow down", and the same minute's rule as one process's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from bot.core.context import Context
from bot.core.flood import SharedFloodGate
from bot.core.router import Router
from bot.db import session_factory
from bot.exceptions import UserFacingError
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    TestDB,
    engine_and_sender,
    migrated_postgres,
)

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_flood", pool_size=3) as engine:
        yield engine


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


async def test_workers_book_in_the_update_and_hold_the_one_past_the_window(
    demo: TestDB, settings: Settings, clock: Clock
) -> None:
    """With other workers alive, an update books its slot in its own transaction (no
    transaction of its own for the window); the one past the limit is rolled back, booked
    apart and held, with one "slow down", whichever worker it reached."""
    if demo.kind != "postgres":
        pytest.skip("the window is shared on PostgreSQL")
    channel = TestChannel()
    held: list[float] = []

    async def sleep(seconds: float) -> None:
        held.append(seconds)

    engines = []
    for n in range(3):
        engine, _ = engine_and_sender(
            demo,
            settings,
            clock,
            {channel.name: channel},
            worker_id=f"worker-{n}",
            flood=SharedFloodGate(3, demo.sessions),
        )
        engine.sleep = sleep
        engines.append(engine)
    assert all(engine.flood.books_in_turn() for engine in engines)
    person = TestChat(engines[0], channel, user_id="flood-1")
    for n in range(3):
        person.engine = engines[n]
        assert (await person.send("/help"))[-1].text  # answered at once
        assert held == []
    person.engine = engines[0]
    answers = await person.send("/help")  # the fourth this minute
    assert len(held) == 1 and 59.0 < held[0] <= 60.0
    texts = [m.text for m in answers]
    assert texts[0] == "您发得太快了，请稍等一下。刚才的消息都收到了，会按顺序处理。"
    assert len(texts) > 1  # then answered
    assert person.last_result is not None and person.last_result.status == "handled"


async def test_a_refused_update_still_counts_in_the_shared_window(
    demo: TestDB, settings: Settings, clock: Clock
) -> None:
    """A refusal rolls its turn back, the slot booked in it too: it is booked again apart, so
    refused updates cannot flood past the limit."""
    if demo.kind != "postgres":
        pytest.skip("the window is shared on PostgreSQL")
    router = Router()

    @router.command("refuse")
    async def refuse(ctx: Context) -> None:
        raise UserFacingError("core.sorry")

    channel = TestChannel()
    held: list[float] = []

    async def sleep(seconds: float) -> None:
        held.append(seconds)

    engine, _ = engine_and_sender(
        demo,
        settings,
        clock,
        {channel.name: channel},
        router=router,
        flood=SharedFloodGate(2, demo.sessions),
    )
    engine.sleep = sleep
    person = TestChat(engine, channel, user_id="flood-2")
    for _ in range(2):
        await person.send("/refuse")
        assert person.last_result is not None and person.last_result.status == "refused"
    assert held == []
    await person.send("/refuse")  # the third this minute: held like any other
    assert len(held) == 1 and 59.0 < held[0] <= 60.0
