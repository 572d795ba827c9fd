"""Read-only views of meetings: households and their answers, and meetings by person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.meetings.attendance import CHECK_IN_CLOSES
from bot.services.meetings.audience import in_scope
from bot.services.meetings.convene import CONVENER_ROLES
from bot.services.meetings.poll_rules import Household
from bot.services.org import scope
from models import Meeting, MeetingInvitation, MeetingStatus, OrgUnit, Person, Rsvp


@dataclass(slots=True)
class HouseholdRow:
    """One registered household, its residents and their answers."""

    household: Household
    members: list[tuple[Person, MeetingInvitation]]


@dataclass(slots=True)
class Attendance:
    """What the organiser sees: households, answers, check-ins and the unregistered count."""

    households: list[HouseholdRow]
    expected: int
    counts: dict[str, int]
    checked_in_households: int

    @property
    def unregistered(self) -> int:
        return max(self.expected - len(self.households), 0)


async def attendance(session: AsyncSession, *, meeting: Meeting) -> Attendance:
    """Invitations grouped by household, with RSVP counts per household."""
    stmt = (
        select(MeetingInvitation, Person)
        .join(Person, Person.id == MeetingInvitation.person_id)
        .where(MeetingInvitation.meeting_id == meeting.id)
        .order_by(MeetingInvitation.building_id, MeetingInvitation.unit_room, Person.id)
    )
    groups: dict[Household, HouseholdRow] = {}
    for invitation, person in (await session.execute(stmt)).all():
        key = (invitation.building_id, invitation.unit_room.strip() or f"#{person.id}")
        groups.setdefault(key, HouseholdRow(key, [])).members.append((person, invitation))
    counts = {r.value: 0 for r in Rsvp}
    checked = 0
    for row in groups.values():
        answers = [inv.response for _, inv in row.members]
        best = next(
            (r for r in (Rsvp.coming, Rsvp.view, Rsvp.not_coming) if r in answers), Rsvp.pending
        )
        counts[best.value] += 1
        checked += any(inv.checked_in_at is not None for _, inv in row.members)
    return Attendance(list(groups.values()), meeting.expected_households, counts, checked)


async def list_for_person(
    session: AsyncSession, *, person: Person, now: datetime, limit: int = 10
) -> tuple[list[Meeting], list[Meeting]]:
    """Upcoming and past meetings in the person's scope (where they live or hold staff rights)."""
    invited = set(
        (
            await session.execute(
                select(MeetingInvitation.meeting_id).where(MeetingInvitation.person_id == person.id)
            )
        ).scalars()
    )
    staff_units: set[int] = set()
    units = await scope.granted_units(session, person_id=person.id, roles=CONVENER_ROLES)
    if units:
        subtree = select(OrgUnit.id).where(scope.within(units, OrgUnit.path))
        staff_units = set((await session.execute(subtree)).scalars())
    conditions = [Meeting.id.in_(invited), Meeting.organiser_id == person.id]
    if staff_units:
        conditions.append(Meeting.unit_id.in_(staff_units))
    if person.compound_id is not None:
        conditions.append(Meeting.compound_id == person.compound_id)
    stmt = select(Meeting).where(or_(*conditions)).order_by(Meeting.id.desc()).limit(200)
    visible = [
        m
        for m in (await session.execute(stmt)).scalars()
        if m.id in invited
        or m.organiser_id == person.id
        or m.unit_id in staff_units
        or in_scope(m, person)
    ]
    upcoming = sorted(
        (m for m in visible if is_upcoming(m, now)),
        key=lambda m: (m.starts_at or m.created_at, m.id),
    )
    past = [m for m in visible if not is_upcoming(m, now)]
    return upcoming[:limit], past[:limit]


def is_upcoming(meeting: Meeting, now: datetime) -> bool:
    """Scheduled and not yet over (a poll without a meeting is upcoming until its outcome)."""
    if meeting.status != MeetingStatus.scheduled:
        return False
    return meeting.starts_at is None or meeting.starts_at + CHECK_IN_CLOSES > now
