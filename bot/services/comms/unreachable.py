"""A person a channel says it cannot reach (a WeCom member outside the app's visible range, or
gone from the corp): their identity is flagged, and the admins above their units are told
once, when it happens, not on every push that follows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.comms import notify
from bot.services.org import scope
from models import ChannelIdentity, OrgUnit, Person, Role, RoleGrant


async def flag_and_tell(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    now: datetime,
    settings: Settings,
    why: str,
) -> bool:
    """Flag the identity unreachable; True (and the admins told) only when it was reachable
    until now. `why` is a message key naming the vendor's reason."""
    flagged = await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.chat_id == chat_id,
            ChannelIdentity.unreachable_at.is_(None),
        )
        .values(unreachable_at=now)
        .returning(ChannelIdentity.person_id)
        .execution_options(synchronize_session=False)
    )
    person_ids = sorted(set(flagged.scalars()))
    if not person_ids:
        return False
    for person_id in person_ids:
        person = await session.get(Person, person_id)
        admins = await admins_above(session, person_id=person_id)
        if person is None or not admins:
            continue
        name = person.display_name

        def render(locale: str, name: str = name) -> Outgoing:
            return Outgoing(
                text=t(locale, "reach.unreachable", name=name, channel=channel, why=t(locale, why))
            )

        await notify.notify_persons(session, person_ids=admins, render=render, settings=settings)
    return True


async def admins_above(session: AsyncSession, *, person_id: int) -> list[int]:
    """The admins nearest above each unit the person holds a role on (their own unit's first,
    then up the tree)."""
    query = (
        select(OrgUnit)
        .join(RoleGrant, RoleGrant.unit_id == OrgUnit.id)
        .where(RoleGrant.person_id == person_id)
    )
    found: set[int] = set()
    for unit in (await session.execute(query)).scalars().unique():
        for candidate in await scope.ancestors(session, unit=unit):
            people = await notify.unit_members(session, unit_id=candidate.id, roles=(Role.admin,))
            people = [p for p in people if p != person_id]
            if people:
                found.update(people)
                break
    return sorted(found)
