"""Small builders of test data: an org tree, places, categories, people with roles, requests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, load_settings
from bot.services.cases import intake, references
from models import (
    Building,
    Category,
    ChannelIdentity,
    Compound,
    OrgUnit,
    Person,
    Priority,
    Request,
    Role,
    RoleGrant,
    UnitKind,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_serial = itertools.count(1)


def settings(**overrides: Any) -> Settings:
    """Settings for tests (defaults plus overrides)."""
    return load_settings(**overrides)


def square(lat: float, lon: float, half: float) -> dict[str, Any]:
    """A GeoJSON Polygon: a square of `half` degrees around a point."""
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


async def ensure_reference_sequence(session: AsyncSession) -> None:
    """Create the PostgreSQL reference sequence if the migration does not yet."""
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(text(references.SEQUENCE_DDL))


async def unit(
    session: AsyncSession,
    *,
    kind: UnitKind,
    parent: OrgUnit | None = None,
    code: str | None = None,
    boundary: dict[str, Any] | None = None,
) -> OrgUnit:
    """An org unit under `parent`, with its materialised path."""
    code = code or f"{kind.value}-{next(_serial)}"
    row = OrgUnit(
        code=code,
        kind=kind,
        name_zh=f"{code}中文",
        name_en=code,
        parent_id=parent.id if parent else None,
        boundary=boundary,
    )
    session.add(row)
    await session.flush()
    row.path = f"{parent.path if parent else '/'}{row.id}/"
    await session.flush()
    return row


async def compound(
    session: AsyncSession,
    *,
    community: OrgUnit,
    code: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    workstation: OrgUnit | None = None,
) -> Compound:
    """A compound; with a workstation it has no property management."""
    code = code or f"compound-{next(_serial)}"
    row = Compound(
        code=code,
        name_zh=f"{code}小区",
        name_en=f"{code} compound",
        community_id=community.id,
        lat=lat,
        lon=lon,
        no_property_management=workstation is not None,
        workstation_id=workstation.id if workstation else None,
    )
    session.add(row)
    await session.flush()
    return row


async def building(
    session: AsyncSession, *, compound: Compound, grid: OrgUnit, number: str = "1"
) -> Building:
    """A building of a compound, in a grid."""
    row = Building(compound_id=compound.id, number=number, grid_id=grid.id)
    session.add(row)
    await session.flush()
    return row


async def category(
    session: AsyncSession,
    *,
    slug: str | None = None,
    sla_hours: int = 168,
    skill: str | None = None,
    maintenance: bool = False,
    department_codes: list[str] | None = None,
    owner_kinds: list[str] | None = None,
) -> Category:
    """A request category."""
    slug = slug or f"cat-{next(_serial)}"
    row = Category(
        slug=slug,
        name_zh=f"{slug}类",
        name_en=slug,
        sla_hours=sla_hours,
        skill=skill,
        maintenance=maintenance,
        department_codes=department_codes or [],
        owner_kinds=owner_kinds or [],
    )
    session.add(row)
    await session.flush()
    return row


async def person(
    session: AsyncSession,
    *,
    language: str | None = None,
    role: Role | None = None,
    unit: OrgUnit | None = None,
    channels: tuple[str, ...] = ("telegram",),
) -> Person:
    """A person with one identity per channel and, optionally, a role on a unit."""
    number = next(_serial)
    row = Person(display_name=f"person {number}", language=language)
    session.add(row)
    await session.flush()
    for channel in channels:
        session.add(
            ChannelIdentity(
                person_id=row.id,
                channel=channel,
                external_id=f"u{number}",
                chat_id=f"chat-{number}-{channel}",
            )
        )
    if role is not None:
        assert unit is not None
        session.add(RoleGrant(person_id=row.id, role=role, unit_id=unit.id))
    await session.flush()
    return row


@dataclass
class Org:
    """district > street > community > grid (+ grid2), a workstation and a department; compound A
    (buildings 1 in grid, 2 in grid2), compound B without property management (in grid)."""

    district: OrgUnit
    street: OrgUnit
    community: OrgUnit
    grid: OrgUnit
    grid2: OrgUnit
    workstation: OrgUnit
    department: OrgUnit
    compound_a: Compound
    building_a1: Building
    building_a2: Building
    compound_b: Compound
    building_b1: Building
    general: Category
    lighting: Category
    staff: Person
    admin: Person
    steward: Person


# Where the demo grid lies; compound B sits inside it, compound A outside every boundary.
GRID_LAT, GRID_LON = 36.40, 120.45
A_LAT, A_LON = 36.50, 120.60


async def org(session: AsyncSession) -> Org:
    """A small district with people holding roles: staff on grid, admin on community, steward."""
    await ensure_reference_sequence(session)
    district = await unit(session, kind=UnitKind.district)
    street = await unit(session, kind=UnitKind.street, parent=district)
    community = await unit(session, kind=UnitKind.community, parent=street)
    grid = await unit(
        session, kind=UnitKind.grid, parent=community, boundary=square(GRID_LAT, GRID_LON, 0.01)
    )
    grid2 = await unit(session, kind=UnitKind.grid, parent=community)
    workstation = await unit(session, kind=UnitKind.workstation, parent=district)
    department = await unit(session, kind=UnitKind.department, parent=district, code="dept-water")
    compound_a = await compound(session, community=community, lat=A_LAT, lon=A_LON)
    building_a1 = await building(session, compound=compound_a, grid=grid, number="1")
    building_a2 = await building(session, compound=compound_a, grid=grid2, number="2")
    compound_b = await compound(
        session, community=community, lat=GRID_LAT, lon=GRID_LON, workstation=workstation
    )
    building_b1 = await building(session, compound=compound_b, grid=grid, number="17")
    return Org(
        district=district,
        street=street,
        community=community,
        grid=grid,
        grid2=grid2,
        workstation=workstation,
        department=department,
        compound_a=compound_a,
        building_a1=building_a1,
        building_a2=building_a2,
        compound_b=compound_b,
        building_b1=building_b1,
        general=await category(session, slug="general"),
        lighting=await category(session, slug="lighting", sla_hours=72, maintenance=True),
        staff=await person(session, role=Role.grid_staff, unit=grid),
        admin=await person(session, role=Role.admin, unit=community, language="en"),
        steward=await person(session, role=Role.steward, unit=workstation),
    )


async def request(
    session: AsyncSession,
    *,
    org: Org,
    reporter: Person | None = None,
    category: Category | None = None,
    building: Building | None = None,
    priority: Priority = Priority.ordinary,
    now: datetime = NOW,
    config: Settings | None = None,
) -> Request:
    """A request submitted through the workflow (in building A1, grid `org.grid`, by default)."""
    if reporter is None:
        reporter = await person(session)
    target = building or org.building_a1
    return await intake.submit(
        session,
        reporter=reporter,
        category=category or org.general,
        description="the stairwell light is broken",
        building_id=target.id,
        compound_id=target.compound_id,
        priority=priority,
        now=now,
        settings=config or settings(),
    )
