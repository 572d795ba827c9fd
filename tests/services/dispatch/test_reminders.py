"""Reminders before deadlines (催办): when, to whom, and exactly once per deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.cases import workflow
from bot.services.dispatch import escalation, reminders
from models import OutboxMessage, Request, RequestEvent, RequestStatus, ScheduleMark
from tests import factories as f
from tests.conftest import TestDB

H = timedelta(hours=1)
M = timedelta(minutes=1)


async def _events(session: AsyncSession, request: Request, kind: str) -> list[RequestEvent]:
    query = select(RequestEvent).where(
        RequestEvent.request_id == request.id, RequestEvent.kind == kind
    )
    return list((await session.execute(query.order_by(RequestEvent.id))).scalars())


async def _pushes(session: AsyncSession, request: Request, **where: Any) -> list[OutboxMessage]:
    query = select(OutboxMessage).filter_by(request_id=request.id, **where)
    return list((await session.execute(query.order_by(OutboxMessage.id))).scalars())


def test_due_arithmetic() -> None:
    start = f.NOW
    due = start + 8 * H
    assert not reminders.is_due(due=due, start=start, now=start + 5 * H, fraction=0.25)
    assert not reminders.is_due(due=due, start=start, now=start + 6 * H - M, fraction=0.25)
    assert reminders.is_due(due=due, start=start, now=start + 6 * H, fraction=0.25)
    assert reminders.is_due(due=due, start=start, now=due - M, fraction=0.25)
    assert not reminders.is_due(due=due, start=start, now=due, fraction=0.25)  # overdue: escalation
    assert reminders.is_due(due=due, start=start, now=start + 4 * H, fraction=0.5)


async def test_accept_reminder_once(db: TestDB) -> None:
    """Accept within 2 h: at 1 h 30 min the owner's staff are reminded, once, however often the
    sweep runs; the resident hears nothing of it."""
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        before = len(await _pushes(session, request))
        assert await reminders.remind_due(session, now=f.NOW + 89 * M, settings=config) == []
        events = await reminders.remind_due(session, now=f.NOW + 90 * M, settings=config)
        assert [e.note for e in events] == [f"accept {reminders.stamp(request.accept_by)}"]  # type: ignore[arg-type]
        for minutes in (91, 100, 119):
            again = await reminders.remind_due(session, now=f.NOW + minutes * M, settings=config)
            assert again == []
        assert len(await _events(session, request, "reminder")) == 1
        pushes = (await _pushes(session, request))[before:]
        assert [p.person_id for p in pushes] == [org.staff.id]
        assert request.reference in pushes[0].payload["text"]
        assert "签收" in pushes[0].payload["text"]


async def test_each_deadline_reminded_in_turn(db: TestDB) -> None:
    """Contact (24 h) at 18 h; resolve (168 h) at 126 h; an accepted request gets no accept one."""
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        await workflow.transition(
            session,
            request=request,
            action=workflow.Action.accept,
            actor=org.staff,
            now=f.NOW + 10 * M,
            settings=config,
        )
        assert await reminders.remind_due(session, now=f.NOW + 18 * H - M, settings=config) == []
        contact = await reminders.remind_due(session, now=f.NOW + 18 * H, settings=config)
        assert [e.note.split()[0] for e in contact] == ["contact"]
        assert await reminders.remind_due(session, now=f.NOW + 126 * H - M, settings=config) == []
        resolve = await reminders.remind_due(session, now=f.NOW + 126 * H, settings=config)
        assert [e.note.split()[0] for e in resolve] == ["resolve"]
        assert await reminders.remind_due(session, now=f.NOW + 127 * H, settings=config) == []


async def test_configured_fraction(db: TestDB) -> None:
    config = f.settings(scheduler={"remind_fraction": 0.5})
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        assert await reminders.remind_due(session, now=f.NOW + 59 * M, settings=config) == []
        events = await reminders.remind_due(session, now=f.NOW + 60 * M, settings=config)
        assert [e.request_id for e in events] == [request.id]


async def test_no_reminder_while_waiting_for_resident(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        for action in (workflow.Action.accept, workflow.Action.ask_info):
            await workflow.transition(
                session, request=request, action=action, actor=org.staff, now=f.NOW, settings=config
            )
        assert request.status == RequestStatus.waiting_for_resident
        assert await reminders.remind_due(session, now=f.NOW + 140 * H, settings=config) == []


async def test_a_new_deadline_is_reminded_again(db: TestDB) -> None:
    """Escalation restarts the accept clock: the new owner is reminded of the new deadline,
    the escalation itself happens once."""
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        admin_unit_staff = org.admin  # admin of the community, where the request climbs
        request = await f.request(session, org=org)
        assert len(await reminders.remind_due(session, now=f.NOW + 90 * M, settings=config)) == 1
        overdue_at = f.NOW + 2 * H + M
        first = await escalation.escalate_overdue(session, now=overdue_at, settings=config)
        second = await escalation.escalate_overdue(session, now=overdue_at, settings=config)
        assert [e.request_id for e in first] == [request.id] and second == []
        assert request.owner_unit_id == org.community.id
        assert len(await _events(session, request, "escalate")) == 1
        # The new accept window runs from the escalation: reminded at 75% of it, not at once.
        assert await reminders.remind_due(session, now=overdue_at + M, settings=config) == []
        later = await reminders.remind_due(session, now=overdue_at + 90 * M, settings=config)
        assert [e.note.split()[0] for e in later] == ["accept"]
        pushes = await _pushes(session, request, person_id=admin_unit_staff.id)
        assert any("签收" in p.payload["text"] or "accept" in p.payload["text"] for p in pushes)
        marks = (
            select(func.count())
            .select_from(ScheduleMark)
            .where(ScheduleMark.subject_id == request.id, ScheduleMark.job == "reminder.accept")
        )
        assert (await session.execute(marks)).scalar_one() == 2
