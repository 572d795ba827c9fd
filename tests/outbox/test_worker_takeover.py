"""Outbox rows know their worker: on PostgreSQL a row held by a worker whose heartbeat stopped
is taken over at once, not after its 60-second lease; while its holder lives, nobody touches
it. Reply successes are recorded once a few of them wait, not only after the delay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import outbox
from bot.config import OutboxSettings
from bot.db import session_factory
from bot.messages import Outgoing
from bot.outbox import store
from bot.outbox.shared import SharedBudget
from bot.workers import Workers
from models import OutboxMessage, OutboxStatus, utcnow
from tests.conftest import PG_SKIP_REASON, PG_URL, migrated_postgres
from tests.outbox.fakes import RecordingChannel

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

STALE = 1.0
ROWS = 6
UNLIMITED = outbox.Limits(global_rate=1e9, chat_rate=1e9, group_rate_per_minute=1e9)


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_takeover", pool_size=4) as engine:
        yield engine


def sender(engine: AsyncEngine, workers: Workers, channel: RecordingChannel, **options: object):  # type: ignore[no-untyped-def]
    return outbox.Sender(
        session_factory(engine),
        {"test": channel},
        OutboxSettings(quiet_start="00:00", quiet_end="00:00"),
        ZoneInfo("Asia/Shanghai"),
        worker_id=workers.id,
        limits=options.pop("limits", UNLIMITED),
        shared=SharedBudget(workers),
        **options,  # type: ignore[arg-type]
    )


async def _write(engine: AsyncEngine, count: int) -> None:
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "channel": "test",
                    "chat_id": str(n),
                    "payload": Outgoing(text=str(n)).to_payload(),
                }
                for n in range(count)
            ],
        )


async def _claim(engine: AsyncEngine, workers: Workers) -> list[store.Claimed]:
    """The outbox's first ROWS rows, leased for a minute by `workers`."""
    now = utcnow()
    async with session_factory(engine)() as session, session.begin():
        return await store.claim(
            session,
            now=now,
            lease_until=now + timedelta(seconds=60),
            channels=["test"],
            limit=ROWS,
            quiet=False,
            worker=workers.id,
        )


async def _statuses(engine: AsyncEngine) -> list[tuple[str, str | None]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(OutboxMessage.status, OutboxMessage.leased_by).order_by(OutboxMessage.id)
        )
        return [(str(status), by) for status, by in rows.all()]


async def test_rows_of_a_dead_worker_are_taken_over_as_soon_as_its_heartbeat_stops(
    pg_engine: AsyncEngine,
) -> None:
    sessions = session_factory(pg_engine)
    dead = Workers(sessions, "worker-a", shared=True, stale_after_s=STALE)
    alive = Workers(sessions, "worker-b", shared=True, stale_after_s=STALE)
    await dead.beat()
    await alive.beat()
    await _write(pg_engine, ROWS)
    held = await _claim(pg_engine, dead)  # worker A claims them, then dies
    assert len(held) == ROWS
    assert await _statuses(pg_engine) == [("sending", "worker-a")] * ROWS
    channel = RecordingChannel(clock=utcnow)
    taker = sender(pg_engine, alive, channel)
    assert await taker.pump() == 0  # A's heartbeat is fresh: its rows are its own
    await asyncio.sleep(STALE + 0.2)
    await alive.beat()
    started = asyncio.get_running_loop().time()
    assert await taker.pump() == ROWS  # A is silent: taken over, long before the lease ends
    assert asyncio.get_running_loop().time() - started < 5
    assert sorted(s.text for s in channel.sent) == [str(n) for n in range(ROWS)]
    assert await _statuses(pg_engine) == [("sent", "worker-b")] * ROWS


