"""Sweeps run by the scheduler: overdue requests climb the grid, unrated ones close.

One word for one behaviour: a request past its accept or resolve deadline *escalates*. The
sweep is the job `escalate` (`scheduler.escalate`; the former key `deadlines` is still read),
its function `escalate_overdue`, the state machine's action `Action.escalate`, and the
status it leaves `RequestStatus.escalated`.

Idempotent and safe on several workers: rows are claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has one writer anyway), and a request that climbed gets fresh deadlines,
so the next sweep does not pick it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.cases import workflow
from bot.sweeps import sweep
from models import Category, OrgUnit, Request, RequestEvent, RequestStatus

# Waiting for the resident stops the clocks, so it never escalates.
CLIMBING = workflow.transitions.MOVABLE


@sweep("escalate", description="overdue requests climb one level", batched=True, heartbeat=True)
async def escalate_overdue(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 100
) -> list[RequestEvent]:
    """Escalate open requests that missed their accept or resolve deadline, one level up."""
    missed = or_(
        and_(Request.accepted_at.is_(None), Request.accept_by <= now),
        and_(Request.resolved_at.is_(None), Request.resolve_by <= now),
    )
    query = (
        select(Request)
        .join(OrgUnit, OrgUnit.id == Request.owner_unit_id)
        .where(Request.status.in_(CLIMBING), missed, OrgUnit.parent_id.is_not(None))
        .order_by(Request.resolve_by, Request.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Request)
    )
    # Escalated by the system (actor None): residents and the new owner hear of it.
    return await _by_system(session, query, workflow.Action.escalate, now=now, settings=settings)


@sweep("close_unrated", description="close resolved requests left unrated", batched=True)
async def close_unrated(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 100
) -> list[RequestEvent]:
    """Close resolved requests the resident did not rate within `requests.evaluation_days`."""
    cutoff = now - timedelta(days=settings.requests.evaluation_days)
    query = (
        select(Request)
        .where(Request.status == RequestStatus.resolved, Request.resolved_at <= cutoff)
        .order_by(Request.resolved_at, Request.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return await _by_system(session, query, workflow.Action.close, now=now, settings=settings)


async def _by_system(
    session: AsyncSession,
    query: Select[Request],
    action: workflow.Action,
    *,
    now: datetime,
    settings: Settings,
) -> list[RequestEvent]:
    """Apply one system action to every request the query claims."""
    requests = (await session.execute(query)).scalars().all()
    if not requests:
        return []
    # Every transition reads units and categories with session.get; the session keeps only
    # weak references, so hold them for the batch or each one is loaded again per request.
    owners = {request.owner_unit_id for request in requests}
    parents = select(OrgUnit.parent_id).where(OrgUnit.id.in_(owners)).scalar_subquery()
    units = select(OrgUnit).where(or_(OrgUnit.id.in_(owners), OrgUnit.id.in_(parents)))
    categories = select(Category).where(Category.id.in_({r.category_id for r in requests}))
    reference = [
        *(await session.execute(units)).scalars(),
        *(await session.execute(categories)).scalars(),
    ]
    events = [
        await workflow.transition(
            session,
            request=request,
            action=action,
            actor=None,
            now=now,
            settings=settings,
            locked=True,  # claimed FOR UPDATE by the query
        )
        for request in requests
    ]
    del reference
    return events
