"""Steward upkeep: weekly lights and monthly rain-pipe checks, once per period per compound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.services.dispatch import upkeep
from models import OutboxMessage, RequestStatus, UpkeepRun
from tests import factories as f
from tests.conftest import TestDB

# Wednesday 2026-03-04, 10:00 in Jimo.
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def test_periods_follow_the_local_calendar() -> None:
    config = f.settings()
    assert upkeep.period_of("week", now=NOW, settings=config)[0] == "2026-W10"
    period, ends = upkeep.period_of("month", now=NOW, settings=config)
    assert period == "2026-03"
    assert ends.astimezone(config.tz).isoformat() == "2026-04-01T00:00:00+08:00"
    _, week_end = upkeep.period_of("week", now=NOW, settings=config)
    assert week_end.astimezone(config.tz).isoformat() == "2026-03-09T00:00:00+08:00"
    # 23:30 UTC on Sunday is already Monday in Jimo: a new week.
    late = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    assert upkeep.period_of("week", now=late, settings=config)[0] == "2026-W11"


async def test_created_once_per_period_owned_by_the_workstation(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        await f.category(session, slug="plumbing", sla_hours=24)
        made = await upkeep.create_due_upkeep(session, now=NOW, settings=config)
        assert len(made) == 2
        for request in made:
            assert request.owner_unit_id == org.workstation.id
            assert request.compound_id == org.compound_b.id
            assert request.reporter_id is None
            assert request.status == RequestStatus.submitted
            assert request.accept_by is not None and request.resolve_by is not None
            assert request.accept_by <= request.resolve_by
        lights = next(r for r in made if "照明" in r.description)
        assert lights.resolve_by == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)  # Monday 00:00 local
        pushed = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.person_id == org.steward.id)
                )
            )
            .scalars()
            .all()
        )
        assert len(pushed) == 2
        # Idempotent: again now, or later the same week, makes nothing.
        assert await upkeep.create_due_upkeep(session, now=NOW, settings=config) == []
        later = NOW + timedelta(days=2)
        assert await upkeep.create_due_upkeep(session, now=later, settings=config) == []
        # Next week: only the weekly check.
        next_week = NOW + timedelta(days=7)
        again = await upkeep.create_due_upkeep(session, now=next_week, settings=config)
        assert [r.description for r in again] == [lights.description.replace("W10", "W11")]


async def test_compound_settings_change_the_checks(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        await f.category(session, slug="plumbing")
        compound = org.compound_b.id
        await upkeep.set_plan(
            session,
            compound_id=compound,
            kind="rain_pipes",
            category_slug="plumbing",
            every="month",
            active=False,
        )
        await upkeep.set_plan(
            session, compound_id=compound, kind="lights", category_slug="lighting", every="month"
        )
        states = await upkeep.plan_states(session, compound_id=compound)
        plans = [plan for plan in states if plan.active]
        assert plans == [upkeep.PlanSpec("lights", "lighting", "month")]
        made = await upkeep.create_due_upkeep(session, now=NOW, settings=config)
        assert len(made) == 1 and "2026-03" in made[0].description


async def test_a_period_already_claimed_by_another_worker_is_skipped(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        await f.category(session, slug="plumbing")
        session.add(
            UpkeepRun(
                compound_id=org.compound_b.id, kind="lights", period="2026-W10", created_at=NOW
            )
        )
        await session.flush()
        made = await upkeep.create_due_upkeep(session, now=NOW, settings=config)
        assert len(made) == 1 and "雨水管" in made[0].description
        runs = (await session.execute(select(UpkeepRun))).scalars().all()
        assert len(runs) == 2
