"""Meeting reminders, for the scheduler: the day before and one hour before, exactly once each.

Each reminder is claimed by setting its mark with a conditional UPDATE, so two workers running
the sweep at once send it once. Pushes go through the outbox (and so respect quiet hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.comms import notify
from bot.services.meetings import cards
from bot.sweeps import sweep
from models import Meeting, MeetingInvitation, MeetingKind, MeetingStatus, Rsvp

DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)


async def _claim(session: AsyncSession, meeting_id: int, column: str, now: datetime) -> bool:
    """Set a reminder mark if still unset; True for the one caller that set it."""
    mark = getattr(Meeting, column)
    result = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, mark.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


@sweep("meeting_reminders", description="the day and hour before meetings")
async def send_meeting_reminders(
    session: AsyncSession, *, now: datetime, settings: Settings
) -> int:
    """Remind invited residents the day before and one hour before, exactly once each."""
    stmt = select(Meeting).where(
        Meeting.status == MeetingStatus.scheduled,
        Meeting.kind == MeetingKind.meeting,
        Meeting.starts_at.is_not(None),
        Meeting.starts_at > now,
        Meeting.starts_at <= now + DAY_BEFORE,
        or_(Meeting.reminded_day_at.is_(None), Meeting.reminded_hour_at.is_(None)),
    )
    sent = 0
    for meeting in list((await session.execute(stmt)).scalars()):
        assert meeting.starts_at is not None
        which: str | None = None
        if meeting.starts_at - now <= HOUR_BEFORE:
            # The hour reminder supersedes a day reminder not yet sent.
            await _claim(session, meeting.id, "reminded_day_at", now)
            if await _claim(session, meeting.id, "reminded_hour_at", now):
                which = "hour"
        elif await _claim(session, meeting.id, "reminded_day_at", now):
            # An invitation sent within the last day already was the day's notice.
            which = "day" if meeting.starts_at - meeting.created_at > DAY_BEFORE else None
        if which is None:
            continue
        stmt_people = select(MeetingInvitation.person_id).where(
            MeetingInvitation.meeting_id == meeting.id,
            MeetingInvitation.response != Rsvp.not_coming,
        )
        people = list((await session.execute(stmt_people)).scalars())
        await notify.notify_persons(
            session,
            kind="meeting",
            person_ids=people,
            render=partial(cards.reminder, meeting, settings=settings, which=which),
            request_id=meeting.request_id,
            settings=settings,
        )
        sent += 1
    await session.flush()
    return sent
