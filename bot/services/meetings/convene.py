"""Doorstep meetings (红马扎): convene a scope's households, RSVP, check in, minutes, outcome.

Rights: grid staff or admins convene for a scope inside their grant (every building of it);
the organiser and staff over the meeting's unit manage it; only residents of the scope answer
and vote. Every function re-checks, so forged button data changes nothing. Never commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.comms import notify
from bot.services.meetings import cards
from bot.services.meetings.poll_rules import Household
from bot.services.org import scope
from models import (
    Building,
    Compound,
    EventKind,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingStatus,
    OutboxMessage,
    Person,
    Poll,
    PollStatus,
    Request,
    RequestEvent,
    Role,
    Rsvp,
    ScopeKind,
    Visibility,
)

CONVENER_ROLES: frozenset[Role] = frozenset({Role.grid_staff, Role.admin})
# Check-in (button or QR) is open from shortly before the start until the meeting is surely over.
CHECK_IN_OPENS = timedelta(hours=2)
CHECK_IN_CLOSES = timedelta(hours=6)
# A meeting called off this close to its start is news even in quiet hours: nobody should come
# to the doorstep in vain.
CANCEL_URGENT_WITHIN = timedelta(hours=12)
_UNIT = re.compile(r"^\s*(\d+)\s*(?:-|单元|/)")


def unit_of(unit_room: str) -> str:
    """The unit (单元) number of a "2-301" style address, or "" when it has none."""
    match = _UNIT.match(unit_room or "")
    return match.group(1) if match else ""


def household_of(person: Person) -> Household:
    """A person's household; without a room a person is a household of their own."""
    room = (person.unit_room or "").strip()
    return (person.building_id, room or f"#{person.id}")


def in_scope(meeting: Meeting, person: Person) -> bool:
    """True when the person lives in the meeting's scope (and is not erased)."""
    if person.deleted_at is not None:
        return False
    if meeting.scope_kind == ScopeKind.compound:
        return person.compound_id == meeting.compound_id
    if person.building_id is None or person.building_id != meeting.building_id:
        return False
    return meeting.scope_kind == ScopeKind.building or unit_of(person.unit_room) in meeting.units


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a meeting is for: one building, some of its units, or a whole compound."""

    kind: ScopeKind
    compound: Compound
    buildings: list[Building]
    units: list[str] = field(default_factory=list)

    def expected_households(self) -> int:
        """Households by the place data (registered or not)."""
        if self.kind == ScopeKind.units and self.buildings:
            building = self.buildings[0]
            per_unit = building.households / max(building.units, 1)
            return round(per_unit * len(self.units))
        total = sum(b.households for b in self.buildings)
        return total or (self.compound.households if self.kind == ScopeKind.compound else 0)


async def load_scope(
    session: AsyncSession,
    *,
    kind: ScopeKind,
    compound_id: int | None = None,
    building_id: int | None = None,
    units: Sequence[str] = (),
) -> Scope:
    """The scope named by ids, checked for consistency (NotFound otherwise)."""
    building = await session.get(Building, building_id) if building_id else None
    if kind != ScopeKind.compound:
        if building is None:
            raise NotFound("meeting.not_found")
        compound_id = building.compound_id
    compound = await session.get(Compound, compound_id) if compound_id else None
    if compound is None:
        raise NotFound("meeting.not_found")
    if kind == ScopeKind.compound:
        stmt = select(Building).where(Building.compound_id == compound.id).order_by(Building.id)
        buildings = list((await session.execute(stmt)).scalars())
        return Scope(kind, compound, buildings)
    assert building is not None
    chosen = sorted({u for u in units if u.isdigit()}, key=int) if kind == ScopeKind.units else []
    if kind == ScopeKind.units and not chosen:
        raise NotFound("meeting.not_found")
    return Scope(kind, compound, [building], chosen)


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


async def scope_residents(session: AsyncSession, *, meeting: Meeting) -> list[Person]:
    """Registered residents living in the meeting's scope, by id."""
    stmt = select(Person).where(Person.deleted_at.is_(None))
    if meeting.scope_kind == ScopeKind.compound:
        stmt = stmt.where(Person.compound_id == meeting.compound_id)
    else:
        stmt = stmt.where(Person.building_id == meeting.building_id)
    people = (await session.execute(stmt.order_by(Person.id))).scalars()
    return [p for p in people if in_scope(meeting, p)]


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
    session.add_all(
        MeetingInvitation(
            meeting_id=meeting.id,
            person_id=p.id,
            building_id=p.building_id,
            unit_room=p.unit_room,
            invited_at=now,
        )
        for p in residents
    )
    await session.flush()
    if request is not None:
        note = cards.timeline_note(meeting, settings, key="convened")
        session.add(_timeline(request, organiser, EventKind.meeting_convened, note, now))
    await notify.notify_persons(
        session,
        person_ids=[p.id for p in residents],
        render=lambda loc: cards.invitation(meeting, loc, settings=settings),
        request_id=meeting.request_id,
        settings=settings,
    )
    return meeting


