"""Scheduled summaries: the residents' morning digest, the staff's morning queue digest, the
volunteers' reminder of tasks they hold, and the admins' weekly report.

Each push is claimed first with a `ScheduleMark` (job, person or unit, day or week), so a
second run on the same day, or the same job on another worker, sends nothing twice. All are
non-urgent outbox rows: the sender holds them during quiet hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cases import queue
from bot.services.comms import notify
from bot.services.dispatch import reminders
from bot.services.org import erasure, scope
from bot.services.reports import robots, stats
from bot.sweeps import sweep
from models import (
    HELD_TASK_STATUSES,
    OPEN_STATUSES,
    Category,
    EventKind,
    OrgUnit,
    Request,
    RequestEvent,
    RequestFollower,
    Role,
    RoleGrant,
    Visibility,
    VolunteerTask,
)

DAY = timedelta(days=1)
# Events residents do not hear about in their digest (bookkeeping, not news).
QUIET_KINDS = (EventKind.routed, EventKind.reminder)
LISTED = 5  # references listed per digest section


def day_of(now: datetime, settings: Settings) -> str:
    """The local date of `now`, as a mark period."""
    return now.astimezone(settings.tz).date().isoformat()


def week_of(now: datetime, settings: Settings) -> str:
    """The local ISO week of `now` ("2026-W48"), as a mark period."""
    year, week, _ = now.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def _refs(references: list[str]) -> str:
    shown = ", ".join(references[:LISTED])
    return shown + (" …" if len(references) > LISTED else "")


# --- residents ---------------------------------------------------------------------------------


@sweep("resident_digest", description="residents: what changed yesterday")
async def resident_digest(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Tell each resident with open requests what changed on them in the last day."""
    since = now - DAY
    query = (
        select(RequestEvent.request_id, RequestEvent.actor_id, Request.reporter_id)
        .join(Request, Request.id == RequestEvent.request_id)
        .where(
            RequestEvent.at >= since,
            RequestEvent.at < now,
            RequestEvent.visibility == Visibility.public,
            RequestEvent.kind.not_in(QUIET_KINDS),
            Request.status.in_(OPEN_STATUSES),
        )
    )
    actors: dict[int, set[int | None]] = defaultdict(set)
    people: dict[int, set[int]] = defaultdict(set)  # request -> reporter and followers
    for request_id, actor_id, reporter_id in (await session.execute(query)).all():
        actors[request_id].add(actor_id)
        if reporter_id is not None:
            people[request_id].add(reporter_id)
    if not actors:
        return 0
    followers = select(RequestFollower.request_id, RequestFollower.person_id).where(
        RequestFollower.request_id.in_(list(actors))
    )
    for request_id, person_id in (await session.execute(followers)).all():
        people[request_id].add(person_id)
    # A change the person made themselves is no news to them.
    changed: dict[int, list[int]] = defaultdict(list)
    for request_id, persons in people.items():
        for person_id in persons:
            if actors[request_id] - {person_id}:
                changed[person_id].append(request_id)
    loaded = await session.execute(select(Request).where(Request.id.in_(list(actors))))
    requests = {r.id: r for r in loaded.scalars()}
    categories = {c.id: c for c in (await session.execute(select(Category))).scalars()}
    period, sent = day_of(now, settings), 0
    for person_id in sorted(changed):
        if not await reminders.claim(
            session, job="digest.resident", subject_id=person_id, period=period, now=now
        ):
            continue
        # A request someone else reported is named by its category: the title is their words.
        mine = [
            (r, None if r.reporter_id == person_id else categories[r.category_id])
            for r in (requests[i] for i in sorted(changed[person_id]))
        ]
        await notify.notify_person(
            session,
            kind="digest",
            person_id=person_id,
            render=lambda loc, rs=mine: _resident_text(rs, loc),  # type: ignore[misc]
            settings=settings,
        )
        sent += 1
    return sent


def _resident_text(requests: list[tuple[Request, Category | None]], locale: str) -> Outgoing:
    lines = [t(locale, "schedule.digest.resident.heading")]
    for request, category in requests:
        title = category.name(locale) if category is not None else request.title
        lines.append(
            t(
                locale,
                "schedule.digest.resident.line",
                reference=request.reference,
                title=erasure.shown(title, locale) or t(locale, "next_steps.not_given"),
                status=t(locale, f"status.{request.status.value}"),
            )
        )
    return Outgoing(text="\n".join(lines))


