"""A claimed volunteer task: on my way, done (photos, hours), cannot do, and the rating.

The task's life before the claim (creation, pushes, the race-safe claim, widening) is in
`bot.services.volunteers.tasks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, UserFacingError
from bot.services.comms import notify
from bot.services.org import scope
from bot.services.volunteers import actions, roster
from bot.services.volunteers.tasks import (
    add_event,
    get_task,
    notice,
    push,
    request_of,
)
from models import (
    HELD_TASK_STATUSES,
    EventKind,
    Person,
    Request,
    RequestPhoto,
    ServiceRecord,
    TaskStatus,
    Visibility,
    VolunteerTask,
)


async def get_held(session: AsyncSession, *, task_id: int, person: Person) -> VolunteerTask:
    task = await get_task(session, task_id=task_id)
    if task.claimed_by_id != person.id:
        raise NotAllowed("volunteer.error.not_yours")
    if task.status not in HELD_TASK_STATUSES:
        raise InvalidTransition("volunteer.error.not_held")
    await roster.require_volunteer(session, person=person)
    return task


async def on_my_way(
    session: AsyncSession, *, task_id: int, person: Person, now: datetime, settings: Settings
) -> VolunteerTask:
    """The volunteer sets off; the resident hears of it."""
    task = await get_held(session, task_id=task_id, person=person)
    if task.status != TaskStatus.claimed:
        raise InvalidTransition("volunteer.error.not_held")
    task.status, task.on_way_at = TaskStatus.on_way, now
    request = await request_of(session, task)
    if request is not None and request.reporter_id is not None:
        await notify.notify_person(
            session,
            kind="task",
            person_id=request.reporter_id,
            render=lambda loc: notice("volunteer.notify.on_way", loc, reference=request.reference),
            request_id=request.id,
            settings=settings,
        )
    await session.flush()
    return task


def _log_done(
    session: AsyncSession,
    request: Request,
    *,
    person: Person,
    photos: Sequence[str],
    channel: str,
    note: str,
    now: datetime,
) -> None:
    """The task's photos go to the request, and its public timeline says the volunteer is done."""
    session.add_all(
        RequestPhoto(request_id=request.id, channel=channel, file_id=f, added_by_id=person.id)
        for f in photos
    )
    add_event(
        session,
        request,
        at=now,
        actor_id=person.id,
        kind=EventKind.volunteer_done,
        note=note.strip(),
        visibility=Visibility.public,
    )


async def _ask_verify_and_rate(
    session: AsyncSession,
    request: Request,
    *,
    task: VolunteerTask,
    hours: float,
    note: str,
    settings: Settings,
) -> None:
    """The owner unit's staff are asked to verify the hours, the resident to rate the help."""
    reference, shown_hours, shown_note = request.reference, f"{hours:g}", note or "-"
    await notify.notify_unit(
        session,
        kind="task",
        unit_id=request.owner_unit_id,
        roles=scope.STAFF_ROLES,
        render=lambda loc: notice(
            "volunteer.notify.verify",
            loc,
            reference=reference,
            hours=shown_hours,
            note=shown_note,
        ),
        request_id=request.id,
        settings=settings,
    )
    if request.reporter_id is not None:
        await notify.notify_person(
            session,
            kind="task",
            person_id=request.reporter_id,
            render=lambda loc: notice(
                "volunteer.notify.rate",
                loc,
                rows=[[actions.RATE.button("⭐" * n, task.id, n) for n in range(1, 6)]],
                reference=request.reference,
            ),
            request_id=request.id,
            settings=settings,
        )


async def complete(
    session: AsyncSession,
    *,
    task_id: int,
    person: Person,
    hours: float,
    photos: Sequence[str] = (),
    channel: str = "",
    note: str = "",
    now: datetime,
    settings: Settings,
) -> ServiceRecord:
    """Done: record the service, ask the owner unit to verify and the resident to rate."""
    task = await get_held(session, task_id=task_id, person=person)
    if not 0 < hours <= 24:
        raise UserFacingError("volunteer.error.hours")
    profile = await roster.require_volunteer(session, person=person)
    task.status, task.done_at, task.hours = TaskStatus.done, now, hours
    task.photos = list(photos)
    task.note = "\n".join(p for p in (task.note, note.strip()) if p)
    record = ServiceRecord(
        person_id=person.id, team_id=profile.team_id, task_id=task.id, hours=hours, created_at=now
    )
    session.add(record)
    request = await request_of(session, task)
    if request is not None:
        _log_done(
            session, request, person=person, photos=photos, channel=channel, note=note, now=now
        )
        await _ask_verify_and_rate(
            session, request, task=task, hours=hours, note=note, settings=settings
        )
    await session.flush()
    return record


async def release(
    session: AsyncSession,
    *,
    task_id: int,
    person: Person,
    reason: str,
    now: datetime,
    settings: Settings,
) -> int:
    """Cannot do: the task goes back to the pool and is pushed again; returns how many got it."""
    task = await get_held(session, task_id=task_id, person=person)
    if not reason.strip():
        raise UserFacingError("volunteer.error.reason_required")
    task.status, task.claimed_by_id, task.claimed_at, task.on_way_at = (
        TaskStatus.open,
        None,
        None,
        None,
    )
    task.note = "\n".join(p for p in (task.note, reason.strip()[:500]) if p)
    request = await request_of(session, task)
    add_event(
        session,
        request,
        at=now,
        actor_id=person.id,
        kind=EventKind.volunteer_released,
        note=reason.strip()[:500],
        visibility=Visibility.internal,
    )
    await session.flush()
    return await push(session, task=task, now=now, settings=settings, exclude=[person.id])


async def rate(
    session: AsyncSession, *, task_id: int, person: Person, rating: int, now: datetime
) -> ServiceRecord:
    """The resident who reported the request grades the volunteer's work (1-5)."""
    task = await get_task(session, task_id=task_id)
    request = await request_of(session, task)
    if request is None or request.reporter_id != person.id:
        raise NotAllowed("volunteer.error.not_reporter")
    if task.status != TaskStatus.done or not 1 <= rating <= 5:
        raise InvalidTransition("volunteer.error.not_done")
    record = (
        await session.execute(select(ServiceRecord).where(ServiceRecord.task_id == task.id))
    ).scalar_one_or_none()
    if record is None or record.rating is not None:
        raise UserFacingError("volunteer.error.rated")
    record.rating = rating
    await session.flush()
    return record
