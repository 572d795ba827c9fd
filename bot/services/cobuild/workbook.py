"""The dual-reporting workbook (.xlsx) for admins and operators: units with their ranking,
members and their hours of the period, needs, projects and their grades, for the communities
under a unit (`/export`, `redgrid export --kind cobuild`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.cobuild import grades
from bot.services.reports import sheets
from models import OrgUnit, Person, UnitKind
from models.cobuild import (
    Activity,
    Member,
    Need,
    NeedRequest,
    NeedSupport,
    Project,
    ReportingUnit,
    ServiceHours,
)

UNIT_COLUMNS = ("rank", "code", "name", "kind", "members", "hours", "grade", "on_time", "score")
HOURS_COLUMNS = ("activity", "title", "starts", "place", "member", "hours", "confirmed")
PROJECT_COLUMNS = (
    "id",
    "need",
    "unit",
    "plan",
    "people",
    "starts",
    "due",
    "status",
    "completed",
    "grade",
    "graded_by",
)


async def _communities(session: AsyncSession, unit: OrgUnit) -> dict[int, OrgUnit]:
    query = select(OrgUnit).where(
        OrgUnit.kind == UnitKind.community, OrgUnit.path.startswith(unit.path)
    )
    return {c.id: c for c in await session.scalars(query)}


async def _unit_rows(
    session: AsyncSession, *, now: datetime, settings: Settings, community_ids: list[int]
) -> list[list[Any]]:
    standings = await grades.ranking(session, now=now, settings=settings)
    members = select(Member.unit_id, func.count()).where(
        Member.community_id.in_(community_ids), Member.status == "confirmed"
    )
    counts = {uid: n for uid, n in (await session.execute(members.group_by(Member.unit_id))).all()}
    return [
        [
            place,
            s.unit.code,
            s.unit.name_zh,
            s.unit.kind.value,
            counts.get(s.unit.id, 0),
            round(s.hours, 1),
            s.grade,
            s.on_time,
            s.score,
        ]
        for place, s in enumerate(standings, 1)
    ]


async def _member_rows(
    session: AsyncSession,
    *,
    communities: dict[int, OrgUnit],
    start: datetime,
    end: datetime,
    demo_actor: bool,
    settings: Settings,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The members, and the ledger of their hours in the period."""
    query = (
        select(Member, Person, ReportingUnit)
        .join(Person, Person.id == Member.person_id)
        .join(ReportingUnit, ReportingUnit.id == Member.unit_id)
        .where(Member.community_id.in_(list(communities)))
        .order_by(Member.id)
    )
    rows = (await session.execute(query)).all()
    ledger_query = (
        select(ServiceHours, Activity)
        .join(Activity, Activity.id == ServiceHours.activity_id)
        .where(
            ServiceHours.member_id.in_([m.id for m, _p, _u in rows]),
            Activity.created_at >= start,
            Activity.created_at < end,
        )
        .order_by(Activity.id, ServiceHours.id)
    )
    ledger = (await session.execute(ledger_query)).all()
    hours: dict[int, float] = {}
    for entry, _activity in ledger:
        if entry.confirmed_at is not None:
            hours[entry.member_id] = hours.get(entry.member_id, 0.0) + (entry.hours or 0.0)
    members = [
        [
            m.id,
            p.display_name if (p.is_demo or not demo_actor) and p.deleted_at is None else "-",
            u.name_zh,
            communities[m.community_id].name_zh,
            m.status.value,
            round(hours.get(m.id, 0.0), 1),
        ]
        for m, p, u in rows
    ]
    entries = [
        [
            a.id,
            a.title,
            sheets.local_time(a.starts_at, settings),
            a.place,
            e.member_id,
            e.hours,
            "yes" if e.confirmed_at else "no",
        ]
        for e, a in ledger
    ]
    return members, entries


async def _need_rows(session: AsyncSession, *, communities: dict[int, OrgUnit]) -> list[list[Any]]:
    supports = select(func.count()).where(NeedSupport.need_id == Need.id).scalar_subquery()
    linked = select(func.count()).where(NeedRequest.need_id == Need.id).scalar_subquery()
    query = (
        select(Need, supports, linked)
        .where(Need.community_id.in_(list(communities)))
        .order_by(Need.id)
    )
    return [
        [n.id, communities[n.community_id].name_zh, n.title, n.status.value, s, r]
        for n, s, r in (await session.execute(query)).all()
    ]


async def _project_rows(
    session: AsyncSession, *, communities: dict[int, OrgUnit], now: datetime, settings: Settings
) -> list[list[Any]]:
    query = (
        select(Project, Need, ReportingUnit)
        .join(Need, Need.id == Project.need_id)
        .join(ReportingUnit, ReportingUnit.id == Project.unit_id)
        .where(Need.community_id.in_(list(communities)))
        .order_by(Project.id)
    )
    rows = []
    for p, n, u in (await session.execute(query)).all():
        result = await grades.result(session, project=p, now=now)
        rows.append(
            [
                p.id,
                n.title,
                u.name_zh,
                p.plan,
                p.people,
                p.starts_on,
                p.due_on,
                p.status.value,
                sheets.local_time(p.completed_at, settings),
                result.average if result else None,
                result.households if result else 0,
            ]
        )
    return rows


async def cobuild_workbook(
    session: AsyncSession,
    *,
    unit: OrgUnit,
    start: datetime,
    end: datetime,
    now: datetime,
    settings: Settings,
    demo_actor: bool = False,
) -> bytes:
    """Units (ranked), members, hours of the period, needs, projects and grades, as .xlsx."""
    communities = await _communities(session, unit)
    units = await _unit_rows(session, now=now, settings=settings, community_ids=list(communities))
    members, entries = await _member_rows(
        session,
        communities=communities,
        start=start,
        end=end,
        demo_actor=demo_actor,
        settings=settings,
    )
    need_rows = await _need_rows(session, communities=communities)
    project_rows = await _project_rows(session, communities=communities, now=now, settings=settings)
    return sheets.xlsx(
        [
            ("units", UNIT_COLUMNS, units),
            ("members", ("id", "name", "unit", "community", "status", "hours"), members),
            ("hours", HOURS_COLUMNS, entries),
            ("needs", ("id", "community", "title", "status", "households", "requests"), need_rows),
            ("projects", PROJECT_COLUMNS, project_rows),
        ]
    )
