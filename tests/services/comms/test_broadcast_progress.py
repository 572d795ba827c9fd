"""A broadcast is marked done by the scheduler once nothing of it waits to be sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot import scheduler
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from models import Broadcast, BroadcastMessage, OutboxMessage, OutboxStatus
from tests import factories as f
from tests.conftest import Clock, TestDB


async def _broadcast(db: TestDB, *, rows: int) -> tuple[int, list[int]]:
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        broadcast = Broadcast(
            actor_id=org.admin.id,
            target_kind="grid",
            target_id=org.grid.id,
            text="停水通知",
            status="sending",
            recipients=rows,
            sent_at=f.NOW,
        )
        session.add(broadcast)
        await session.flush()
        ids = []
        for number in range(rows):
            row = await enqueue(
                session, channel="telegram", chat_id=f"c{number}", message=Outgoing(text="停水")
            )
            session.add(BroadcastMessage(broadcast_id=broadcast.id, outbox_id=row.id))
            ids.append(row.id)
        return broadcast.id, ids


async def _set(db: TestDB, ids: list[int], status: OutboxStatus) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status=status)
        )


async def _sweep(db: TestDB, clock: Clock) -> int:
    """One run through the scheduler's registry, as the schedule runs it."""
    return await scheduler.run_job(
        "broadcast_progress", sessions=db.sessions, settings=f.settings(), clock=clock
    )


async def test_the_scheduler_marks_a_drained_broadcast_done(db: TestDB) -> None:
    broadcast_id, (sent, failed, waiting) = await _broadcast(db, rows=3)
    await _set(db, [sent], OutboxStatus.sent)
    await _set(db, [failed], OutboxStatus.failed)
    clock = Clock(f.NOW + timedelta(minutes=5))
    assert await _sweep(db, clock) == 0
    async with db.sessions() as session:
        assert (await session.get(Broadcast, broadcast_id)).status == "sending"  # type: ignore[union-attr]
    await _set(db, [waiting], OutboxStatus.sent)
    clock.advance(minutes=1)
    assert await _sweep(db, clock) == 1
    async with db.sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert (broadcast.status, broadcast.finished_at) == ("done", clock.now)
    assert await _sweep(db, clock) == 0


async def test_cancelled_rows_do_not_hold_a_broadcast_open(db: TestDB) -> None:
    broadcast_id, ids = await _broadcast(db, rows=2)
    await _set(db, ids, OutboxStatus.cancelled)
    clock = Clock(f.NOW + timedelta(minutes=5))
    assert await _sweep(db, clock) == 1
    async with db.sessions() as session:
        assert (await session.get(Broadcast, broadcast_id)).status == "done"  # type: ignore[union-attr]
