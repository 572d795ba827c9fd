"""What becomes of a doorstep meeting (红马扎): its minutes, its recorded outcome, or its
cancellation, each told on the request's timeline and to the invited residents. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.comms import notify
from bot.services.meetings import cards
from bot.services.meetings.attendance import require_scheduled
from bot.services.meetings.audience import invitee_ids
from models import (
    EventKind,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
    Poll,
    PollStatus,
    Request,
    RequestEvent,
    Visibility,
)

# A meeting called off this close to its start is news even in quiet hours: nobody should come
# to the doorstep in vain.
CANCEL_URGENT_WITHIN = timedelta(hours=12)


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
        event = timeline_event(request, actor, kind, note, now)
        session.add(event)
        if request.reporter_id is not None:
            people.add(request.reporter_id)
    await session.flush()
    people.discard(actor.id)
    sent = await notify.notify_persons(
        session,
        kind="meeting",
        person_ids=people,
        render=render,
        request_id=meeting.request_id,
        urgent=urgent,
        settings=settings,
    )
    return event, sent


def timeline_event(
    request: Request, actor: Person, kind: str, note: str, now: datetime
) -> RequestEvent:
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
