"""Reading requests: a resident's own, similar open ones, a public timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    OPEN_STATUSES,
    Category,
    Request,
    RequestEvent,
    RequestFollower,
    Visibility,
)


async def get_category(session: AsyncSession, *, slug: str) -> Category | None:
    """A category by slug."""
    stmt = select(Category).where(Category.slug == slug)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_categories(session: AsyncSession) -> Sequence[Category]:
    """All categories in display order."""
    stmt = select(Category).order_by(Category.sort_order, Category.id)
    return (await session.execute(stmt)).scalars().all()


async def list_for_resident(
    session: AsyncSession, *, person_id: int, limit: int = 10
) -> Sequence[Request]:
    """Requests the person reported or follows, newest first."""
    follows = exists().where(
        RequestFollower.request_id == Request.id, RequestFollower.person_id == person_id
    )
    stmt = (
        select(Request)
        .where((Request.reporter_id == person_id) | follows)
        .order_by(Request.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def get_for_resident(
    session: AsyncSession, *, request_id: int, person_id: int
) -> tuple[Request, bool] | None:
    """The request if the person reported it (True) or follows it (False); else None."""
    request = await session.get(Request, request_id)
    if request is None:
        return None
    if request.reporter_id == person_id:
        return request, True
    follower = await session.get(RequestFollower, (request_id, person_id))
    return (request, False) if follower is not None else None


async def list_similar_open(
    session: AsyncSession,
    *,
    category_id: int,
    building_id: int | None,
    compound_id: int | None,
    exclude_reporter_id: int,
    now: datetime,
    days: int,
    limit: int = 3,
) -> Sequence[Request]:
    """Open requests of the same category in the same building (else compound), recent first."""
    if building_id is None and compound_id is None:
        return []
    place = (
        Request.building_id == building_id
        if building_id is not None
        else Request.compound_id == compound_id
    )
    stmt = (
        select(Request)
        .where(
            Request.category_id == category_id,
            place,
            Request.status.in_(OPEN_STATUSES),
            Request.created_at >= now - timedelta(days=days),
            Request.reporter_id.is_distinct_from(exclude_reporter_id),
        )
        .order_by(Request.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def public_timeline(session: AsyncSession, *, request_id: int) -> Sequence[RequestEvent]:
    """The events a resident may see, oldest first."""
    stmt = (
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id, RequestEvent.visibility == Visibility.public)
        .order_by(RequestEvent.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def count_followers(session: AsyncSession, *, request_id: int) -> int:
    """How many residents said "me too"."""
    stmt = select(func.count()).where(RequestFollower.request_id == request_id)
    return int((await session.execute(stmt)).scalar_one())


async def get_replied_request(
    session: AsyncSession, *, person_id: int, since: datetime
) -> Request | None:
    """The reporter's open request that staff last told them of at or after `since` (when their
    chat last moved): what the message they type now answers. None when nothing was said."""
    stmt = (
        select(Request)
        .join(RequestEvent, RequestEvent.request_id == Request.id)
        .where(
            Request.reporter_id == person_id,
            Request.status.in_(OPEN_STATUSES),
            RequestEvent.visibility == Visibility.public,
            RequestEvent.actor_id.is_not(None),
            RequestEvent.actor_id != person_id,
            RequestEvent.at >= since,
        )
        .order_by(RequestEvent.at.desc(), RequestEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
