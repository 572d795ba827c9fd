"""Single-use invite links (`/start inv_<token>`): an admin (or the operator, on the command
line) invites someone to a role on a unit, or to act for a reporting unit paired with a
community they administer; whoever opens the link first gets it. Only the SHA-256 of the token
is stored. Every invite and its use write an AuditLog row in the caller's transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotFound, UserFacingError
from bot.services.org import command_menu, demo_fence
from bot.services.org.rights import audit, check_role_unit, may_administer, require_admin
from models import (
    CobuildPairing,
    Invite,
    OrgUnit,
    Person,
    Role,
    RoleGrant,
    UnitKind,
    UnitLiaison,
)

INVITE_PREFIX = "inv_"


def hash_token(token: str) -> str:
    """The stored form of an invite token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(
    session: AsyncSession,
    *,
    actor: Person | None,
    role: Role,
    unit: OrgUnit,
    leader: bool = False,
    now: datetime,
    settings: Settings,
    lifetime: timedelta | None = None,
    cobuild_unit_id: int | None = None,
) -> tuple[Invite, str]:
    """A single-use invite link granting `role` on `unit`; returns it and its secret token.
    `actor` None: the operator, on the command line (how the first admin is made). A reporting
    unit's liaison (`Role.unit_liaison`, `cobuild_unit_id`) is invited through a community
    (`unit`) the reporting unit is paired with (`bot.services.cobuild.liaison_invites`)."""
    if actor is not None:
        await require_admin(session, person_id=actor.id, unit=unit)
    if role == Role.unit_liaison:
        if cobuild_unit_id is None or unit.kind != UnitKind.community:
            raise UserFacingError("admin.error.role_unit", role=role.value, kinds="community")
    else:
        check_role_unit(role, unit)
    token = secrets.token_urlsafe(18)  # 24 URL-safe characters: fits Telegram's start payload
    invite = Invite(
        token_hash=hash_token(token),
        role=role,
        unit_id=unit.id,
        leader=leader and role == Role.volunteer,
        cobuild_unit_id=cobuild_unit_id if role == Role.unit_liaison else None,
        created_by_id=actor.id if actor else None,
        by_operator=actor is None,
        expires_at=now + (lifetime or timedelta(days=settings.volunteers.invite_days)),
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    await audit(
        session,
        actor_id=actor.id if actor else None,
        action="invite",
        target=f"invite:{invite.id}",
        detail={
            "role": role.value,
            "unit": unit.code,
            "leader": invite.leader,
            "cobuild_unit_id": invite.cobuild_unit_id,
        },
        now=now,
    )
    return invite, token


async def _invite_valid(
    session: AsyncSession, invite: Invite, unit: OrgUnit, person: Person
) -> bool:
    """The invite is only as good as its creator's rights at the moment of use (and a
    liaison's, as the pairing of its unit with the community); a demo person's invite admits
    demo people only."""
    if invite.role == Role.unit_liaison:
        paired = select(CobuildPairing.unit_id).where(
            CobuildPairing.unit_id == invite.cobuild_unit_id,
            CobuildPairing.community_id == unit.id,
        )
        if (await session.execute(paired)).first() is None:
            return False
    if invite.by_operator:
        return True
    creator = await session.get(Person, invite.created_by_id) if invite.created_by_id else None
    if creator is None or not await may_administer(session, person_id=creator.id, unit=unit):
        return False
    demo_fence.refuse_outside(actor=creator, target=person)
    return True


async def redeem_invite(
    session: AsyncSession,
    *,
    token: str,
    person: Person,
    now: datetime,
    settings: Settings | None = None,
) -> tuple[Invite, OrgUnit]:
    """Use an invite: grant its role to `person` (their command menus follow). Expired, used
    or forged tokens are refused."""
    invite = (
        await session.execute(select(Invite).where(Invite.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise NotFound("admin.error.invite_invalid")
    unit = await session.get(OrgUnit, invite.unit_id)
    if unit is None or not await _invite_valid(session, invite, unit, person):
        raise NotFound("admin.error.invite_invalid")
    # Single use even when two people open the link at the same moment.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now, used_by_id=person.id)
        .returning(Invite.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.scalar_one_or_none() is None:
        raise NotFound("admin.error.invite_invalid")
    invite.used_at, invite.used_by_id = now, person.id
    if invite.role == Role.unit_liaison:
        await _add_liaison(session, invite=invite, person=person, settings=settings)
    else:
        await _grant(session, invite=invite, unit=unit, person=person, now=now, settings=settings)
    await audit(
        session,
        actor_id=person.id,
        action="invite.redeem",
        target=f"invite:{invite.id}",
        detail={"role": invite.role.value, "unit": unit.code},
        now=now,
    )
    return invite, unit


async def _add_liaison(
    session: AsyncSession, *, invite: Invite, person: Person, settings: Settings | None
) -> None:
    """The person acts for the invite's reporting unit from now on."""
    assert invite.cobuild_unit_id is not None  # a liaison's invite names its unit
    found = select(UnitLiaison.person_id).where(
        UnitLiaison.unit_id == invite.cobuild_unit_id, UnitLiaison.person_id == person.id
    )
    if (await session.execute(found)).first() is None:
        session.add(UnitLiaison(unit_id=invite.cobuild_unit_id, person_id=person.id))
        await session.flush()
        await command_menu.queue_menus(session, person_ids=[person.id], settings=settings)


async def _grant(
    session: AsyncSession,
    *,
    invite: Invite,
    unit: OrgUnit,
    person: Person,
    now: datetime,
    settings: Settings | None,
) -> None:
    """The invite's role on its unit, unless the person holds it already."""
    exists = (
        await session.execute(
            select(RoleGrant.id).where(
                RoleGrant.person_id == person.id,
                RoleGrant.role == invite.role,
                RoleGrant.unit_id == unit.id,
            )
        )
    ).scalar_one_or_none()
    if exists is None:
        session.add(
            RoleGrant(
                person_id=person.id,
                role=invite.role,
                unit_id=unit.id,
                granted_by_id=invite.created_by_id,
                created_at=now,
            )
        )
        await session.flush()
        await command_menu.queue_menus(session, person_ids=[person.id], settings=settings)
