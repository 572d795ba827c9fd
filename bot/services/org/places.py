"""Reading the district's places for residents choosing their address."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Building, Compound, OrgUnit, UnitKind


async def list_units(
    session: AsyncSession, *, kind: UnitKind, parent_id: int | None = None
) -> Sequence[OrgUnit]:
    """Units of one kind, optionally under one parent, by name."""
    stmt = select(OrgUnit).where(OrgUnit.kind == kind)
    if parent_id is not None:
        stmt = stmt.where(OrgUnit.parent_id == parent_id)
    return (await session.execute(stmt.order_by(OrgUnit.code))).scalars().all()


async def get_unit(session: AsyncSession, *, unit_id: int, kind: UnitKind) -> OrgUnit | None:
    """A unit by id, only if it is of the expected kind."""
    unit = await session.get(OrgUnit, unit_id)
    return unit if unit is not None and unit.kind == kind else None


async def list_compounds(session: AsyncSession, *, community_id: int) -> Sequence[Compound]:
    """Compounds of one community, by name."""
    stmt = select(Compound).where(Compound.community_id == community_id).order_by(Compound.code)
    return (await session.execute(stmt)).scalars().all()


async def search_compounds(
    session: AsyncSession, *, text: str, limit: int = 8
) -> Sequence[Compound]:
    """Compounds whose Chinese or English name contains `text`."""
    needle = text.strip()
    if not needle:
        return []
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    params = {"pattern": pattern, "lower_pattern": pattern.lower(), "limit": limit}
    return (await session.execute(_SEARCH_COMPOUNDS, params)).scalars().all()


# Built once: residents type an address on nearly every turn of their onboarding.
_SEARCH_COMPOUNDS = (
    select(Compound)
    .where(
        Compound.name_zh.like(bindparam("pattern"), escape="\\")
        | func.lower(Compound.name_en).like(bindparam("lower_pattern"), escape="\\")
    )
    .order_by(Compound.code)
    .limit(bindparam("limit"))
)


# A compound's deep-link payload, "c_" + its id or its code (Telegram allows 64 characters of
# A-Z, a-z, 0-9, "_" and "-" in a start payload).
COMPOUND_LINK = re.compile(r"c_([0-9]{1,10}|[A-Za-z0-9_-]{1,62})")


def compound_payload(compound: Compound) -> str:
    """The start payload of a compound's QR code: its code when a link can carry it."""
    if COMPOUND_LINK.fullmatch(f"c_{compound.code}") and not compound.code.isdigit():
        return f"c_{compound.code}"
    return f"c_{compound.id}"


async def get_compound_by_payload(session: AsyncSession, *, payload: str) -> Compound | None:
    """The compound a start payload names ("c_<id>" or "c_<code>"), parsed strictly; None when
    it names none."""
    match = COMPOUND_LINK.fullmatch(payload)
    if match is None:
        return None
    key = match[1]
    if key.isdigit():
        number = int(key)
        return await session.get(Compound, number) if 0 < number < 2**31 else None
    found = await session.execute(select(Compound).where(Compound.code == key))
    return found.scalar_one_or_none()


async def list_buildings(session: AsyncSession, *, compound_id: int) -> Sequence[Building]:
    """Buildings of a compound, in number order (numeric where possible)."""
    stmt = select(Building).where(Building.compound_id == compound_id)
    rows = (await session.execute(stmt)).scalars().all()
    return sorted(rows, key=lambda b: (len(b.number), b.number))


async def describe_address(
    session: AsyncSession,
    *,
    compound_id: int | None,
    building_id: int | None,
    unit_room: str,
    locale: str,
) -> str:
    """The person's address as one line, e.g. "和顺社区 海盛·新阳光地带 17号楼 2-301"."""
    parts: list[str] = []
    compound = await session.get(Compound, compound_id) if compound_id else None
    if compound is not None:
        community = await session.get(OrgUnit, compound.community_id)
        if community is not None:
            parts.append(community.name(locale))
        parts.append(compound.name(locale))
    building = await session.get(Building, building_id) if building_id else None
    if building is not None:
        parts.append(building_label(building, locale))
    if unit_room:
        parts.append(unit_room)
    return " ".join(parts)


def building_label(building: Building, locale: str) -> str:
    """ "17号楼" in Chinese, "Building 17" in English."""
    number = building.number
    if not number.isdigit():
        return number
    return f"Building {number}" if locale == "en" else f"{number}号楼"
