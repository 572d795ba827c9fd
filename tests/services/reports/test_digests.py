"""Scheduled digests: residents' news, staff queues, volunteers' held tasks, admins' week."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.cases import workflow
from bot.services.reports import digests
from models import OutboxMessage, Person, Role, VolunteerTask
from tests import factories as f
from tests.conftest import TestDB

H = timedelta(hours=1)
D = timedelta(days=1)


async def _texts(session: AsyncSession, person: Person, *, after: int = 0) -> list[str]:
    query = select(OutboxMessage).where(
        OutboxMessage.person_id == person.id, OutboxMessage.id > after
    )
    rows = (await session.execute(query.order_by(OutboxMessage.id))).scalars()
    return [row.payload["text"] for row in rows]


async def _last_id(session: AsyncSession) -> int:
    query = select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)
    return (await session.execute(query)).scalar() or 0


async def test_resident_digest(db: TestDB) -> None:
    """What changed in the last day on open requests, to reporter and followers; nothing to
    someone whose requests did not change, or changed only by their own hand; once a day."""
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        reporter, follower, quiet, self_only = [await f.person(session) for _ in range(4)]
        request = await f.request(session, org=org, reporter=reporter, now=f.NOW - 3 * D)
        await workflow.follow(session, request=request, person=follower)
        await f.request(session, org=org, reporter=quiet, now=f.NOW - 3 * D)
        await f.request(session, org=org, reporter=self_only, now=f.NOW - 2 * H)
        await workflow.transition(
            session,
            request=request,
            action=workflow.Action.accept,
            actor=org.staff,
            now=f.NOW - 5 * H,
            settings=config,
        )
        start = await _last_id(session)
        assert await digests.resident_digest(session, now=f.NOW, settings=config) == 2
        for person in (reporter, follower):
            [text] = await _texts(session, person, after=start)
            assert "昨天以来" in text and request.reference in text and "已受理" in text
        assert await _texts(session, quiet, after=start) == []
        assert await _texts(session, self_only, after=start) == []
        # Again the same morning (or on another worker): nothing more.
        assert await digests.resident_digest(session, now=f.NOW + H, settings=config) == 0
        # The next morning nothing changed any more: nothing is sent.
        assert await digests.resident_digest(session, now=f.NOW + D, settings=config) == 0
        rows = await session.execute(select(OutboxMessage.urgent).where(OutboxMessage.id > start))
        assert not any(rows.scalars())  # digests wait out quiet hours


async def test_queue_digest(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        overdue = await f.request(session, org=org, now=f.NOW - 3 * D)
        fresh = await f.request(session, org=org, now=f.NOW - H)  # accept by 18:00 local today
        await f.request(session, org=org, building=org.building_a2, now=f.NOW - 3 * D)
        start = await _last_id(session)
        counts = await digests.queue_counts(session, now=f.NOW, settings=config)
        grid = counts[org.grid.id]
        assert (grid.new, grid.today, grid.overdue) == (1, 1, 1)
        assert grid.overdue_refs == [overdue.reference]
        assert org.grid2.id not in counts  # nobody holds a staff role there
        assert await digests.queue_digest(session, now=f.NOW, settings=config) == 1
        [text] = await _texts(session, org.staff, after=start)
        assert "新诉求 1 件，今天到期 1 件，已逾期 1 件" in text
        assert overdue.reference in text and fresh.reference not in text
        assert await _texts(session, org.admin, after=start) == []  # community has no queue
        assert await digests.queue_digest(session, now=f.NOW + H, settings=config) == 0


async def test_volunteer_reminder(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        volunteer = await f.person(session, role=Role.volunteer, unit=org.community)
        other = await f.person(session, role=Role.volunteer, unit=org.community)
        request = await f.request(session, org=org)
        session.add_all(
            [
                VolunteerTask(
                    request_id=request.id,
                    status="claimed",
                    description="fix the stairwell light",
                    claimed_by_id=volunteer.id,
                    claimed_at=f.NOW - D,
                ),
                VolunteerTask(status="done", claimed_by_id=other.id, done_at=f.NOW - H),
                VolunteerTask(status="open", description="paint parking lines"),
            ]
        )
        await session.flush()
        start = await _last_id(session)
        assert await digests.volunteer_reminder(session, now=f.NOW, settings=config) == 1
        [text] = await _texts(session, volunteer, after=start)
        assert request.reference in text and "fix the stairwell light" in text and "1 项" in text
        assert await _texts(session, other, after=start) == []
        assert await digests.volunteer_reminder(session, now=f.NOW + H, settings=config) == 0
        assert await digests.volunteer_reminder(session, now=f.NOW + D, settings=config) == 1


async def test_weekly_report(db: TestDB) -> None:
    """The community admin gets, per grid under the community, the week's figures."""
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        solved = await f.request(session, org=org)
        await f.request(session, org=org)
        await f.request(session, org=org, building=org.building_a2)
        await f.request(session, org=org, now=f.NOW - 30 * D)  # old, open, overdue
        for action in (workflow.Action.accept, workflow.Action.start, workflow.Action.resolve):
            await workflow.transition(
                session,
                request=solved,
                action=action,
                actor=org.staff,
                now=f.NOW + H,
                settings=config,
            )
        now = f.NOW + 2 * H
        rows = {
            c.unit.id: c for c in await digests.child_counts(session, unit=org.community, now=now)
        }
        grid, grid2 = rows[org.grid.id], rows[org.grid2.id]
        assert (grid.submitted, grid.resolved, grid.open, grid.overdue) == (2, 1, 2, 1)
        assert (grid2.submitted, grid2.resolved, grid2.open, grid2.overdue) == (1, 0, 1, 0)
        start = await _last_id(session)
        assert await digests.weekly_report(session, now=now, settings=config) >= 1
        [text] = await _texts(session, org.admin, after=start)  # the admin reads English
        assert text.startswith("Weekly report for")
        line = f"· {org.grid.code}: 2 new, 1 resolved, 2 open, 1 overdue; this month: response"
        assert line in text
        # A rate with nothing to measure yet reads as such, not as a dash.
        assert f"· {org.grid2.code}: 1 new, 0 resolved, 1 open, 0 overdue" in text
        assert "satisfaction n/a" in text and not re.search(r"(?<!\w)-(?!\w)", text)
        assert await digests.weekly_report(session, now=now + D, settings=config) == 0
        assert await digests.weekly_report(session, now=now + 7 * D, settings=config) >= 1
