"""Several workers running the same sweeps at the same moment on one PostgreSQL database:
every reminder, escalation and whistle escalation still happens exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import scheduler
from bot.db import session_factory
from bot.services.whistles import summons
from models import OutboxMessage, RequestEvent, Role, ScheduleMark, UnitKind
from tests import factories as f
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    migrated_postgres,
)

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]
WORKERS = 4
REQUESTS = 30


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    """A database of its own: the workers need real, separately committed connections."""
    async with migrated_postgres("redgrid_sweeps", pool_size=WORKERS) as engine:
        yield engine


async def _count(engine: AsyncEngine, query: object) -> int:
    async with session_factory(engine)() as session:
        return int((await session.execute(query)).scalar_one())  # type: ignore[call-overload]


def _events(kind: str) -> object:
    return select(func.count()).select_from(RequestEvent).where(RequestEvent.kind == kind)


async def test_concurrent_sweeps_act_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    config = f.settings()
    async with sessions() as session, session.begin():
        org = await f.org(session)
        requests = [await f.request(session, org=org) for _ in range(REQUESTS)]
        departments = [org.department, await f.unit(session, kind=UnitKind.department)]
        for department in departments:
            await f.person(session, role=Role.department_liaison, unit=department)
        await f.person(session, role=Role.admin, unit=org.street)
        await summons.blow(
            session,
            request=requests[0],
            department_ids=[d.id for d in departments],
            actor=org.staff,
            now=f.NOW,
            settings=config,
        )
    staff_rows = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.person_id == org.staff.id)
    )
    before = await _count(engine, staff_rows)

    async def race(name: str, clock: Clock) -> list[int]:
        runs = (
            scheduler.run_job(name, sessions=sessions, settings=config, clock=clock)
            for _ in range(WORKERS)
        )
        return list(await asyncio.gather(*runs))

    clock = Clock(f.NOW + timedelta(minutes=95))  # a quarter of the 2 h accept window left
    assert sum(await race("reminders", clock)) == REQUESTS
    assert await _count(engine, _events("reminder")) == REQUESTS
    assert await _count(engine, select(func.count()).select_from(ScheduleMark)) == REQUESTS
    assert await _count(engine, staff_rows) == before + REQUESTS
    assert sum(await race("reminders", clock)) == 0

    clock.advance(minutes=30)  # accept deadlines (2 h) passed; whistles (30 min) too
    assert sum(await race("escalate", clock)) == REQUESTS
    assert await _count(engine, _events("escalate")) == REQUESTS
    assert sum(await race("whistles", clock)) == len(departments)
    assert await _count(engine, _events("whistle_escalated")) == len(departments)
    assert sum(await race("escalate", clock)) + sum(await race("whistles", clock)) == 0