async def test_a_worker_whose_beats_are_late_sends_nothing_the_others_may_take_over(
    pg_engine: AsyncEngine,
) -> None:
    """A worker alive but late to beat (its pool queued up, its event loop starved) is dead to
    the others once its heartbeat is stale; it must not send the rows they take over."""
    sessions = session_factory(pg_engine)
    late = Workers(sessions, "worker-late", shared=True, heartbeat_s=0.5, stale_after_s=STALE)
    alive = Workers(sessions, "worker-b", shared=True, heartbeat_s=0.5, stale_after_s=STALE)
    await late.beat()
    await alive.beat()
    await _write(pg_engine, ROWS)
    held = await _claim(pg_engine, late)  # the late worker's replies
    late_channel, taker_channel = RecordingChannel(clock=utcnow), RecordingChannel(clock=utcnow)
    await asyncio.sleep(STALE + 0.2)  # no beat from the late worker meanwhile
    assert not late.fresh()
    await alive.beat()
    assert alive.fresh()
    await sender(pg_engine, late, late_channel).deliver_leased(held)
    assert late_channel.sent == []  # fenced: it might be dead to the others
    assert await _statuses(pg_engine) == [("sending", "worker-late")] * ROWS  # left as they are
    assert await sender(pg_engine, alive, taker_channel).pump() == ROWS
    assert sorted(s.text for s in taker_channel.sent) == [str(n) for n in range(ROWS)]
    await late.beat()  # back: it sends again
    assert late.fresh()


async def test_a_reply_takes_its_chat_turn_in_the_transaction_that_writes_it(
    pg_engine: AsyncEngine,
) -> None:
    """With other workers alive, a turn's first reply takes its chat's turn in the update's
    own transaction: it goes out at once, with no turn transaction of its own, and the chat's
    next message, from any worker, still keeps the pace after it."""
    sessions = session_factory(pg_engine)
    a = Workers(sessions, "worker-a", shared=True, stale_after_s=30)
    other = Workers(sessions, "worker-b", shared=True, stale_after_s=30)
    await a.beat()
    await other.beat()
    await a.beat()  # counts the other: not alone
    gap = 0.5
    paced = outbox.Limits(global_rate=1e9, chat_rate=1 / gap, group_rate_per_minute=1e9)
    channel = RecordingChannel(clock=utcnow)
    replier = sender(pg_engine, a, channel, limits=paced)
    lease = utcnow() + timedelta(seconds=60)
    async with sessions() as session, session.begin():  # the update's transaction
        ids = (
            await session.execute(
                insert(OutboxMessage)
                .values(
                    [
                        {
                            "channel": "test",
                            "chat_id": "c1",
                            "payload": Outgoing(text=text).to_payload(),
                            "status": OutboxStatus.sending,
                            "not_before": lease,
                            "is_reply": True,
                            "attempts": 1,
                            "leased_by": a.id,
                        }
                        for text in ("first", "second")
                    ]
                )
                .returning(OutboxMessage.id)
            )
        ).scalars()
        written = [
            store.Claimed(i, "test", "c1", Outgoing(text=t).to_payload(), 1, True, True, lease)
            for i, t in zip(ids, ("first", "second"), strict=True)
        ]
        rows = await replier.take_reply_turns(session, written)
    assert rows[0].turn_at is not None and rows[1].turn_at is None  # the first reply's only
    started = utcnow()
    await replier.deliver_leased(rows)
    first, second = channel.sent
    assert (first.text, second.text) == ("first", "second")
    assert (first.at - started).total_seconds() < gap / 2  # on the turn it took: no wait
    assert (second.at - first.at).total_seconds() >= gap  # the pace kept after it


async def test_reply_successes_are_recorded_once_a_batch_waits(pg_engine: AsyncEngine) -> None:
    sessions = session_factory(pg_engine)
    workers = Workers(sessions, "worker-c", shared=True, stale_after_s=STALE)
    await workers.beat()
    channel = RecordingChannel(clock=utcnow)
    replies = sender(pg_engine, workers, channel, record_delay=30.0, record_batch=4)
    await _write(pg_engine, 4)
    now = utcnow()
    async with sessions() as session, session.begin():
        rows = await store.claim(
            session,
            now=now,
            lease_until=now + timedelta(seconds=60),
            channels=["test"],
            limit=4,
            quiet=False,
            worker=workers.id,
        )
    await replies.deliver_leased(rows[:3])
    await asyncio.sleep(0.3)
    assert [s for s, _ in await _statuses(pg_engine)] == [OutboxStatus.sending] * 4  # waiting
    await replies.deliver_leased(rows[3:])  # the fourth fills the batch: recorded at once
    for _ in range(100):
        if all(s == OutboxStatus.sent for s, _ in await _statuses(pg_engine)):
            break
        await asyncio.sleep(0.02)
    assert [s for s, _ in await _statuses(pg_engine)] == [OutboxStatus.sent] * 4
