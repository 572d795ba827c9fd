"""The fence around the demo district's people (`Person.is_demo`).

In demo mode visitors act as the demo district's people, admins included, on this machine only
(`bot.config.check_exposure`). Whatever a demo person grants, revokes, invites or broadcasts
reaches demo people only, and their exports show only demo people's names and phones. When demo
mode is off, the roles and unused invites demo people handed out are withdrawn at start.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import NotAllowed
from bot.services.org import command_menu
from models import AuditLog, Invite, Person, RoleGrant


def refuse_outside(*, actor: Person, target: Person) -> None:
    """Refuse (NotAllowed) a demo person acting on someone who is not a demo person."""
    if actor.is_demo and not target.is_demo:
        raise NotAllowed("access.demo_only")


async def end_demo_grants(session: AsyncSession, *, now: datetime) -> int:
    """Withdraw every role a demo person granted and every unused invite one made (demo mode
    is off); returns how many rows went. The org file's own grants (granted by no one) stay."""
    demo_people = select(Person.id).where(Person.is_demo.is_(True))
    holders = list(
        await session.scalars(
            select(RoleGrant.person_id).where(RoleGrant.granted_by_id.in_(demo_people)).distinct()
        )
    )
    grants = await session.execute(
        delete(RoleGrant)
        .where(RoleGrant.granted_by_id.in_(demo_people))
        .execution_options(synchronize_session=False)
    )
    invites = await session.execute(
        delete(Invite)
        .where(Invite.created_by_id.in_(demo_people), Invite.used_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    counts = {"grants": _count(grants), "invites": _count(invites)}
    if holders:
        await command_menu.queue_menus(session, person_ids=holders)
    if any(counts.values()):
        # rights.audit, written here: rights imports this module.
        session.add(AuditLog(action="demo.end", target="demo", detail=counts, created_at=now))
        await session.flush()
    return sum(counts.values())


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