# --- staff -------------------------------------------------------------------------------------


@dataclass
class QueueCounts:
    new: int = 0
    today: int = 0
    overdue: int = 0
    overdue_refs: list[str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.new or self.today or self.overdue)


async def queue_counts(
    session: AsyncSession, *, now: datetime, settings: Settings
) -> dict[int, QueueCounts]:
    """Per unit with staff: open requests new since yesterday, due today, overdue."""
    staffed = select(RoleGrant.unit_id).where(RoleGrant.role.in_(list(scope.STAFF_ROLES)))
    query = (
        select(Request)
        .where(Request.status.in_(OPEN_STATUSES), Request.owner_unit_id.in_(staffed))
        .order_by(Request.id)
    )
    counts: dict[int, QueueCounts] = defaultdict(lambda: QueueCounts(overdue_refs=[]))
    for request in (await session.execute(query)).scalars():
        row = counts[request.owner_unit_id]
        if request.created_at >= now - DAY:
            row.new += 1
        group = queue.group_of(request, now=now, settings=settings)
        if group == queue.Group.today:
            row.today += 1
        elif group == queue.Group.overdue:
            row.overdue += 1
            assert row.overdue_refs is not None
            row.overdue_refs.append(request.reference)
    return dict(counts)


@sweep("queue_digest", description="staff: new, due today, overdue")
async def queue_digest(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Tell each unit's staff how many requests are new, due today and overdue."""
    period, sent = day_of(now, settings), 0
    for unit_id, row in sorted((await queue_counts(session, now=now, settings=settings)).items()):
        if row.empty:
            continue
        if not await reminders.claim(
            session, job="digest.queue", subject_id=unit_id, period=period, now=now
        ):
            continue
        render = partial(_queue_text, row)
        await notify.notify_unit(
            session,
            kind="digest",
            unit_id=unit_id,
            roles=scope.STAFF_ROLES,
            render=render,
            settings=settings,
        )
        await robots.to_group(
            session, unit_id=unit_id, render=render, settings=settings, titled=True
        )
        sent += 1
    return sent


def _queue_text(row: QueueCounts, locale: str) -> Outgoing:
    text = t(locale, "schedule.digest.queue", new=row.new, today=row.today, overdue=row.overdue)
    if row.overdue_refs:
        text += "\n" + t(
            locale, "schedule.digest.queue.overdue", references=_refs(row.overdue_refs)
        )
    return Outgoing(text=text)


# --- volunteers --------------------------------------------------------------------------------


@sweep("volunteer_reminder", description="volunteers: tasks they hold")
async def volunteer_reminder(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Remind each volunteer of the tasks they claimed and have not finished."""
    query = (
        select(VolunteerTask, Request.reference)
        .outerjoin(Request, Request.id == VolunteerTask.request_id)
        .where(
            VolunteerTask.status.in_(HELD_TASK_STATUSES),
            VolunteerTask.claimed_by_id.is_not(None),
            VolunteerTask.done_at.is_(None),
        )
        .order_by(VolunteerTask.claimed_by_id, VolunteerTask.id)
    )
    held: dict[int, list[tuple[VolunteerTask, str | None]]] = defaultdict(list)
    for task, reference in (await session.execute(query)).all():
        assert task.claimed_by_id is not None
        held[task.claimed_by_id].append((task, reference))
    period, sent = day_of(now, settings), 0
    for person_id, tasks in sorted(held.items()):
        if not await reminders.claim(
            session, job="digest.volunteer", subject_id=person_id, period=period, now=now
        ):
            continue
        await notify.notify_person(
            session,
            kind="digest",
            person_id=person_id,
            render=lambda loc, ts=tasks: _volunteer_text(ts, loc),  # type: ignore[misc]
            settings=settings,
        )
        sent += 1
    return sent


def _volunteer_text(tasks: list[tuple[VolunteerTask, str | None]], locale: str) -> Outgoing:
    lines = [t(locale, "schedule.digest.volunteer.heading", count=len(tasks))]
    for task, reference in tasks:
        lines.append(
            t(
                locale,
                "schedule.digest.volunteer.line",
                reference=reference or f"#{task.id}",
                description=(task.description or t(locale, "next_steps.not_given")).splitlines()[0][
                    :80
                ],
            )
        )
    return Outgoing(text="\n".join(lines))


# --- admins ------------------------------------------------------------------------------------


@dataclass
class UnitCounts:
    unit: OrgUnit
    submitted: int
    resolved: int
    open: int
    overdue: int


async def child_counts(
    session: AsyncSession, *, unit: OrgUnit, now: datetime, days: int = 7
) -> list[UnitCounts]:
    """Per child unit of `unit` (with its subtree): requests submitted and resolved in the last
    `days`, open now, overdue now."""
    since = now - timedelta(days=days)
    child, owner = aliased(OrgUnit), aliased(OrgUnit)
    is_open = Request.status.in_(OPEN_STATUSES)
    overdue = and_(is_open, Request.resolved_at.is_(None), Request.resolve_by <= now)
    query = (
        select(
            child.id,
            func.sum(case((Request.created_at >= since, 1), else_=0)),
            func.sum(case((Request.resolved_at >= since, 1), else_=0)),
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .select_from(Request)
        .join(owner, owner.id == Request.owner_unit_id)
        .join(child, func.substr(owner.path, 1, func.length(child.path)) == child.path)
        .where(
            child.parent_id == unit.id,
            or_(is_open, Request.created_at >= since, Request.resolved_at >= since),
        )
        .group_by(child.id)
    )
    rows = {row[0]: row[1:] for row in (await session.execute(query)).all()}
    if not rows:
        return []
    units = await session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(list(rows))).order_by(OrgUnit.code)
    )
    return [UnitCounts(u, *(int(value or 0) for value in rows[u.id])) for u in units.scalars()]


@sweep("weekly_report", description="admins: the week per child unit")
async def weekly_report(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Send each admin unit's admins the week's counts per child unit."""
    admin_units = select(RoleGrant.unit_id).where(RoleGrant.role == Role.admin).distinct()
    units = await session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(admin_units)).order_by(OrgUnit.id)
    )
    period, sent = week_of(now, settings), 0
    for unit in units.scalars().all():
        counts = await child_counts(session, unit=unit, now=now)
        if not counts:
            continue
        # The three rates per child unit, this month so far (bot.services.reports.stats).
        month = await stats.report(session, unit=unit, period=None, now=now, settings=settings)
        rates = {row.unit.id: row.counts for row in month.rows if not row.own}
        if not await reminders.claim(
            session, job="digest.weekly", subject_id=unit.id, period=period, now=now
        ):
            continue
        weekly = partial(_weekly_text, unit, counts, rates)
        await notify.notify_unit(
            session,
            kind="digest",
            unit_id=unit.id,
            roles=(Role.admin,),
            render=weekly,
            settings=settings,
        )
        await robots.to_group(
            session, unit_id=unit.id, render=weekly, settings=settings, titled=False
        )
        sent += 1
    return sent


def _percent(rate: float | None, locale: str) -> str:
    return t(locale, "look.rate.none") if rate is None else f"{rate:.0%}"


def _weekly_text(
    unit: OrgUnit, counts: list[UnitCounts], rates: dict[int, stats.Counts], locale: str
) -> Outgoing:
    lines = [t(locale, "schedule.digest.weekly.heading", unit=unit.name(locale))]
    for row in counts:
        line = t(
            locale,
            "schedule.digest.weekly.line",
            unit=row.unit.name(locale),
            submitted=row.submitted,
            resolved=row.resolved,
            open=row.open,
            overdue=row.overdue,
        )
        month = rates.get(row.unit.id)
        if month is not None:
            line += t(
                locale,
                "schedule.digest.weekly.rates",
                response=_percent(month.response_rate, locale),
                resolution=_percent(month.resolution_rate, locale),
                satisfaction=_percent(month.satisfaction_rate, locale),
            )
        lines.append(line)
    return Outgoing(text="\n".join(lines))
