"""Which unit owns a request: walks the org data (buildings, grid polygons, compounds).

Rules, first match wins; a request is never unowned, the district root is the last owner:
  building_grid        the building's grid
  compound_grid        a compound whose buildings all lie in one grid
  grid_polygon         the grid whose boundary contains the shared location
  nearest_compound     the nearest compound within `routing.nearest_compound_m`
  community_fallback   the compound's community, or the community polygon containing the point
  street_fallback      the street polygon containing the point
  district_fallback    nothing located the request
then, on top of the place:
  category_level           the category is owned higher up (Category.owner_kinds)
  no_property_workstation  maintenance in a compound without property management

Each decision says why twice: `reason` in English with codes, for operators (`redgrid route`),
and `steps`, codes and ids that `bot.services.dispatch.explain` tells people in their language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotFound
from bot.services.dispatch import geo
from bot.services.org.scope import path_ids
from models import Building, Category, Compound, OrgUnit, UnitKind

METRES_PER_DEGREE = 111_320.0
# One step of an explanation: {"code": <route.step.* key>, <parameter>: <id, number or text>}.
Step = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a request goes and why."""

    owner_unit_id: int
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    workstation_id: int | None
    department_ids: tuple[int, ...]
    volunteer_skill: str | None
    rule: str
    reason: str
    compound_id: int | None = None
    building_id: int | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Location:
    """What a shared location points at, for onboarding."""

    compound_id: int | None
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    distance_m: float | None
    rule: str


@dataclass(slots=True)
class _Place:
    unit: OrgUnit
    rule: str
    reason: str
    compound: Compound | None = None
    building: Building | None = None
    distance: float | None = None
    lineage: dict[UnitKind, OrgUnit] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


async def _unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("workflow.error.unit_not_found")
    return unit


async def root_unit(session: AsyncSession) -> OrgUnit:
    """The district root: the last owner of anything."""
    query = (
        select(OrgUnit)
        .where(OrgUnit.parent_id.is_(None))
        .order_by((OrgUnit.kind != UnitKind.district), OrgUnit.id)
        .limit(1)
    )
    unit = (await session.execute(query)).scalar_one_or_none()
    if unit is None:
        raise NotFound("workflow.error.no_org")
    return unit


async def lineage(session: AsyncSession, *, unit: OrgUnit) -> dict[UnitKind, OrgUnit]:
    """The unit and its ancestors by kind (the nearest of each kind)."""
    ids = path_ids(unit.path) or [unit.id]
    found = await session.execute(select(OrgUnit).where(OrgUnit.id.in_(ids)))
    by_id = {u.id: u for u in found.scalars()}
    by_id[unit.id] = unit
    kinds: dict[UnitKind, OrgUnit] = {}
    for unit_id in reversed(ids):
        if unit_id in by_id:
            kinds.setdefault(by_id[unit_id].kind, by_id[unit_id])
    return kinds


async def _compound_place(session: AsyncSession, compound: Compound, how: str) -> _Place:
    grids = list(
        (
            await session.execute(
                select(Building.grid_id).where(Building.compound_id == compound.id).distinct()
            )
        ).scalars()
    )
    if len(grids) == 1:
        grid = await _unit(session, grids[0])
        rule = "nearest_compound" if how == "nearest" else "compound_grid"
        reason = f"compound {compound.code} lies in grid {grid.code}"
        step = {"code": "compound_grid", "compound": compound.id, "grid": grid.id}
        return _Place(grid, rule, reason, compound=compound, steps=[step])
    community = await _unit(session, compound.community_id)
    rule = "nearest_compound" if how == "nearest" else "community_fallback"
    spread = "no buildings" if not grids else f"buildings in {len(grids)} grids"
    reason = f"compound {compound.code} has {spread}; its community {community.code} owns it"
    code = "compound_spread" if grids else "compound_empty"
    step = {"code": code, "compound": compound.id, "count": len(grids), "community": community.id}
    return _Place(community, rule, reason, compound=compound, steps=[step])


