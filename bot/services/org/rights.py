"""Rights: grants and revokes by admins, and the audit log (invite links: `invites`).

Who may grant: an admin of a unit administers its subtree; a volunteer team sits beside the
tree, so admins of a community it is paired with administer the team too. Every grant, revoke,
invite and admin action writes an AuditLog row in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound, UserFacingError
from bot.services.org import command_menu, demo_fence, scope
from models import (
    AuditLog,
    OrgUnit,
    Person,
    Role,
    RoleGrant,
    TeamPairing,
    UnitKind,
)

# Which kinds of unit each role may be held on.
ROLE_KINDS: dict[Role, frozenset[UnitKind]] = {
    Role.grid_staff: frozenset({UnitKind.grid, UnitKind.building_group}),
    Role.volunteer: frozenset({UnitKind.team}),
    Role.steward: frozenset({UnitKind.workstation}),
    Role.department_liaison: frozenset({UnitKind.department}),
    Role.admin: frozenset({UnitKind.community, UnitKind.street, UnitKind.district}),
}
GRANTABLE: tuple[Role, ...] = tuple(ROLE_KINDS)


async def audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime,
) -> AuditLog:
    """Record one admin action."""
    row = AuditLog(
        actor_id=actor_id, action=action, target=target[:200], detail=detail or {}, created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def get_unit_by_code(session: AsyncSession, *, code: str) -> OrgUnit:
    """The unit with this code, or NotFound."""
    unit = (
        await session.execute(select(OrgUnit).where(OrgUnit.code == code.strip()))
    ).scalar_one_or_none()
    if unit is None:
        raise NotFound("admin.error.unit_not_found", code=code.strip()[:64])
    return unit


async def may_administer(session: AsyncSession, *, person_id: int, unit: OrgUnit) -> bool:
    """True when the person is an admin of the unit's subtree (or of a team's paired community)."""
    if await scope.holds_role(session, person_id=person_id, roles=[Role.admin], unit_id=unit.id):
        return True
    if unit.kind != UnitKind.team:
        return False
    paired = select(TeamPairing.community_id).where(TeamPairing.team_id == unit.id)
    for community_id in (await session.execute(paired)).scalars():
        if await scope.holds_role(
            session, person_id=person_id, roles=[Role.admin], unit_id=community_id
        ):
            return True
    return False


async def require_admin(session: AsyncSession, *, person_id: int, unit: OrgUnit) -> None:
    """Refuse (NotAllowed, naming the unit) unless the person administers the unit."""
    if not await may_administer(session, person_id=person_id, unit=unit):
        raise NotAllowed("admin.error.not_admin_of", unit=unit.code)


async def is_admin(session: AsyncSession, *, person_id: int) -> bool:
    """True when the person holds an admin grant anywhere."""
    units = await scope.granted_units(session, person_id=person_id, roles=[Role.admin])
    return bool(units)


async def list_invitable_units(
    session: AsyncSession, *, person_id: int, role: Role
) -> list[OrgUnit]:
    """The units on which the person may invite someone to `role` (`may_administer`, for the
    role's kinds of unit), in tree order."""
    admin_of = await scope.granted_units(session, person_id=person_id, roles=[Role.admin])
    kinds = list(ROLE_KINDS[role])
    covered = scope.within(admin_of, OrgUnit.path)
    if UnitKind.team in kinds:  # teams sit beside the tree: their paired communities say who admins
        community = aliased(OrgUnit)
        paired = (
            select(TeamPairing.team_id)
            .join(community, community.id == TeamPairing.community_id)
            .where(scope.within(admin_of, community.path))
        )
        covered = or_(covered, OrgUnit.id.in_(paired))
    query = select(OrgUnit).where(OrgUnit.kind.in_(kinds), covered).order_by(OrgUnit.path)
    return list((await session.execute(query)).scalars())


def check_role_unit(role: Role, unit: OrgUnit) -> None:
    """Refuse a role on a unit of the wrong kind (a volunteer of a grid...)."""
    kinds = ROLE_KINDS.get(role)
    if kinds is None or unit.kind not in kinds:
        raise UserFacingError(
            "admin.error.role_unit",
            role=role.value,
            kinds=", ".join(sorted(k.value for k in kinds or ())),
        )


def parse_role(value: str) -> Role:
    """A grantable role from its name, or a refusal listing the names."""
    try:
        role = Role(value.strip().lower())
    except ValueError:
        role = None
    if role not in ROLE_KINDS:
        raise UserFacingError("admin.error.role", roles=", ".join(r.value for r in GRANTABLE))
    return role


async def get_person(session: AsyncSession, *, person_id: int) -> Person:
    """A person who has not been erased, or NotFound."""
    person = await session.get(Person, person_id) if 0 < person_id < 2**31 else None
    if person is None or person.deleted_at is not None:
        raise NotFound("admin.error.person_not_found", person=person_id)
    return person


async def grant(
    session: AsyncSession,
    *,
    actor: Person,
    person_id: int,
    role: Role,
    unit: OrgUnit,
    now: datetime,
    settings: Settings | None = None,
) -> tuple[RoleGrant, bool]:
    """Give `role` on `unit` to a person; returns the grant and whether it is new. Their
    chats' command menus follow (`command_menu`), in this transaction."""
    await require_admin(session, person_id=actor.id, unit=unit)
    check_role_unit(role, unit)
    target = await get_person(session, person_id=person_id)
    demo_fence.refuse_outside(actor=actor, target=target)
    existing = (
        await session.execute(
            select(RoleGrant).where(
                RoleGrant.person_id == target.id,
                RoleGrant.role == role,
                RoleGrant.unit_id == unit.id,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    row = RoleGrant(
        person_id=target.id, role=role, unit_id=unit.id, granted_by_id=actor.id, created_at=now
    )
    session.add(row)
    await session.flush()
    await audit(
        session,
        actor_id=actor.id,
        action="grant",
        target=f"person:{target.id}",
        detail={"role": role.value, "unit": unit.code},
        now=now,
    )
    await command_menu.queue_menus(session, person_ids=[target.id], settings=settings)
    return row, True


async def revoke(
    session: AsyncSession,
    *,
    actor: Person,
    person_id: int,
    role: Role,
    unit: OrgUnit,
    now: datetime,
    settings: Settings | None = None,
) -> bool:
    """Remove `role` on `unit` from a person; False when they did not hold it. Their chats'
    command menus follow, in this transaction."""
    await require_admin(session, person_id=actor.id, unit=unit)
    demo_fence.refuse_outside(actor=actor, target=await get_person(session, person_id=person_id))
    result = await session.execute(
        delete(RoleGrant)
        .where(
            RoleGrant.person_id == person_id, RoleGrant.role == role, RoleGrant.unit_id == unit.id
        )
        .execution_options(synchronize_session=False)
    )
    removed = bool(getattr(result, "rowcount", 0))
    if removed:
        await audit(
            session,
            actor_id=actor.id,
            action="revoke",
            target=f"person:{person_id}",
            detail={"role": role.value, "unit": unit.code},
            now=now,
        )
        await command_menu.queue_menus(session, person_ids=[person_id], settings=settings)
    return removed


async def end_sessions(
    session: AsyncSession, *, person_id: int, actor_id: int | None, now: datetime
) -> None:
    """End every web chat session of a person: sessions carry the epoch they were issued in,
    and this raises it. Their chats on other channels are not sessions and stay."""
    target = await get_person(session, person_id=person_id)
    await session.execute(
        update(Person)
        .where(Person.id == target.id)
        .values(session_epoch=Person.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )
    await audit(
        session, actor_id=actor_id, action="sessions.end", target=f"person:{target.id}", now=now
    )
