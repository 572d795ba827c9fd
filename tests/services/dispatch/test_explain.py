"""Routing explanations: every rule is told to people in their language, from codes and ids."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.services.dispatch import explain, routing
from bot.services.dispatch.routing import RouteDecision
from models import UnitKind
from tests import factories as f
from tests.conftest import TestDB


async def _every_rule(session: AsyncSession) -> dict[str, RouteDecision]:
    """One decision per routing rule, on the factory's org tree."""
    org = await f.org(session)
    org.community.boundary = f.square(30.0, 110.0, 0.5)
    org.street.boundary = f.square(30.0, 110.0, 2.0)
    lone = await f.compound(session, community=org.community, lat=36.7, lon=120.7)
    await f.building(session, compound=lone, grid=org.grid2)
    policy = await f.category(session, owner_kinds=[UnitKind.community.value])
    config = f.settings()

    async def route(**place: object) -> RouteDecision:
        category = place.pop("category", org.general)
        return await routing.route_request(
            session,
            category=category,  # type: ignore[arg-type]
            settings=config,
            **place,  # type: ignore[arg-type]
        )

    decisions = [
        await route(building_id=org.building_a2.id),
        await route(compound_id=org.compound_b.id),
        await route(compound_id=org.compound_a.id),
        await route(lat=f.GRID_LAT + 0.005, lon=f.GRID_LON),
        await route(lat=36.701, lon=120.7),
        await route(lat=30.1, lon=110.1),
        await route(lat=31.0, lon=111.0),
        await route(lat=10.0, lon=10.0),
        await route(),
        await route(category=policy, building_id=org.building_a1.id),
        await route(category=org.lighting, building_id=org.building_b1.id),
    ]
    return {d.rule: d for d in reversed(decisions)}  # the first of each rule wins


async def test_every_rule_reads_as_words_in_both_languages(db: TestDB) -> None:
    async with db.sessions() as session:
        decisions = await _every_rule(session)
        assert set(decisions) == {
            "building_grid",
            "compound_grid",
            "community_fallback",
            "grid_polygon",
            "nearest_compound",
            "street_fallback",
            "district_fallback",
            "category_level",
            "no_property_workstation",
        }
        for rule, decision in decisions.items():
            assert decision.steps, rule
            detail = {"rule": rule, "steps": list(decision.steps)}
            for locale in ("zh", "en"):
                name, why = await explain.describe(session, detail=detail, note="", locale=locale)
                assert name == t(locale, f"route.rule.{rule}")
                assert why and "?" not in why and "{" not in why, (rule, locale, why)
                assert "_" not in why and rule not in why, (rule, locale, why)


async def test_a_building_is_told_with_names(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        decision = await routing.route_request(
            session, category=org.general, building_id=org.building_a2.id, settings=f.settings()
        )
        detail = {"rule": decision.rule, "steps": list(decision.steps)}
        zh = await explain.sentence(session, detail=detail, note="", locale="zh")
        en = await explain.sentence(session, detail=detail, note="", locale="en")
    number = org.building_a2.number
    compound, grid = org.compound_a, org.grid2
    assert zh == f"按楼栋分派：{compound.name_zh}{number}号楼属于{grid.name_zh}"
    assert en == f"By building: {compound.name_en} building {number} belongs to {grid.name_en}"


async def test_events_stored_before_read_as_their_rule(db: TestDB) -> None:
    """Older routed events kept an English note; they read as their rule's name."""
    note = "building_grid: haisheng-sunshine building 17 belongs to grid heshun-1"
    async with db.sessions() as session:
        assert await explain.describe(session, detail=None, note=note, locale="zh") == (
            "按楼栋分派",
            "",
        )
        assert await explain.sentence(session, detail=None, note=note, locale="en") == (
            "By building"
        )
