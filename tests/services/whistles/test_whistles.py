"""The red whistle: summoning departments, the liaisons' answers, escalation to the street."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.services.whistles import actions
from bot.services.whistles import summons as whistles
from models import (
    OutboxMessage,
    Person,
    Request,
    RequestEvent,
    RequestStatus,
    Role,
    UnitKind,
    WhistleSummons,
)
from tests import factories as f
from tests.conftest import TestDB

M = timedelta(minutes=1)


async def _to(session: AsyncSession, person: Person) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.person_id == person.id)
    return list((await session.execute(query.order_by(OutboxMessage.id))).scalars())


async def _kinds(session: AsyncSession, request: Request) -> list[str]:
    query = select(RequestEvent.kind).where(
        RequestEvent.request_id == request.id, RequestEvent.kind.like("whistle%")
    )
    return list((await session.execute(query.order_by(RequestEvent.id))).scalars())


async def _setup(session: AsyncSession) -> tuple[f.Org, Request, Person, Person]:
    org = await f.org(session)
    request = await f.request(session, org=org)
    liaison = await f.person(session, role=Role.department_liaison, unit=org.department)
    street_admin = await f.person(session, role=Role.admin, unit=org.street)
    return org, request, liaison, street_admin


async def test_blow_pushes_the_liaisons_with_buttons(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org, request, liaison, _ = await _setup(session)
        whistle = await whistles.blow(
            session,
            request=request,
            department_ids=[org.department.id],
            actor=org.staff,
            now=f.NOW,
            settings=config,
            note="water pouring into the stairwell",
        )
        [summons] = await whistles.list_summons(session, whistle_id=whistle.id)
        assert summons.ack_by == f.NOW + 30 * M
        assert summons.status == "summoned"
        [push] = await _to(session, liaison)
        assert push.urgent  # answered in minutes, quiet hours or not
        assert request.reference in push.payload["text"]
        assert "water pouring" in push.payload["text"]
        data = [b[1] for row in push.payload["buttons"] for b in row]
        assert data == [
            action.data(summons.id)
            for action in (actions.ACKNOWLEDGE, actions.ON_SITE, actions.DONE)
        ]
        assert await _kinds(session, request) == ["whistle"]


async def test_blow_refusals_change_nothing(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org, request, liaison, _ = await _setup(session)
        stranger = await f.person(session)
        other_grid_staff = await f.person(session, role=Role.grid_staff, unit=org.grid2)
        for actor in (stranger, other_grid_staff, liaison):
            with pytest.raises(NotAllowed):
                await whistles.blow(
                    session,
                    request=request,
                    department_ids=[org.department.id],
                    actor=actor,
                    now=f.NOW,
                    settings=config,
                )
        with pytest.raises(NotFound):  # a grid is no department
            await whistles.blow(
                session,
                request=request,
                department_ids=[org.grid.id],
                actor=org.staff,
                now=f.NOW,
                settings=config,
            )
        with pytest.raises(InvalidTransition):
            await whistles.blow(
                session,
                request=request,
                department_ids=[],
                actor=org.staff,
                now=f.NOW,
                settings=config,
            )
        request.status = RequestStatus.closed
        with pytest.raises(InvalidTransition):
            await whistles.blow(
                session,
                request=request,
                department_ids=[org.department.id],
                actor=org.staff,
                now=f.NOW,
                settings=config,
            )
        assert await _kinds(session, request) == []
        assert await _to(session, liaison) == []


async def test_acknowledged_in_time_never_escalates(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org, request, liaison, street_admin = await _setup(session)
        whistle = await whistles.blow(
            session,
            request=request,
            department_ids=[org.department.id],
            actor=org.staff,
            now=f.NOW,
            settings=config,
        )
        [summons] = await whistles.list_summons(session, whistle_id=whistle.id)
        staff_before = len(await _to(session, org.staff))
        _, _, changed = await whistles.answer(
            session,
            summons_id=summons.id,
            step="acknowledge",
            actor=liaison,
            now=f.NOW + 10 * M,
            settings=config,
        )
        assert changed and summons.acknowledged_at == f.NOW + 10 * M
        _, _, again = await whistles.answer(
            session,
            summons_id=summons.id,
            step="acknowledge",
            actor=liaison,
            now=f.NOW + 11 * M,
            settings=config,
        )
        assert not again and summons.acknowledged_at == f.NOW + 10 * M
        for step in ("on_site", "done"):
            await whistles.answer(
                session,
                summons_id=summons.id,
                step=step,
                actor=liaison,
                now=f.NOW + 20 * M,
                settings=config,
            )
        assert summons.status == "done"
        # The unit that blew hears each answer.
        assert len(await _to(session, org.staff)) == staff_before + 3
        for minutes in (31, 120):
            found = await whistles.escalate_unacknowledged(
                session, now=f.NOW + minutes * M, settings=config
            )
            assert found == []
        assert await _to(session, street_admin) == []
        assert await _kinds(session, request) == [
            "whistle",
            "whistle_acknowledged",
            "whistle_on_site",
            "whistle_done",
        ]


async def test_unacknowledged_escalates_to_the_street_once(db: TestDB) -> None:
    config = f.settings(whistles={"ack_minutes": 15})
    async with db.sessions() as session:
        org, request, liaison, street_admin = await _setup(session)
        second = await f.unit(session, kind=UnitKind.department, parent=org.district)
        whistle = await whistles.blow(
            session,
            request=request,
            department_ids=[org.department.id, second.id],
            actor=org.staff,
            now=f.NOW,
            settings=config,
        )
        first, _ = await whistles.list_summons(session, whistle_id=whistle.id)
        await whistles.answer(
            session,
            summons_id=first.id,
            step="acknowledge",
            actor=liaison,
            now=f.NOW + 5 * M,
            settings=config,
        )
        early = await whistles.escalate_unacknowledged(session, now=f.NOW + 14 * M, settings=config)
        assert early == []
        late = await whistles.escalate_unacknowledged(session, now=f.NOW + 16 * M, settings=config)
        assert [s.department_id for s in late] == [second.id]
        assert (
            await whistles.escalate_unacknowledged(session, now=f.NOW + 60 * M, settings=config)
            == []
        )
        [push] = await _to(session, street_admin)
        assert push.urgent and request.reference in push.payload["text"]
        assert (await _kinds(session, request)).count("whistle_escalated") == 1
        # The community admin is no street admin: not told.
        assert all(p.payload["text"] != push.payload["text"] for p in await _to(session, org.admin))


async def test_only_the_departments_liaisons_may_answer(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org, request, liaison, street_admin = await _setup(session)
        other_department = await f.unit(session, kind=UnitKind.department, parent=org.district)
        other_liaison = await f.person(session, role=Role.department_liaison, unit=other_department)
        whistle = await whistles.blow(
            session,
            request=request,
            department_ids=[org.department.id],
            actor=org.staff,
            now=f.NOW,
            settings=config,
        )
        [summons] = await whistles.list_summons(session, whistle_id=whistle.id)
        for intruder in (org.staff, street_admin, other_liaison):
            with pytest.raises(NotAllowed):
                await whistles.answer(
                    session,
                    summons_id=summons.id,
                    step="acknowledge",
                    actor=intruder,
                    now=f.NOW + M,
                    settings=config,
                )
        with pytest.raises(NotFound):
            await whistles.answer(
                session,
                summons_id=summons.id + 999,
                step="done",
                actor=liaison,
                now=f.NOW + M,
                settings=config,
            )
        fresh = await session.get(WhistleSummons, summons.id)
        assert fresh is not None and fresh.acknowledged_at is None and fresh.status == "summoned"
        assert await _kinds(session, request) == ["whistle"]
