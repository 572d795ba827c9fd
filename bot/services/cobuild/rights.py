"""Who may act in dual reporting: a unit's liaisons for their unit only, a community's admins
(or those of its street or district) for that community only. Every check reads the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import NotAllowed
from bot.services.comms import notify
from bot.services.org import scope
from models import OrgUnit, Person, Role, UnitKind
from models.cobuild import CobuildPairing, UnitLiaison


async def is_liaison(session: AsyncSession, *, person: Person, unit_id: int) -> bool:
    """True when the (not erased) person acts for the reporting unit."""
    if person.deleted_at is not None:
        return False
    query = select(UnitLiaison.person_id).where(
        UnitLiaison.unit_id == unit_id, UnitLiaison.person_id == person.id
    )
    return (await session.execute(query)).first() is not None


async def require_liaison(session: AsyncSession, *, person: Person, unit_id: int) -> None:
    """Refuse (nothing changed) unless the person acts for the unit."""
    if not await is_liaison(session, person=person, unit_id=unit_id):
        raise NotAllowed("core.not_allowed")


async def liaison_units(session: AsyncSession, *, person: Person) -> list[int]:
    """The reporting units the person acts for."""
    query = select(UnitLiaison.unit_id).where(UnitLiaison.person_id == person.id)
    return sorted((await session.execute(query)).scalars())


async def is_community_admin(session: AsyncSession, *, person: Person, community_id: int) -> bool:
    """True when the person administers the community (a grant on it or above it)."""
    return await scope.holds_role(
        session, person_id=person.id, roles=[Role.admin], unit_id=community_id
    )


async def require_community_admin(
    session: AsyncSession, *, person: Person, community_id: int
) -> None:
    """Refuse (nothing changed) unless the person administers the community."""
    if not await is_community_admin(session, person=person, community_id=community_id):
        raise NotAllowed("core.not_allowed")


async def administered_communities(session: AsyncSession, *, person: Person) -> list[OrgUnit]:
    """The communities in the subtrees the person administers, in tree order."""
    granted = await scope.granted_units(session, person_id=person.id, roles=[Role.admin])
    query = (
        select(OrgUnit)
        .where(OrgUnit.kind == UnitKind.community, scope.within(granted, OrgUnit.path))
        .order_by(OrgUnit.path)
    )
    return list((await session.execute(query)).scalars())


async def is_paired(session: AsyncSession, *, unit_id: int, community_id: int) -> bool:
    """True when the reporting unit is paired with the community."""
    query = select(CobuildPairing.unit_id).where(
        CobuildPairing.unit_id == unit_id, CobuildPairing.community_id == community_id
    )
    return (await session.execute(query)).first() is not None


async def community_admins(session: AsyncSession, *, community_id: int) -> list[int]:
    """The ids of the people holding an admin grant on exactly the community."""
    return await notify.unit_members(session, unit_id=community_id, roles=[Role.admin])
