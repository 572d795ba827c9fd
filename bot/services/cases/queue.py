"""A staff member's work: the open requests of the units they hold a staff role on, due
soonest first, and single requests looked up by id or reference within that scope.

Scope is read from the database on every call (bot.services.org.scope): grid staff see their grid,
stewards their workstation, admins their community / street / district, each with its subtree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.org import scope
from models import OPEN_STATUSES, Category, OrgUnit, Request, RequestStatus, Role

PAGE_SIZE = 5


class Group(enum.StrEnum):
    """How soon a request is due; the queue shows them in this order."""

    overdue = "overdue"
    today = "today"
    week = "week"
    later = "later"
    waiting = "waiting"  # waiting for the resident: the clocks are stopped


@dataclass(frozen=True, slots=True)
class QueueItem:
    request: Request
    category: Category
    due: datetime | None
    group: Group


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: list[QueueItem]
    page: int
    pages: int
    total: int


def _due() -> ColumnElement[datetime | None]:
    """The next deadline: accepting until accepted, then resolving."""
    return case((Request.accepted_at.is_(None), Request.accept_by), else_=Request.resolve_by)


def due_of(request: Request) -> datetime | None:
    """The request's next deadline (the same rule as the queue's ordering)."""
    return request.accept_by if request.accepted_at is None else request.resolve_by


def group_of(request: Request, *, now: datetime, settings: Settings) -> Group:
    """The queue group of a request at `now`, days counted in the district's time zone."""
    due = due_of(request)
    if request.status == RequestStatus.waiting_for_resident:
        return Group.waiting
    if due is None:
        return Group.later
    if due <= now:
        return Group.overdue
    if due.astimezone(settings.tz).date() == now.astimezone(settings.tz).date():
        return Group.today
    return Group.week if due < now + timedelta(days=7) else Group.later


async def staff_units(session: AsyncSession, *, person_id: int) -> list[OrgUnit]:
    """The units the person holds a staff role on (grid staff, steward, admin)."""
    return await scope.granted_units(session, person_id=person_id, roles=scope.STAFF_ROLES)


async def list_open(
    session: AsyncSession,
    *,
    person_id: int,
    now: datetime,
    settings: Settings,
    page: int = 0,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the open requests in the person's scope: overdue first, then by deadline,
    requests waiting for the resident last. Raises NotAllowed without any staff role."""
    units = await staff_units(session, person_id=person_id)
    if not units:
        raise NotAllowed("staff.error.no_staff_role")
    waiting = case((Request.status == RequestStatus.waiting_for_resident, 1), else_=0)
    condition = (
        select(Request.id)
        .join(OrgUnit, OrgUnit.id == Request.owner_unit_id)
        .where(Request.status.in_(OPEN_STATUSES), scope.within(units, OrgUnit.path))
    )
    total = int(
        (await session.execute(select(func.count()).select_from(condition.subquery()))).scalar_one()
    )
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    query = (
        select(Request, Category)
        .join(Category, Category.id == Request.category_id)
        .where(Request.id.in_(condition))
        .order_by(waiting, _due().is_(None), _due(), Request.id)
        .offset(page * page_size)
        .limit(page_size)
    )
    items = [
        QueueItem(request, category, due_of(request), group_of(request, now=now, settings=settings))
        for request, category in (await session.execute(query)).all()
    ]
    return QueuePage(items, page, pages, total)


async def in_scope(session: AsyncSession, *, person_id: int, request: Request) -> bool:
    """True when the person holds a staff role over the request's owner unit."""
    return await scope.holds_role(
        session, person_id=person_id, roles=scope.STAFF_ROLES, unit_id=request.owner_unit_id
    )


async def _checked(session: AsyncSession, *, person_id: int, request: Request | None) -> Request:
    if request is None:
        if not await staff_units(session, person_id=person_id):
            raise NotAllowed("staff.error.no_staff_role")
        raise NotFound("staff.error.not_found")
    if not await in_scope(session, person_id=person_id, request=request):
        if not await staff_units(session, person_id=person_id):
            raise NotAllowed("staff.error.no_staff_role")
        raise NotAllowed("staff.error.not_in_scope", reference=request.reference)
    return request


async def get_in_scope(session: AsyncSession, *, person_id: int, request_id: int) -> Request:
    """The request if it lies in the person's staff scope; NotFound / NotAllowed otherwise."""
    request = await session.get(Request, request_id)
    return await _checked(session, person_id=person_id, request=request)


async def get_by_reference(session: AsyncSession, *, reference: str) -> Request | None:
    """A request by its printed reference (case and surrounding spaces ignored)."""
    query = select(Request).where(Request.reference == reference.strip().upper())
    return (await session.execute(query)).scalar_one_or_none()


async def find_in_scope(session: AsyncSession, *, person_id: int, reference: str) -> Request:
    """The request with this reference if it lies in the person's staff scope."""
    request = await get_by_reference(session, reference=reference)
    return await _checked(session, person_id=person_id, request=request)


async def require_admin_over(session: AsyncSession, *, person_id: int, unit_id: int) -> None:
    """Refuse (NotAllowed) unless the person is an admin of the unit or an ancestor."""
    if not await scope.holds_role(
        session, person_id=person_id, roles=(Role.admin,), unit_id=unit_id
    ):
        raise NotAllowed("staff.error.admin_only")
