"""Inviting a reporting unit's liaison (联络人): an admin of a community the unit is paired with
(or the operator, on the command line) makes a single-use invite link; whoever opens it acts
for the unit from then on (`bot.services.org.invites`). The invite goes through the paired
community, so it is only as good as its creator's rights there and the pairing, when used."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotFound, UserFacingError
from bot.services.cobuild import rights
from bot.services.org import invites
from models import Invite, OrgUnit, Person, Role
from models.cobuild import CobuildPairing, ReportingUnit


async def unit_by_code(session: AsyncSession, *, code: str) -> ReportingUnit:
    """The reporting unit with this code, or NotFound."""
    query = select(ReportingUnit).where(ReportingUnit.code == code.strip())
    unit = (await session.execute(query)).scalar_one_or_none()
    if unit is None:
        raise NotFound("cobuild.error.unit_not_found")
    return unit


async def invitable(
    session: AsyncSession, *, person: Person
) -> list[tuple[ReportingUnit, OrgUnit]]:
    """The (unit, community) pairs through which the person may invite a liaison: units paired
    with the communities they administer, by community then unit."""
    communities = await rights.administered_communities(session, person=person)
    by_id = {c.id: c for c in communities}
    query = (
        select(ReportingUnit, CobuildPairing.community_id)
        .join(CobuildPairing, CobuildPairing.unit_id == ReportingUnit.id)
        .where(CobuildPairing.community_id.in_(list(by_id)))
        .order_by(ReportingUnit.code)
    )
    found = [(unit, by_id[cid]) for unit, cid in (await session.execute(query)).all()]
    order = {c.id: i for i, c in enumerate(communities)}
    return sorted(found, key=lambda pair: order[pair[1].id])


async def _through(
    session: AsyncSession, *, unit: ReportingUnit, community_code: str | None
) -> OrgUnit:
    """The community the invite goes through: the one named (paired with the unit), or the
    unit's first pairing."""
    query = (
        select(OrgUnit)
        .join(CobuildPairing, CobuildPairing.community_id == OrgUnit.id)
        .where(CobuildPairing.unit_id == unit.id)
        .order_by(CobuildPairing.since, OrgUnit.code)
    )
    if community_code:
        query = query.where(OrgUnit.code == community_code.strip())
    community = (await session.execute(query)).scalars().first()
    if community is None:
        raise UserFacingError("cobuild2.invite.unpaired", unit=unit.code)
    return community


async def create(
    session: AsyncSession,
    *,
    actor: Person | None,
    unit: ReportingUnit,
    community_code: str | None = None,
    now: datetime,
    settings: Settings,
    lifetime: timedelta | None = None,
) -> tuple[Invite, str, OrgUnit]:
    """A single-use invite to act for `unit`, through a community it is paired with (whose
    admin `actor` must be; None: the operator). Without a community named, the first paired
    one the actor administers. Returns it, its token and the community."""
    if actor is not None and not community_code:
        mine = [c for u, c in await invitable(session, person=actor) if u.id == unit.id]
        if not mine:
            raise UserFacingError("cobuild2.invite.unpaired", unit=unit.code)
        community_code = mine[0].code
    community = await _through(session, unit=unit, community_code=community_code)
    invite, token = await invites.create_invite(
        session,
        actor=actor,
        role=Role.unit_liaison,
        unit=community,
        now=now,
        settings=settings,
        lifetime=lifetime,
        cobuild_unit_id=unit.id,
    )
    return invite, token, community
