"""Rights: does a person hold a role over a unit, through a grant on the unit or an ancestor.

A grant on a unit covers its whole subtree; `OrgUnit.path` ("/1/4/9/") makes "is G an ancestor
of U" a string prefix test, so one query answers it without walking the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import OrgUnit, Person, Role, RoleGrant

STAFF_ROLES: frozenset[Role] = frozenset({Role.grid_staff, Role.steward, Role.admin})


def path_ids(path: str) -> list[int]:
    """The unit ids of a materialised path, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


async def holds_role(
    session: AsyncSession, *, person_id: int, roles: Iterable[Role], unit_id: int
) -> bool:
    """True when the person holds one of `roles` on `unit_id` or on one of its ancestors."""
    target = aliased(OrgUnit)
    granted = aliased(OrgUnit)
    query = select(
        exists()
        .where(
            RoleGrant.person_id == person_id,
            RoleGrant.role.in_(list(roles)),
            RoleGrant.unit_id == granted.id,
            target.id == unit_id,
            # The target lies in the granted unit's subtree when its path starts with the
            # grant's path (substr, not LIKE: exact, with no pattern characters to escape).
            _starts_with(target.path, granted.path),
        )
        .where(Person.id == RoleGrant.person_id, Person.deleted_at.is_(None))
    )
    return bool((await session.execute(query)).scalar())


def _starts_with(value: Any, prefix: Any) -> ColumnElement[bool]:
    return func.substr(value, literal(1), func.length(prefix)) == prefix


async def granted_units(
    session: AsyncSession, *, person_id: int, roles: Iterable[Role]
) -> list[OrgUnit]:
    """The units on which the person holds one of `roles` (each covering its subtree)."""
    granted = select(RoleGrant.unit_id).where(
        RoleGrant.person_id == person_id, RoleGrant.role.in_(list(roles))
    )
    query = select(OrgUnit).where(OrgUnit.id.in_(granted)).order_by(OrgUnit.path)
    return list((await session.execute(query)).scalars())


def within(units: Iterable[OrgUnit], column: Any) -> ColumnElement[bool]:
    """A condition on an OrgUnit.path column: it lies in the subtree of one of `units`."""
    conditions = [_starts_with(column, literal(unit.path)) for unit in units]
    return or_(*conditions) if conditions else literal(False)


async def ancestors(session: AsyncSession, *, unit: OrgUnit) -> list[OrgUnit]:
    """The unit and its ancestors, nearest first."""
    ids = path_ids(unit.path) or [unit.id]
    found = await session.execute(select(OrgUnit).where(OrgUnit.id.in_(ids)))
    rows = {u.id: u for u in found.scalars()}
    return [rows[i] for i in reversed(ids) if i in rows]
