"""Calling the resident back: who may see a reporter's phone number, and an audit row for every
time someone did. Cards show the name masked and the number only on a tap that comes here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.cases import queue
from bot.services.org import rights, scope
from bot.services.reports import export
from models import OrgUnit, Person, Request, Role

# Grid staff and stewards call the residents of their units; admins only where their grant is
# of a kind that sees phone numbers (`stats.phone_visible_kinds`, as in exports).
CALLERS = (Role.grid_staff, Role.steward)
AUDIT_ACTION = "phone_shown"


async def may_see_phone(
    session: AsyncSession, *, person: Person, request: Request, settings: Settings
) -> bool:
    """True when the person may call the request's reporter, by the grants they hold now."""
    if await scope.holds_role(
        session, person_id=person.id, roles=CALLERS, unit_id=request.owner_unit_id
    ):
        return True
    owner = await session.get(OrgUnit, request.owner_unit_id)
    return owner is not None and await export.may_see_phones(
        session, person_id=person.id, unit=owner, settings=settings
    )


async def reveal_phone(
    session: AsyncSession, *, request: Request, actor: Person, now: datetime, settings: Settings
) -> str:
    """The reporter's phone number for staff who may call them, with an audit row; refuses
    (NotAllowed, NotFound) without writing anything."""
    if not await queue.in_scope(session, person_id=actor.id, request=request):
        raise NotAllowed("staff.error.not_in_scope", reference=request.reference)
    reporter = await session.get(Person, request.reporter_id) if request.reporter_id else None
    if reporter is None or reporter.deleted_at is not None or not reporter.phone:
        raise NotFound("cards.error.no_phone", reference=request.reference)
    demo_fenced = actor.is_demo and not reporter.is_demo
    if demo_fenced or not await may_see_phone(
        session, person=actor, request=request, settings=settings
    ):
        raise NotAllowed("cards.error.phone_not_allowed", reference=request.reference)
    await rights.audit(
        session,
        actor_id=actor.id,
        action=AUDIT_ACTION,
        target=f"request {request.reference}",
        detail={"request_id": request.id, "person_id": reporter.id},
        now=now,
    )
    return reporter.phone
