"""Routing: every rule and fallback; a request is never unowned."""

from __future__ import annotations

import pytest

from bot.exceptions import NotFound
from bot.services.dispatch import geo, routing
from models import UnitKind
from tests import factories as f
from tests.conftest import TestDB


def test_point_in_polygon_with_hole_and_multipolygon() -> None:
    outer = f.square(36.4, 120.45, 0.01)["coordinates"][0]
    hole = f.square(36.4, 120.45, 0.002)["coordinates"][0]
    polygon = {"type": "Polygon", "coordinates": [outer, hole]}
    assert geo.contains(polygon, lat=36.405, lon=120.455)
    assert not geo.contains(polygon, lat=36.4, lon=120.45)  # in the hole
    assert not geo.contains(polygon, lat=36.5, lon=120.45)
    multi = {"type": "MultiPolygon", "coordinates": [[hole], f.square(0, 0, 1)["coordinates"]]}
    assert geo.contains(multi, lat=0.5, lon=0.5)
    assert geo.contains({"type": "Feature", "geometry": multi}, lat=36.4, lon=120.45)
    assert not geo.contains({"type": "Point", "coordinates": [0, 0]}, lat=0, lon=0)
    assert not geo.contains(None, lat=0, lon=0)


def test_distance() -> None:
    assert geo.distance_m(36.5, 120.6, 36.5, 120.6) == 0
    assert geo.distance_m(36.5, 120.6, 36.501, 120.6) == pytest.approx(111.2, abs=0.5)


async def test_building_grid(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        decision = await routing.route_request(
            session, category=org.general, building_id=org.building_a2.id, settings=f.settings()
        )
    assert decision.rule == "building_grid"
    assert decision.owner_unit_id == decision.grid_id == org.grid2.id
    assert (decision.community_id, decision.street_id) == (org.community.id, org.street.id)
    assert decision.compound_id == org.compound_a.id
    assert org.grid2.code in decision.reason


async def test_compound_with_one_grid_and_with_several(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        one = await routing.route_request(
            session, category=org.general, compound_id=org.compound_b.id, settings=f.settings()
        )
        spread = await routing.route_request(
            session, category=org.general, compound_id=org.compound_a.id, settings=f.settings()
        )
    assert (one.rule, one.owner_unit_id) == ("compound_grid", org.grid.id)
    assert (spread.rule, spread.owner_unit_id) == ("community_fallback", org.community.id)
    assert spread.grid_id is None and spread.street_id == org.street.id


async def test_grid_polygon(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        decision = await routing.route_request(
            session,
            category=org.general,
            lat=f.GRID_LAT + 0.005,
            lon=f.GRID_LON,
            settings=f.settings(),
        )
    assert (decision.rule, decision.owner_unit_id) == ("grid_polygon", org.grid.id)
    # compound B is ~556 m away: beyond the default 500 m, so not taken as the place.
    assert decision.compound_id is None


async def test_nearest_compound_within_distance(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        lone = await f.compound(session, community=org.community, lat=36.7, lon=120.7)
        await f.building(session, compound=lone, grid=org.grid2)
        near = await routing.route_request(
            session, category=org.general, lat=36.701, lon=120.7, settings=f.settings()
        )
        far = await routing.route_request(
            session,
            category=org.general,
            lat=36.701,
            lon=120.7,
            settings=f.settings(routing={"nearest_compound_m": 100}),
        )
        spread = await routing.route_request(
            session, category=org.general, lat=f.A_LAT + 0.001, lon=f.A_LON, settings=f.settings()
        )
    assert (near.rule, near.owner_unit_id, near.compound_id) == (
        "nearest_compound",
        org.grid2.id,
        lone.id,
    )
    assert "111 m" in near.reason
    assert (far.rule, far.owner_unit_id) == ("district_fallback", org.district.id)
    # compound A has buildings in two grids: its community owns it.
    assert (spread.rule, spread.owner_unit_id) == ("nearest_compound", org.community.id)


async def test_community_and_street_polygons_then_district(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        org.community.boundary = f.square(30.0, 110.0, 0.5)
        org.street.boundary = f.square(30.0, 110.0, 2.0)
        await session.flush()
        config = f.settings()
        community = await routing.route_request(
            session, category=org.general, lat=30.1, lon=110.1, settings=config
        )
        street = await routing.route_request(
            session, category=org.general, lat=31.0, lon=111.0, settings=config
        )
        nowhere = await routing.route_request(
            session, category=org.general, lat=10.0, lon=10.0, settings=config
        )
        nothing = await routing.route_request(session, category=org.general, settings=config)
    assert (community.rule, community.owner_unit_id) == ("community_fallback", org.community.id)
    assert (street.rule, street.owner_unit_id) == ("street_fallback", org.street.id)
    assert street.community_id is None and street.street_id == org.street.id
    assert (nowhere.rule, nowhere.owner_unit_id) == ("district_fallback", org.district.id)
    assert (nothing.rule, nothing.owner_unit_id) == ("district_fallback", org.district.id)


async def test_maintenance_without_property_management_goes_to_workstation(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        config = f.settings()
        upkeep = await routing.route_request(
            session, category=org.lighting, building_id=org.building_b1.id, settings=config
        )
        other = await routing.route_request(
            session, category=org.general, building_id=org.building_b1.id, settings=config
        )
        managed = await routing.route_request(
            session, category=org.lighting, building_id=org.building_a1.id, settings=config
        )
    assert (upkeep.rule, upkeep.owner_unit_id) == ("no_property_workstation", org.workstation.id)
    assert upkeep.grid_id == org.grid.id and upkeep.workstation_id == org.workstation.id
    assert (other.rule, other.owner_unit_id) == ("building_grid", org.grid.id)
    assert (managed.rule, managed.owner_unit_id) == ("building_grid", org.grid.id)


async def test_skill_departments_and_category_level(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        water = await f.category(
            session, skill="plumbing", department_codes=["dept-water", "dept-missing"]
        )
        policy = await f.category(session, owner_kinds=[UnitKind.community.value])
        config = f.settings()
        wet = await routing.route_request(
            session, category=water, building_id=org.building_a1.id, settings=config
        )
        high = await routing.route_request(
            session, category=policy, building_id=org.building_a1.id, settings=config
        )
    assert wet.volunteer_skill == "plumbing"
    assert wet.department_ids == (org.department.id,)
    assert (high.rule, high.owner_unit_id, high.grid_id) == (
        "category_level",
        org.community.id,
        org.grid.id,
    )


async def test_unknown_place_and_empty_org(db: TestDB) -> None:
    async with db.sessions() as session:
        category = await f.category(session)
        with pytest.raises(NotFound):
            await routing.route_request(session, category=category, settings=f.settings())
        org = await f.org(session)
        with pytest.raises(NotFound):
            await routing.route_request(
                session, category=org.general, building_id=10**9, settings=f.settings()
            )


async def test_locate_for_onboarding(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        inside = await routing.locate(
            session, lat=f.GRID_LAT + 0.001, lon=f.GRID_LON, settings=f.settings()
        )
        near_a = await routing.locate(
            session, lat=f.A_LAT + 0.001, lon=f.A_LON, settings=f.settings()
        )
    assert (inside.grid_id, inside.compound_id) == (org.grid.id, org.compound_b.id)
    assert inside.distance_m == pytest.approx(111.2, abs=0.5)
    assert (near_a.compound_id, near_a.grid_id, near_a.community_id) == (
        org.compound_a.id,
        None,
        org.community.id,
    )
