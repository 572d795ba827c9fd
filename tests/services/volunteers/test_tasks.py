"""Volunteer tasks: who gets the push, the race-safe claim, widening, done, cannot do."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import migrate
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.exceptions import NotAllowed
from bot.services.volunteers import roster, task_work, tasks, widening
from models import (
    OrgUnit,
    OutboxMessage,
    OutboxStatus,
    Person,
    Request,
    Role,
    RoleGrant,
    ServiceRecord,
    TaskPush,
    TeamPairing,
    UnitKind,
    VolunteerProfile,
    VolunteerTask,
)
from tests import factories as f
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    TestDB,
    create_postgres_database,
    drop_postgres_database,
)

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Jimo


async def _volunteer(
    session: AsyncSession,
    team: OrgUnit,
    skills: list[str],
    availability: dict[str, object] | None = None,
) -> Person:
    person = await f.person(session, role=Role.volunteer, unit=team)
    session.add(
        VolunteerProfile(
            person_id=person.id, team_id=team.id, skills=skills, availability=availability or {}
        )
    )
    await session.flush()
    return person


async def _setup(session: AsyncSession) -> tuple[f.Org, OrgUnit, OrgUnit, Request]:
    org = await f.org(session)
    paired = await f.unit(session, kind=UnitKind.team, parent=org.district)
    other = await f.unit(session, kind=UnitKind.team, parent=org.district)
    elsewhere = await f.unit(session, kind=UnitKind.community, parent=org.street)
    session.add_all(
        [
            TeamPairing(team_id=paired.id, community_id=org.community.id),
            TeamPairing(team_id=other.id, community_id=elsewhere.id),
        ]
    )
    electrical = await f.category(session, slug="light-el", skill="electrical")
    request = await f.request(session, org=org, category=electrical, now=NOW)
    return org, paired, other, request


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
    return int((await session.execute(query)).scalar_one())


async def test_push_goes_to_matching_available_volunteers_then_widens(
    db: TestDB, settings: Settings
) -> None:
    async with db.sessions() as session, session.begin():
        org, paired, other, request = await _setup(session)
        match = await _volunteer(session, paired, ["electrical", "plumbing"])
        weekend_only = await _volunteer(session, paired, ["electrical"], {"days": "weekends"})
        wrong_skill = await _volunteer(session, paired, ["masonry"])
        revoked = await _volunteer(session, paired, ["electrical"])
        await session.execute(
            RoleGrant.__table__.delete().where(RoleGrant.person_id == revoked.id)  # type: ignore[attr-defined]
        )
        far = await _volunteer(session, other, ["electrical"])

        with pytest.raises(NotAllowed):  # a volunteer is not the owner unit's staff
            await tasks.create_from_request(
                session, request=request, actor=match, now=NOW, settings=settings
            )
        task, pushed = await tasks.create_from_request(
            session, request=request, actor=org.staff, now=NOW, settings=settings
        )
        assert (task.skill, task.community_id, pushed) == ("electrical", org.community.id, 1)
        assert await tasks.pushed_people(session, task_id=task.id) == {match.id}

        # Not yet: nothing happens before the widening time.
        assert (
            await widening.widen_unclaimed(
                session, now=NOW + timedelta(minutes=59), settings=settings
            )
            == []
        )
        later = NOW + timedelta(minutes=61)
        assert [
            t.id for t in await widening.widen_unclaimed(session, now=later, settings=settings)
        ] == [task.id]
        assert task.stage == 1
        assert await tasks.pushed_people(session, task_id=task.id) == {match.id, far.id}
        staff_rows = await _count(session, OutboxMessage, OutboxMessage.person_id == org.staff.id)
        # Still unclaimed after another hour: the owner unit's staff are told.
        await widening.widen_unclaimed(
            session, now=later + timedelta(minutes=61), settings=settings
        )
        assert task.stage == 2
        assert (
            await _count(session, OutboxMessage, OutboxMessage.person_id == org.staff.id)
            == staff_rows + 1
        )
        assert weekend_only.id not in await tasks.pushed_people(session, task_id=task.id)
        assert wrong_skill.id not in await tasks.pushed_people(session, task_id=task.id)


async def test_claim_done_rate_and_cannot_do(db: TestDB, settings: Settings) -> None:
    async with db.sessions() as session, session.begin():
        org, paired, _other, request = await _setup(session)
        first = await _volunteer(session, paired, ["electrical"])
        second = await _volunteer(session, paired, ["electrical"])
        task, _ = await tasks.create_from_request(
            session, request=request, actor=org.staff, now=NOW, settings=settings
        )
        assert await tasks.claim(session, task_id=task.id, person=first, now=NOW, settings=settings)
        assert not await tasks.claim(
            session, task_id=task.id, person=second, now=NOW, settings=settings
        )
        # The loser's push was never sent: it is cancelled instead of edited.
        second_push = (
            await session.execute(
                select(OutboxMessage.status)
                .join(TaskPush, TaskPush.outbox_id == OutboxMessage.id)
                .where(TaskPush.person_id == second.id)
            )
        ).scalar_one()
        assert second_push == OutboxStatus.cancelled
        with pytest.raises(NotAllowed):
            await task_work.on_my_way(
                session, task_id=task.id, person=second, now=NOW, settings=settings
            )
        # Cannot do: back to the pool, pushed again to the other volunteer.
        assert (
            await task_work.release(
                session,
                task_id=task.id,
                person=first,
                reason="没带工具",
                now=NOW,
                settings=settings,
            )
            == 1
        )
        assert task.status == "open" and "没带工具" in task.note
        assert await tasks.claim(
            session, task_id=task.id, person=second, now=NOW, settings=settings
        )
        await task_work.on_my_way(
            session, task_id=task.id, person=second, now=NOW, settings=settings
        )
        record = await task_work.complete(
            session,
            task_id=task.id,
            person=second,
            hours=1.5,
            photos=["p1"],
            now=NOW + timedelta(hours=2),
            settings=settings,
        )
        assert (task.status, record.hours, record.team_id) == ("done", 1.5, paired.id)
        reporter = await session.get(Person, request.reporter_id)
        assert reporter is not None
        with pytest.raises(NotAllowed):
            await task_work.rate(session, task_id=task.id, person=second, rating=5, now=NOW)
        await task_work.rate(session, task_id=task.id, person=reporter, rating=4, now=NOW)
        summary = await roster.service_summary(session, person_id=second.id)
        assert (summary.tasks, summary.hours, summary.average_rating) == (1, 1.5, 4.0)


@pytest.mark.skipif(PG_URL is None, reason=PG_SKIP_REASON)
async def test_many_concurrent_claims_have_exactly_one_winner(settings: Settings) -> None:
    """On PostgreSQL, 25 volunteers press Claim at the same moment, each in its own
    connection and transaction: exactly one wins, the others see it taken."""
    url, name = await create_postgres_database("redgrid_race")
    engine = create_engine(url, pool_size=30)
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            org, paired, _other, request = await _setup(session)
            people = [await _volunteer(session, paired, ["electrical"]) for _ in range(25)]
            task, pushed = await tasks.create_from_request(
                session, request=request, actor=org.staff, now=NOW, settings=settings
            )
            assert pushed == 25
        go = asyncio.Event()

        async def press(person: Person) -> bool:
            async with sessions() as session, session.begin():
                await session.execute(select(1))  # connection checked out before the start
                await go.wait()
                return await tasks.claim(
                    session, task_id=task.id, person=person, now=NOW, settings=settings
                )

        pressing = [asyncio.create_task(press(p)) for p in people]
        await asyncio.sleep(0.2)
        go.set()
        results = await asyncio.gather(*pressing)
        assert results.count(True) == 1
        winner = people[results.index(True)]
        async with sessions() as session:
            stored = await session.get(VolunteerTask, task.id)
            assert stored is not None
            assert (stored.status, stored.claimed_by_id) == ("claimed", winner.id)
            assert await _count(session, ServiceRecord) == 0
    finally:
        await engine.dispose()
        await drop_postgres_database(name)
