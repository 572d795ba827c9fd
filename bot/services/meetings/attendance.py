"""Residents' side of a doorstep meeting (红马扎): their invitation, their answer (RSVP or a
view), and check-in at the meeting. Only residents of the scope answer; never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import NotAllowed, NotFound
from bot.services.meetings.audience import in_scope
from models import (
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingStatus,
    Person,
    Rsvp,
)

# Check-in (button or QR) is open from shortly before the start until the meeting is surely over.
CHECK_IN_OPENS = timedelta(hours=2)
CHECK_IN_CLOSES = timedelta(hours=6)


def new_invitation(meeting: Meeting, person: Person, *, now: datetime) -> MeetingInvitation:
    """An invitation for the person's household as it is now (not yet added to the session)."""
    return MeetingInvitation(
        meeting_id=meeting.id,
        person_id=person.id,
        building_id=person.building_id,
        unit_room=person.unit_room,
        invited_at=now,
    )


async def invitation_for(
    session: AsyncSession, *, meeting: Meeting, person: Person, now: datetime
) -> MeetingInvitation:
    """The person's invitation, made now if they moved into the scope since; else NotAllowed."""
    found = await session.get(MeetingInvitation, (meeting.id, person.id))
    if not in_scope(meeting, person):
        raise NotAllowed("core.not_allowed")
    if found is None:
        found = new_invitation(meeting, person, now=now)
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
