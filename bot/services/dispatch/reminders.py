"""Reminders before deadlines (催办): when a fraction of a deadline's time is left (default a
quarter), the owner unit's staff and the assignee hear of it, exactly once per deadline.

"Once" is a `ScheduleMark` (job "reminder.<deadline>", the request, the deadline's time): its
unique key makes a re-run, or a second worker running the same sweep, skip the reminder. A
deadline that moves (escalation, a wait for the resident) is a new deadline and is reminded
again. The time a deadline allows runs from the latest event that set it (submission,
escalation, transfer...), so a request that just climbed is not reminded at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cases import cards, transitions
from bot.services.cases.transitions import Action
from bot.services.comms import notify
from bot.services.org import erasure, scope
from bot.sweeps import sweep
from models import Category, EventKind, Priority, Request, RequestEvent, ScheduleMark, Visibility

PAGE = 500


@dataclass(frozen=True, slots=True)
class Deadline:
    name: str  # accept | contact | resolve
    due: Any  # the Request column holding the deadline
    met: Any  # the Request column set when it is met
    set_by: tuple[str, ...]  # event kinds that (re)start this deadline's clock


DEADLINES = (
    Deadline(
        "accept",
        Request.accept_by,
        Request.accepted_at,
        (EventKind.submitted, Action.escalate, Action.transfer, Action.return_, Action.reopen),
    ),
    Deadline(
        "contact", Request.contact_by, Request.contacted_at, (EventKind.submitted, Action.reopen)
    ),
    Deadline(
        "resolve",
        Request.resolve_by,
        Request.resolved_at,
        (EventKind.submitted, Action.escalate, Action.reopen),
    ),
)


def stamp(value: datetime) -> str:
    """A deadline as the period of its mark: UTC, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def claim(
    session: AsyncSession,
    *,
    job: str,
    subject_id: int,
    period: str,
    now: datetime,
    due_at: datetime | None = None,
) -> bool:
    """Record that `job` was done for `subject_id` in `period`; False when it already was."""
    values = {
        "job": job,
        "subject_id": subject_id,
        "period": period,
        "created_at": now,
        "due_at": due_at,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ScheduleMark).values(**values).on_conflict_do_nothing()
    found = await session.execute(stmt.returning(ScheduleMark.id))
    return found.first() is not None


async def _horizon(session: AsyncSession, *, settings: Settings) -> timedelta:
    """How far ahead a reminder can be due: the fraction of the longest deadline there is."""
    longest = (await session.execute(select(func.max(Category.sla_hours)))).scalar() or 0
    sla = settings.sla
    hours = max(float(longest), sla.accept_hours, sla.contact_hours, sla.escalation_resolve_hours)
    return timedelta(hours=hours * settings.scheduler.remind_fraction)


async def _starts(
    session: AsyncSession, *, deadline: Deadline, requests: list[Request]
) -> dict[int, datetime]:
    query = (
        select(RequestEvent.request_id, func.max(RequestEvent.at))
        .where(
            RequestEvent.request_id.in_([r.id for r in requests]),
            RequestEvent.kind.in_(deadline.set_by),
        )
        .group_by(RequestEvent.request_id)
    )
    return {row[0]: row[1] for row in (await session.execute(query)).all()}


def _seconds(session: AsyncSession, column: Any) -> Any:
    """A timestamp column as seconds since the epoch, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def is_due(*, due: datetime, start: datetime, now: datetime, fraction: float) -> bool:
    """True when at most `fraction` of the time from `start` to `due` is left at `now`."""
    return now < due and (due - now) <= (due - start) * fraction


def render(
    request: Request, deadline: str, due: datetime, settings: Settings, locale: str
) -> Outgoing:
    """The reminder as the owner's staff read it."""
    return Outgoing(
        text=t(
            locale,
            f"schedule.reminder.{deadline}",
            reference=request.reference,
            title=erasure.shown(request.title, locale) or t(locale, "next_steps.not_given"),
            deadline=cards.when(due, settings, locale),
        )
    )