async def nearest_compound(
    session: AsyncSession, *, lat: float, lon: float, within_m: float
) -> tuple[Compound, float] | None:
    """The nearest compound with coordinates within `within_m` metres, and its distance."""
    if within_m <= 0:
        return None
    dlat = within_m / METRES_PER_DEGREE
    dlon = within_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    query = select(Compound).where(
        Compound.lat.between(lat - dlat, lat + dlat), Compound.lon.between(lon - dlon, lon + dlon)
    )
    best: tuple[Compound, float] | None = None
    for compound in (await session.execute(query)).scalars():
        assert compound.lat is not None and compound.lon is not None
        distance = geo.distance_m(lat, lon, compound.lat, compound.lon)
        if distance <= within_m and (best is None or distance < best[1]):
            best = (compound, distance)
    return best


async def containing_unit(
    session: AsyncSession, *, lat: float, lon: float, kind: UnitKind
) -> OrgUnit | None:
    """The unit of `kind` whose boundary contains the point (the first by id if several)."""
    query = (
        select(OrgUnit)
        .where(OrgUnit.kind == kind, OrgUnit.boundary.is_not(None))
        .order_by(OrgUnit.id)
    )
    for unit in (await session.execute(query)).scalars():
        if geo.contains(unit.boundary, lat=lat, lon=lon):
            return unit
    return None


async def _point_place(
    session: AsyncSession, *, lat: float, lon: float, settings: Settings
) -> _Place:
    where = f"({lat:.6f}, {lon:.6f})"
    within = settings.routing.nearest_compound_m
    near = await nearest_compound(session, lat=lat, lon=lon, within_m=within)
    grid = await containing_unit(session, lat=lat, lon=lon, kind=UnitKind.grid)
    if grid is not None:
        place = _Place(grid, "grid_polygon", f"{where} lies inside grid {grid.code}'s boundary")
        place.steps = [{"code": "in_boundary", "unit": grid.id}]
        if near is not None:
            place.compound, place.distance = near
        return place
    if near is not None:
        compound, distance = near
        place = await _compound_place(session, compound, "nearest")
        place.reason = f"{where} is {distance:.0f} m from compound {compound.code}; " + place.reason
        place.distance = distance
        near_step = {"code": "near", "compound": compound.id, "distance": round(distance)}
        place.steps.insert(0, near_step)
        return place
    for kind, rule in (
        (UnitKind.community, "community_fallback"),
        (UnitKind.street, "street_fallback"),
    ):
        unit = await containing_unit(session, lat=lat, lon=lon, kind=kind)
        if unit is not None:
            reason = f"{where}: no grid boundary or compound within {within:.0f} m; "
            place = _Place(unit, rule, reason + f"inside {kind.value} {unit.code}'s boundary")
            place.steps = [
                {"code": "no_nearby", "within": round(within)},
                {"code": "in_boundary", "unit": unit.id},
            ]
            return place
    root = await root_unit(session)
    reason = f"{where} is in no boundary and no compound is within {within:.0f} m"
    step = {"code": "nowhere", "within": round(within), "unit": root.id}
    return _Place(root, "district_fallback", reason, steps=[step])


async def _place(
    session: AsyncSession,
    *,
    building_id: int | None,
    compound_id: int | None,
    lat: float | None,
    lon: float | None,
    settings: Settings,
) -> _Place:
    if building_id is not None:
        building = await session.get(Building, building_id)
        if building is None:
            raise NotFound("workflow.error.place_not_found")
        compound = await session.get(Compound, building.compound_id)
        grid = await _unit(session, building.grid_id)
        label = f"{compound.code if compound else '?'} building {building.number}"
        reason = f"{label} belongs to grid {grid.code}"
        step = {
            "code": "building",
            "compound": compound.id if compound else None,
            "building": building.number,
            "grid": grid.id,
        }
        place = _Place(grid, "building_grid", reason, compound=compound, building=building)
        place.steps = [step]
        return place
    if compound_id is not None:
        compound = await session.get(Compound, compound_id)
        if compound is None:
            raise NotFound("workflow.error.place_not_found")
        return await _compound_place(session, compound, "given")
    if lat is not None and lon is not None:
        return await _point_place(session, lat=lat, lon=lon, settings=settings)
    root = await root_unit(session)
    reason = "no building, compound or location was given"
    return _Place(root, "district_fallback", reason, steps=[{"code": "nothing", "unit": root.id}])


