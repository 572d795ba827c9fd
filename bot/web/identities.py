"""The people behind web chat sessions: new residents, the demo people, roles. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.webchat import DEMO
from bot.web.auth import WebSession
from models import ChannelIdentity, OrgUnit, Person, ReportingUnit, RoleGrant, UnitLiaison


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """One person of the demo district a visitor may act as."""

    key: str  # their "demo" channel identity
    name: str
    roles: tuple[tuple[str, str], ...]  # (role, unit name)


def new_chat_id() -> str:
    """A fresh web chat id: the engine makes its person and identity on its first message."""
    return "w" + uuid.uuid4().hex


async def session_person(session: AsyncSession, *, web: WebSession) -> Person | None:
    """The person behind a session (erased ones included, for the caller to refuse): the one
    it names, else the one its chat's first message made; None for a session not yet used."""
    if web.person_id is not None:
        return await session.get(Person, web.person_id)
    return (
        await session.execute(
            select(Person)
            .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
            .where(
                ChannelIdentity.channel == web.channel,
                ChannelIdentity.external_id == web.user_id,
            )
        )
    ).scalar_one_or_none()


async def get_person(session: AsyncSession, *, person_id: int) -> Person | None:
    """The person, unless erased."""
    person = await session.get(Person, person_id)
    return person if person is not None and person.deleted_at is None else None


async def get_identity(
    session: AsyncSession, *, channel: str, external_id: str
) -> ChannelIdentity | None:
    """A channel identity by its natural key."""
    return (
        await session.execute(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
            )
        )
    ).scalar_one_or_none()


async def list_roles(session: AsyncSession, *, person_id: int) -> tuple[str, ...]:
    """The distinct roles a person holds, sorted; acting for a reporting unit (a row of its
    own, not a grant) counts as "unit_liaison"."""
    roles = await session.scalars(
        select(RoleGrant.role).where(RoleGrant.person_id == person_id).distinct()
    )
    held = {str(role.value) for role in roles}
    liaison = select(UnitLiaison.unit_id).where(UnitLiaison.person_id == person_id).limit(1)
    if (await session.execute(liaison)).first() is not None:
        held.add("unit_liaison")
    return tuple(sorted(held))


async def list_demo_people(session: AsyncSession, *, locale: str) -> list[DemoPerson]:
    """Everyone with a "demo" identity, in import order, with their roles and units."""
    rows = (
        await session.execute(
            select(ChannelIdentity.external_id, Person)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.channel == DEMO, Person.deleted_at.is_(None))
            .order_by(ChannelIdentity.id)
        )
    ).all()
    ids = [person.id for _, person in rows]
    grants = (
        await session.execute(
            select(RoleGrant.person_id, RoleGrant.role, OrgUnit)
            .join(OrgUnit, OrgUnit.id == RoleGrant.unit_id)
            .where(RoleGrant.person_id.in_(ids))
            .order_by(RoleGrant.id)
        )
    ).all()
    roles: dict[int, list[tuple[str, str]]] = {}
    for person_id, role, unit in grants:
        roles.setdefault(person_id, []).append((str(role.value), unit.name(locale)))
    acting = await session.execute(  # a reporting unit's liaison: a row of its own
        select(UnitLiaison.person_id, ReportingUnit)
        .join(ReportingUnit, ReportingUnit.id == UnitLiaison.unit_id)
        .where(UnitLiaison.person_id.in_(ids))
    )
    for person_id, reporting in acting.all():
        roles.setdefault(person_id, []).append(("unit_liaison", reporting.name(locale)))
    return [
        DemoPerson(key, person.display_name, tuple(roles.get(person.id, ())))
        for key, person in rows
    ]