async def _remind(
    session: AsyncSession,
    *,
    request: Request,
    deadline: str,
    due: datetime,
    now: datetime,
    settings: Settings,
) -> RequestEvent:
    staff = set(
        await notify.unit_members(session, unit_id=request.owner_unit_id, roles=scope.STAFF_ROLES)
    )
    if request.assignee_id is not None:
        staff.add(request.assignee_id)
    await notify.notify_persons(
        session,
        person_ids=staff,
        render=lambda loc: render(request, deadline, due, settings, loc),
        request_id=request.id,
        urgent=request.priority != Priority.ordinary,
        settings=settings,
    )
    event = RequestEvent(
        request_id=request.id,
        at=now,
        actor_id=None,
        kind=EventKind.reminder,
        from_status=request.status.value,
        to_status=request.status.value,
        note=f"{deadline} {stamp(due)}",
        visibility=Visibility.internal,
        unit_id=request.owner_unit_id,
    )
    session.add(event)
    await session.flush()
    return event


async def _near_deadline(
    session: AsyncSession,
    *,
    deadline: Deadline,
    job: str,
    now: datetime,
    horizon: timedelta,
    fraction: float,
    after: tuple[datetime, int] | None,
) -> list[Request]:
    """One page, in (due, id) order after `after`, of open requests whose deadline is near and
    not yet reminded of."""
    due_s, now_s = _seconds(session, deadline.due), now.timestamp()
    reminded = exists().where(
        ScheduleMark.job == job,
        ScheduleMark.subject_id == Request.id,
        ScheduleMark.due_at == deadline.due,
    )
    query = select(Request).where(
        deadline.due > now,
        deadline.due <= now + horizon,  # the index range
        deadline.met.is_(None),
        # Waiting for the resident stops the clocks: nothing to remind.
        Request.status.in_(transitions.MOVABLE),
        # The clock starts no earlier than submission: a cheap necessary condition.
        # (a second of slack for float rounding: is_due decides exactly.)
        due_s - now_s <= fraction * (due_s - _seconds(session, Request.created_at)) + 1,
        ~reminded,
    )
    if after is not None:
        query = query.where(
            or_(
                deadline.due > after[0],
                and_(deadline.due == after[0], Request.id > after[1]),
            )
        )
    return list(
        (await session.execute(query.order_by(deadline.due, Request.id).limit(PAGE)))
        .scalars()
        .all()
    )


async def _remind_page(
    session: AsyncSession,
    *,
    deadline: Deadline,
    job: str,
    page: list[Request],
    now: datetime,
    fraction: float,
    settings: Settings,
    room: int,
) -> list[RequestEvent]:
    """Remind (at most `room` of) the page's requests whose reminder is due, each claimed once."""
    events: list[RequestEvent] = []
    starts = await _starts(session, deadline=deadline, requests=page)
    for request in page:
        due: datetime = getattr(request, deadline.due.key)
        start = starts.get(request.id, request.created_at)
        if not is_due(due=due, start=start, now=now, fraction=fraction):
            continue
        if not await claim(
            session,
            job=job,
            subject_id=request.id,
            period=stamp(due),
            now=now,
            due_at=due,
        ):
            continue  # another worker reminded it meanwhile
        events.append(
            await _remind(
                session,
                request=request,
                deadline=deadline.name,
                due=due,
                now=now,
                settings=settings,
            )
        )
        if len(events) >= room:
            break
    return events


@sweep("reminders", description="remind owners before deadlines", batched=True)
async def remind_due(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 200
) -> list[RequestEvent]:
    """Remind the owners of open requests whose deadlines are near, once per deadline."""
    fraction = settings.scheduler.remind_fraction
    horizon = await _horizon(session, settings=settings)
    events: list[RequestEvent] = []
    for deadline in DEADLINES:
        job = f"reminder.{deadline.name}"
        after: tuple[datetime, int] | None = None
        while len(events) < limit:
            page = await _near_deadline(
                session,
                deadline=deadline,
                job=job,
                now=now,
                horizon=horizon,
                fraction=fraction,
                after=after,
            )
            if not page:
                break
            after = (getattr(page[-1], deadline.due.key), page[-1].id)
            events += await _remind_page(
                session,
                deadline=deadline,
                job=job,
                page=page,
                now=now,
                fraction=fraction,
                settings=settings,
                room=limit - len(events),
            )
            if len(page) < PAGE:
                break
    return events
