"""Doorstep meetings (红马扎): who may convene and manage one, and convening it.
Answers and check-in live in `attendance`, minutes / outcome / cancellation in `outcome`,
the scope and its households in `audience`.

Rights: grid staff or admins convene for a scope inside their grant (every building of it);
the organiser and staff over the meeting's unit manage it; only residents of the scope answer
and vote. Every function re-checks, so forged button data changes nothing. Never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.comms import notify
from bot.services.meetings import cards
from bot.services.meetings.attendance import new_invitation
from bot.services.meetings.audience import Scope, household_of, scope_residents
from bot.services.meetings.outcome import timeline_event
from bot.services.org import scope
from models import (
    EventKind,
    Meeting,
    MeetingKind,
    Person,
    Request,
    Role,
    ScopeKind,
)

CONVENER_ROLES: frozenset[Role] = frozenset({Role.grid_staff, Role.admin})


async def can_convene(session: AsyncSession, *, person: Person, scope_: Scope) -> bool:
    """True when the person is grid staff or admin over every building of the scope."""
    grids = {b.grid_id for b in scope_.buildings} or {scope_.compound.community_id}
    for unit_id in sorted(grids):
        if not await scope.holds_role(
            session, person_id=person.id, roles=CONVENER_ROLES, unit_id=unit_id
        ):
            return False
    return True


def _owner_unit(scope_: Scope) -> int:
    grids = {b.grid_id for b in scope_.buildings}
    return grids.pop() if len(grids) == 1 else scope_.compound.community_id


async def may_manage(session: AsyncSession, *, meeting: Meeting, person: Person) -> bool:
    """The organiser, or grid staff / admin over the meeting's unit."""
    if meeting.organiser_id == person.id:
        return True
    return await scope.holds_role(
        session, person_id=person.id, roles=CONVENER_ROLES, unit_id=meeting.unit_id
    )


async def get_managed(session: AsyncSession, *, meeting_id: int, person: Person) -> Meeting:
    """A meeting the person may manage, else NotFound / NotAllowed."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("meeting.not_found")
    if not await may_manage(session, meeting=meeting, person=person):
        raise NotAllowed("core.not_allowed")
    return meeting


async def convene(
    session: AsyncSession,
    *,
    organiser: Person,
    scope_: Scope,
    topic: str,
    kind: MeetingKind = MeetingKind.meeting,
    request: Request | None = None,
    place: str = "",
    starts_at: datetime | None = None,
    now: datetime,
    settings: Settings,
) -> Meeting:
    """Create a meeting (or a poll without one) and push the invitation to every resident."""
    if not await can_convene(session, person=organiser, scope_=scope_):
        raise NotAllowed("core.not_allowed")
    meeting = Meeting(
        kind=kind,
        topic=topic.strip()[:300],
        request_id=request.id if request is not None else None,
        organiser_id=organiser.id,
        unit_id=_owner_unit(scope_),
        scope_kind=scope_.kind,
        compound_id=scope_.compound.id,
        building_id=scope_.buildings[0].id if scope_.kind != ScopeKind.compound else None,
        units=list(scope_.units),
        place=place.strip()[:300],
        starts_at=starts_at if kind == MeetingKind.meeting else None,
        created_at=now,
    )
    session.add(meeting)
    await session.flush()
    residents = await scope_residents(session, meeting=meeting)
    registered = {household_of(p) for p in residents}
    meeting.expected_households = max(scope_.expected_households(), len(registered))
    session.add_all(new_invitation(meeting, p, now=now) for p in residents)
    await session.flush()
    if request is not None:
        note = cards.timeline_note(meeting, settings, key="convened")
        session.add(timeline_event(request, organiser, EventKind.meeting_convened, note, now))
    await notify.notify_persons(
        session,
        kind="meeting",
        person_ids=[p.id for p in residents],
        render=lambda loc: cards.invitation(meeting, loc, settings=settings),
        request_id=meeting.request_id,
        settings=settings,
    )
    return meeting
