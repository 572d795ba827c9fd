"""Deadlines: accept, contact and resolve, from the category, the priority and the settings.

Every function takes `now`; nothing here reads the clock. While a request waits for the
resident the clocks stop: the pause starts at the event that moved the request to
`waiting_for_resident` (its `at`), and resuming pushes every pending deadline back by the
time spent waiting, so no extra column is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from models import Category, Priority, Request, RequestEvent, RequestStatus


@dataclass(frozen=True, slots=True)
class Deadlines:
    accept_by: datetime
    contact_by: datetime
    resolve_by: datetime


def resolve_hours(*, category: Category, priority: Priority, settings: Settings) -> float:
    """Hours allowed to resolve: the category's, shortened for urgent and emergency requests."""
    hours = float(category.sla_hours)
    if priority == Priority.urgent:
        hours = min(hours, settings.sla.urgent_resolve_hours)
    elif priority == Priority.emergency:
        hours = min(hours, settings.sla.emergency_resolve_hours)
    return hours


def compute(
    *, category: Category, priority: Priority, now: datetime, settings: Settings
) -> Deadlines:
    """The deadlines of a request submitted (or restarted) at `now`."""
    resolve = timedelta(
        hours=resolve_hours(category=category, priority=priority, settings=settings)
    )
    # Accepting and contacting can never be due after resolving is.
    accept = min(timedelta(hours=settings.sla.accept_hours), resolve)
    contact = min(timedelta(hours=settings.sla.contact_hours), resolve)
    return Deadlines(accept_by=now + accept, contact_by=now + contact, resolve_by=now + resolve)


def apply(request: Request, deadlines: Deadlines) -> None:
    """Set the request's three deadlines."""
    request.accept_by = deadlines.accept_by
    request.contact_by = deadlines.contact_by
    request.resolve_by = deadlines.resolve_by


def restart_accept(request: Request, *, now: datetime, settings: Settings) -> None:
    """A new owner got the request: it must accept within the accept window from `now`."""
    accept_by = now + timedelta(hours=settings.sla.accept_hours)
    if request.resolve_by is not None:
        accept_by = min(accept_by, max(request.resolve_by, now))
    request.accept_by = accept_by
    request.accepted_at = None


def extend_resolve(request: Request, *, now: datetime, settings: Settings) -> None:
    """An escalated request gives its new owner at least the escalation window to resolve."""
    floor = now + timedelta(hours=settings.sla.escalation_resolve_hours)
    if request.resolve_by is None or request.resolve_by < floor:
        request.resolve_by = floor


def shift(request: Request, *, paused: timedelta) -> None:
    """Push every deadline not yet met back by the paused time."""
    if paused <= timedelta(0):
        return
    if request.accept_by is not None and request.accepted_at is None:
        request.accept_by += paused
    if request.contact_by is not None and request.contacted_at is None:
        request.contact_by += paused
    if request.resolve_by is not None and request.resolved_at is None:
        request.resolve_by += paused


async def paused_since(session: AsyncSession, *, request: Request) -> datetime | None:
    """When the current wait for the resident began, or None when the request is not waiting."""
    if request.status != RequestStatus.waiting_for_resident:
        return None
    query = (
        select(RequestEvent.at)
        .where(
            RequestEvent.request_id == request.id,
            RequestEvent.to_status == RequestStatus.waiting_for_resident.value,
        )
        .order_by(RequestEvent.at.desc(), RequestEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def resume(session: AsyncSession, *, request: Request, now: datetime) -> timedelta:
    """End a wait for the resident: shift the deadlines by its length, which is returned."""
    since = await paused_since(session, request=request)
    paused = max(now - since, timedelta(0)) if since is not None else timedelta(0)
    shift(request, paused=paused)
    return paused


def overdue(request: Request, *, now: datetime) -> list[str]:
    """Which deadlines ("accept", "contact", "resolve") the request has missed at `now`."""
    if request.status == RequestStatus.waiting_for_resident:
        return []  # the clocks are stopped
    missed: list[str] = []
    if request.accept_by and request.accepted_at is None and request.accept_by <= now:
        missed.append("accept")
    if request.contact_by and request.contacted_at is None and request.contact_by <= now:
        missed.append("contact")
    if request.resolve_by and request.resolved_at is None and request.resolve_by <= now:
        missed.append("resolve")
    return missed
