"""Red-wrench volunteers: skills and availability, service records, team summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed
from bot.services.org import scope
from models import (
    HELD_TASK_STATUSES,
    Person,
    Role,
    ServiceRecord,
    VolunteerProfile,
    VolunteerTask,
)

SKILLS: tuple[str, ...] = (
    "plumbing",
    "electrical",
    "masonry",
    "painting",
    "paving",
    "welding",
    "gardening",
    "cleaning",
    "mediation",
)
DAYS = ("all", "weekdays", "weekends")
TIMES: dict[str, tuple[int, int]] = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 22)}


def available(availability: dict[str, Any] | None, *, at: datetime, settings: Settings) -> bool:
    """True when a volunteer's stated availability covers the moment `at` (none: always)."""
    if not availability:
        return True
    local = at.astimezone(settings.tz)
    days = availability.get("days", "all")
    if days == "weekdays" and local.weekday() >= 5:
        return False
    if days == "weekends" and local.weekday() < 5:
        return False
    times = [TIMES[name] for name in availability.get("times") or () if name in TIMES]
    return not times or any(start <= local.hour < end for start, end in times)


async def require_volunteer(session: AsyncSession, *, person: Person) -> VolunteerProfile:
    """The person's profile, if they still hold the volunteer role on its team."""
    profile = await session.get(VolunteerProfile, person.id)
    if profile is None or not await scope.holds_role(
        session, person_id=person.id, roles=[Role.volunteer], unit_id=profile.team_id
    ):
        raise NotAllowed("volunteer.error.not_volunteer")
    return profile


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    tasks: int
    hours: float
    rated: int
    average_rating: float | None


async def service_summary(session: AsyncSession, *, person_id: int) -> ServiceSummary:
    """A volunteer's service record: tasks done, hours, average rating."""
    query = select(
        func.count(ServiceRecord.id),
        func.coalesce(func.sum(ServiceRecord.hours), 0.0),
        func.count(ServiceRecord.rating),
        func.avg(ServiceRecord.rating),
    ).where(ServiceRecord.person_id == person_id)
    tasks, hours, rated, average = (await session.execute(query)).one()
    return ServiceSummary(
        int(tasks), float(hours), int(rated), float(average) if average is not None else None
    )


async def list_for_volunteer(session: AsyncSession, *, person_id: int) -> list[VolunteerTask]:
    """The tasks the volunteer holds (claimed or on the way), oldest first."""
    query = (
        select(VolunteerTask)
        .where(
            VolunteerTask.claimed_by_id == person_id, VolunteerTask.status.in_(HELD_TASK_STATUSES)
        )
        .order_by(VolunteerTask.claimed_at, VolunteerTask.id)
    )
    return list((await session.execute(query)).scalars())


async def update_profile(
    session: AsyncSession, *, person: Person, skills: Sequence[str], availability: dict[str, Any]
) -> VolunteerProfile:
    """Save a volunteer's skills and availability (unknown skills are dropped)."""
    profile = await require_volunteer(session, person=person)
    profile.skills = [skill for skill in SKILLS if skill in set(skills)]
    profile.availability = dict(availability)
    await session.flush()
    return profile


@dataclass(frozen=True, slots=True)
class TeamSummary:
    members: list[tuple[Person, VolunteerProfile]]
    open_tasks: list[VolunteerTask]
    hours_this_period: float


async def require_leader(session: AsyncSession, *, person: Person) -> VolunteerProfile:
    """The profile of a team leader who still holds the volunteer role on the team."""
    profile = await require_volunteer(session, person=person)
    if not profile.is_leader:
        raise NotAllowed("volunteer.error.not_leader")
    return profile


async def team_summary(
    session: AsyncSession, *, team_id: int, since: datetime, until: datetime
) -> TeamSummary:
    """A team's members, the tasks its members hold, and its hours in [since, until)."""
    members = (
        await session.execute(
            select(Person, VolunteerProfile)
            .join(VolunteerProfile, VolunteerProfile.person_id == Person.id)
            .where(VolunteerProfile.team_id == team_id, Person.deleted_at.is_(None))
            .order_by(Person.id)
        )
    ).all()
    member_ids = [person.id for person, _ in members]
    held = select(VolunteerTask).where(
        VolunteerTask.claimed_by_id.in_(member_ids), VolunteerTask.status.in_(HELD_TASK_STATUSES)
    )
    hours = select(func.coalesce(func.sum(ServiceRecord.hours), 0.0)).where(
        ServiceRecord.team_id == team_id,
        ServiceRecord.created_at >= since,
        ServiceRecord.created_at < until,
    )
    return TeamSummary(
        members=[(person, profile) for person, profile in members],
        open_tasks=list((await session.execute(held.order_by(VolunteerTask.id))).scalars()),
        hours_this_period=float((await session.execute(hours)).scalar_one()),
    )