async def invitation_for(
    session: AsyncSession, *, meeting: Meeting, person: Person, now: datetime
) -> MeetingInvitation:
    """The person's invitation, made now if they moved into the scope since; else NotAllowed."""
    found = await session.get(MeetingInvitation, (meeting.id, person.id))
    if not in_scope(meeting, person):
        raise NotAllowed("core.not_allowed")
    if found is None:
        found = MeetingInvitation(
            meeting_id=meeting.id,
            person_id=person.id,
            building_id=person.building_id,
            unit_room=person.unit_room,
            invited_at=now,
        )
        session.add(found)
    # The household is where the person lives now.
    found.building_id, found.unit_room = person.building_id, person.unit_room
    await session.flush()
    return found


async def get_open(session: AsyncSession, *, meeting_id: int) -> Meeting:
    """A meeting still taking answers, else NotFound."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("meeting.not_found")
    require_scheduled(meeting)
    return meeting


def refuse_cancelled(meeting: Meeting) -> None:
    """NotFound for a meeting that was called off: nothing more is done with it."""
    if meeting.status == MeetingStatus.cancelled:
        raise NotFound("meeting.cancelled")


def require_scheduled(meeting: Meeting) -> None:
    """NotFound, in words that say why, unless the meeting is still to take place."""
    refuse_cancelled(meeting)
    if meeting.status != MeetingStatus.scheduled:
        raise NotFound("meeting.over")


async def respond(
    session: AsyncSession,
    *,
    meeting: Meeting,
    person: Person,
    response: Rsvp,
    view_text: str = "",
    now: datetime,
) -> MeetingInvitation:
    """Record a resident's answer: coming, not coming, or a view instead."""
    invitation = await invitation_for(session, meeting=meeting, person=person, now=now)
    invitation.response = response
    if view_text.strip():
        invitation.view_text = view_text.strip()[:2000]
    invitation.responded_at = now
    await session.flush()
    return invitation