def _category_level(
    category: Category, *, owner: OrgUnit, kinds: dict[UnitKind, OrgUnit]
) -> OrgUnit | None:
    """The unit above `owner` at the lowest level the category is handled at, if it must move."""
    wanted = set(category.owner_kinds or ())
    if not wanted or owner.kind.value in wanted:
        return None
    # kinds is nearest-first, so the first match is the lowest allowed level.
    higher = [u for k, u in kinds.items() if k.value in wanted]
    return higher[0] if higher else None


async def _department_ids(session: AsyncSession, category: Category) -> tuple[int, ...]:
    """The departments the category names, by id."""
    if not category.department_codes:
        return ()
    query = select(OrgUnit.id).where(
        OrgUnit.code.in_(category.department_codes), OrgUnit.kind == UnitKind.department
    )
    return tuple(sorted((await session.execute(query)).scalars()))


async def route_request(
    session: AsyncSession,
    *,
    category: Category,
    building_id: int | None = None,
    compound_id: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    settings: Settings,
) -> RouteDecision:
    """Decide the owner unit of a request from its place and category."""
    place = await _place(
        session,
        building_id=building_id,
        compound_id=compound_id,
        lat=lat,
        lon=lon,
        settings=settings,
    )
    kinds = await lineage(session, unit=place.unit)
    owner, rule, reason, steps = place.unit, place.rule, place.reason, list(place.steps)
    higher = _category_level(category, owner=owner, kinds=kinds)
    if higher is not None:
        owner, rule = higher, "category_level"
        reason += f"; category {category.slug} is handled at {owner.kind.value} {owner.code}"
        steps.append({"code": "category", "category": category.id, "unit": owner.id})
    compound = place.compound
    workstation_id: int | None = None
    if compound is not None and compound.no_property_management and compound.workstation_id:
        workstation_id = compound.workstation_id
        if category.maintenance:
            owner = await _unit(session, compound.workstation_id)
            rule = "no_property_workstation"
            reason += (
                f"; compound {compound.code} has no property management, so maintenance "
                f"goes to workstation {owner.code} (the grid is kept informed)"
            )
            steps.append({"code": "workstation", "compound": compound.id, "unit": owner.id})
    department_ids = await _department_ids(session, category)
    grid, community, street = (
        kinds.get(k) for k in (UnitKind.grid, UnitKind.community, UnitKind.street)
    )
    return RouteDecision(
        owner_unit_id=owner.id,
        grid_id=grid.id if grid else None,
        community_id=community.id if community else None,
        street_id=street.id if street else None,
        workstation_id=workstation_id,
        department_ids=department_ids,
        volunteer_skill=category.skill or None,
        rule=rule,
        reason=reason,
        compound_id=compound.id if compound else None,
        building_id=place.building.id if place.building else None,
        steps=tuple(steps),
    )


async def locate(session: AsyncSession, *, lat: float, lon: float, settings: Settings) -> Location:
    """The compound and grid a shared location points at (onboarding by location)."""
    place = await _point_place(session, lat=lat, lon=lon, settings=settings)
    kinds = await lineage(session, unit=place.unit)
    grid, community, street = (
        kinds.get(k) for k in (UnitKind.grid, UnitKind.community, UnitKind.street)
    )
    return Location(
        compound_id=place.compound.id if place.compound else None,
        grid_id=grid.id if grid else None,
        community_id=community.id if community else None,
        street_id=street.id if street else None,
        distance_m=place.distance,
        rule=place.rule,
    )