async def check_in(
    session: AsyncSession, *, meeting: Meeting, person: Person, now: datetime
) -> tuple[MeetingInvitation, bool]:
    """Mark a resident present; returns (invitation, whether this was the first check-in)."""
    if meeting.kind != MeetingKind.meeting:
        raise NotFound("meeting.not_found")
    invitation = await invitation_for(session, meeting=meeting, person=person, now=now)
    if not check_in_open(meeting, now):
        raise NotFound("meeting.check_in_closed", opens=CHECK_IN_OPENS.seconds // 3600)
    first = invitation.checked_in_at is None
    if first:
        invitation.checked_in_at = now
        if invitation.response in (Rsvp.pending, Rsvp.not_coming, Rsvp.view):
            invitation.response = Rsvp.coming
            invitation.responded_at = now
    await session.flush()
    return invitation, first


def check_in_open(meeting: Meeting, now: datetime) -> bool:
    """True from CHECK_IN_OPENS before the start to CHECK_IN_CLOSES after it."""
    if meeting.status != MeetingStatus.scheduled or meeting.starts_at is None:
        return False
    return meeting.starts_at - CHECK_IN_OPENS <= now <= meeting.starts_at + CHECK_IN_CLOSES


async def invitee_ids(session: AsyncSession, *, meeting: Meeting) -> list[int]:
    """Ids of the invited residents."""
    stmt = select(MeetingInvitation.person_id).where(MeetingInvitation.meeting_id == meeting.id)
    return sorted((await session.execute(stmt)).scalars())


def set_minutes(*, meeting: Meeting, text: str) -> None:
    """Store the minutes typed by the organiser (appended to earlier ones)."""
    text = text.strip()
    meeting.minutes = (meeting.minutes + "\n" + text).strip() if meeting.minutes else text


async def record_outcome(
    session: AsyncSession,
    *,
    meeting: Meeting,
    actor: Person,
    decision: str,
    actions: str,
    polls: Sequence[cards.PollWithOptions] = (),
    now: datetime,
    settings: Settings,
) -> RequestEvent | None:
    """Record the outcome, post it to the request's timeline and to the invited residents.
    Once: like `cancel`, the status moves with one conditional UPDATE."""
    await _leave_scheduled(
        session,
        meeting,
        status=MeetingStatus.held,
        held_at=now,
        decision=decision.strip()[:4000],
        actions=actions.strip()[:4000],
    )
    event, _sent = await _tell(
        session,
        meeting=meeting,
        actor=actor,
        kind=EventKind.meeting_outcome,
        note=cards.outcome_note(meeting, settings, polls=polls),
        render=lambda loc: cards.outcome(meeting, loc, polls=polls),
        now=now,
        settings=settings,
    )
    return event


async def cancel(
    session: AsyncSession,
    *,
    meeting: Meeting,
    actor: Person,
    reason: str,
    now: datetime,
    settings: Settings,
) -> int:
    """Call a scheduled meeting (or poll) off, once: its open ballots stop without a result,
    the request's timeline says so, and the invited residents (and the request's reporter)
    hear it with the reason. Returns how many people were told."""
    await _leave_scheduled(
        session,
        meeting,
        status=MeetingStatus.cancelled,
        cancelled_at=now,
        cancel_reason=reason.strip()[:1000],
    )
    open_polls = await session.execute(
        select(Poll).where(Poll.meeting_id == meeting.id, Poll.status == PollStatus.open)
    )
    for poll in open_polls.scalars():
        poll.status, poll.closed_at = PollStatus.closed, now
    _event, sent = await _tell(
        session,
        meeting=meeting,
        actor=actor,
        kind=EventKind.meeting_cancelled,
        note=cards.cancelled_note(meeting, settings),
        render=lambda loc: cards.cancelled(meeting, loc, settings=settings),
        urgent=meeting.starts_at is not None and meeting.starts_at - now < CANCEL_URGENT_WITHIN,
        now=now,
        settings=settings,
    )
    return len({row.person_id for row in sent})


async def _leave_scheduled(session: AsyncSession, meeting: Meeting, **values: object) -> None:
    """Move a scheduled meeting on (held or called off) with one conditional UPDATE, then
    reload it: of two organisers acting at once, or an outcome and a cancellation, exactly one
    wins, and the other is refused in words that say why (NotFound)."""
    claimed = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.status == MeetingStatus.scheduled)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(meeting)
    if not getattr(claimed, "rowcount", 0):
        require_scheduled(meeting)  # raises: it was held or called off meanwhile


async def _tell(
    session: AsyncSession,
    *,
    meeting: Meeting,
    actor: Person,
    kind: str,
    note: str,
    render: notify.Render,
    urgent: bool = False,
    now: datetime,
    settings: Settings,
) -> tuple[RequestEvent | None, list[OutboxMessage]]:
    """News of the meeting: `note` on its request's public timeline, and `render` pushed to
    the invited residents and the request's reporter, but not to the one who made it."""
    event: RequestEvent | None = None
    people = set(await invitee_ids(session, meeting=meeting))
    request = await session.get(Request, meeting.request_id) if meeting.request_id else None
    if request is not None:
        event = _timeline(request, actor, kind, note, now)
        session.add(event)
        if request.reporter_id is not None:
            people.add(request.reporter_id)
    await session.flush()
    people.discard(actor.id)
    sent = await notify.notify_persons(
        session,
        person_ids=people,
        render=render,
        request_id=meeting.request_id,
        urgent=urgent,
        settings=settings,
    )
    return event, sent


def _timeline(request: Request, actor: Person, kind: str, note: str, now: datetime) -> RequestEvent:
    """A public line in the request's history, by the person acting on the meeting."""
    return RequestEvent(
        request_id=request.id,
        at=now,
        actor_id=actor.id,
        kind=kind,
        note=note,
        visibility=Visibility.public,
        unit_id=request.owner_unit_id,
    )
