"""The district file import: idempotent, all-or-nothing, errors with line and field."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import ImportFileError
from bot.services.org import scope, tree
from bot.services.org.importer import DEMO_FILE, import_org, load_demo
from models import (
    Base,
    Building,
    Category,
    ChannelIdentity,
    Compound,
    OrgUnit,
    Person,
    Role,
    RoleGrant,
    TeamPairing,
    UnitKind,
    VolunteerProfile,
)
from tests.conftest import TestDB

DEMO = DEMO_FILE.read_text(encoding="utf-8")


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """Rows in every table."""
    counts: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts


async def by_code(session: AsyncSession, code: str) -> OrgUnit:
    return (await session.scalars(select(OrgUnit).where(OrgUnit.code == code))).one()


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


async def test_importing_twice_changes_nothing(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        before = await row_counts(session)
        first = await import_org(session, document=DEMO_FILE)
        after_first = await row_counts(session)
        second = await import_org(session, document=DEMO)
        after_second = await row_counts(session)
    assert after_first == after_second
    assert after_first["org_units"] - before["org_units"] == sum(
        first.created[kind.value] for kind in UnitKind
    )
    assert first.created["building"] == after_first["buildings"] - before["buildings"]
    assert not second.created and not second.updated
    assert second.unchanged == first.created


async def test_a_changed_name_updates_the_row(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        counts = await row_counts(session)
        changed = DEMO.replace("name_zh: 和顺社区\n", "name_zh: 和顺新社区\n").replace(
            "name_en: Lighting\n", "name_en: Lights\n"
        )
        report = await import_org(session, document=changed)
        assert await row_counts(session) == counts
        assert (await by_code(session, "heshun")).name_zh == "和顺新社区"
        lighting = (
            await session.scalars(select(Category).where(Category.slug == "lighting"))
        ).one()
        assert lighting.name_en == "Lights"
    assert report.updated == {"community": 1, "category": 1}
    assert not report.created


async def test_paths_are_chains_of_ids(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        units = {u.id: u for u in await session.scalars(select(OrgUnit))}
        for unit in units.values():
            parent = units.get(unit.parent_id) if unit.parent_id else None
            assert unit.path == (parent.path if parent else "/") + f"{unit.id}/"
        district = await by_code(session, "jimo")
        grid = await by_code(session, "heshun-1")
        chain = [
            district,
            await by_code(session, "chaohai"),
            await by_code(session, "heshun"),
            grid,
        ]
        assert district.path == f"/{district.id}/"
        assert grid.path == "/" + "".join(f"{u.id}/" for u in chain)
        ancestors = (await scope.ancestors(session, unit=grid))[1:]  # nearest first
        assert [u.code for u in reversed(ancestors)] == [
            "jimo",
            "chaohai",
            "heshun",
        ]
        heshun = await by_code(session, "heshun")
        below = select(OrgUnit).where(scope.within([heshun], OrgUnit.path))
        subtree = (await session.scalars(below)).all()
        assert {u.kind for u in subtree} == {
            UnitKind.community,
            UnitKind.grid,
            UnitKind.building_group,
            UnitKind.household,
        }
        for kind_code in ("steward-1", "law-enforcement", "wrench-cscec8"):
            assert (await by_code(session, kind_code)).parent_id == district.id


SMALL = """
district: {code: d, name_zh: 区}
streets:
  - code: s1
    name_zh: 街道一
    communities:
      - code: c1
        name_zh: 社区一
        grids: [{code: g1, name_zh: 网格一}]
  - code: s2
    name_zh: 街道二
"""

MOVED = """
district: {code: d, name_zh: 区}
streets:
  - code: s1
    name_zh: 街道一
  - code: s2
    name_zh: 街道二
    communities:
      - code: c1
        name_zh: 社区一
        grids: [{code: g1, name_zh: 网格一}]
"""


async def test_moving_a_unit_recomputes_the_paths_below_it(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await import_org(session, document=SMALL)
        grid = await by_code(session, "g1")
        # A unit the file does not know about, added later (e.g. by an admin in the bot).
        extra = OrgUnit(code="g1-extra", kind=UnitKind.building_group, name_zh="楼组")
        extra.parent_id = grid.id
        session.add(extra)
        await session.flush()
        extra.path = tree.child_path(grid.path, extra.id)
        report = await import_org(session, document=MOVED)
        s2, community = await by_code(session, "s2"), await by_code(session, "c1")
        assert community.parent_id == s2.id
        assert community.path == f"{s2.path}{community.id}/"
        assert grid.path == f"{community.path}{grid.id}/"
        assert extra.path == f"{grid.path}{extra.id}/"
        stored = await session.scalar(select(OrgUnit.path).where(OrgUnit.code == "g1-extra"))
        assert stored == extra.path
    assert report.updated == {"community": 1}


def _broken(kind: str) -> tuple[str, int, str]:
    """A broken copy of the demo file, the line that is wrong, and the field to name."""
    if kind == "field type":
        text = DEMO.replace("households: 333", "households: many")
        return text, line_of(DEMO, "households: 333"), "compounds[0].households"
    if kind == "unknown grid":
        text = DEMO.replace('{number: "17", grid: heshun-1', '{number: "17", grid: heshun-9')
        return text, line_of(DEMO, '{number: "17"'), "compounds[0].buildings[16].grid"
    if kind == "bad yaml":
        text = DEMO.replace("name_zh: 城市花园", "name_zh: [城市花园")
        return text, line_of(DEMO, "name_zh: 城市花园"), "name_zh"
    if kind == "missing field":
        text = DEMO.replace("    name_zh: 大华新村\n", "")
        return text, line_of(DEMO, "code: dahua-new-village"), "compounds[6].name_zh"
    if kind == "unknown key":
        text = DEMO.replace("    built_year: 2007\n", "    built_yaer: 2007\n")
        return text, line_of(DEMO, "built_year: 2007"), "compounds[0].built_yaer"
    if kind == "open polygon":
        text = DEMO.replace("[120.458, 36.392]]", "[120.458, 36.3921]]", 1)
        field = "streets[0].communities[0].grids[0].boundary.coordinates[0]"
        return text, line_of(DEMO, "- [[120.458, 36.392]"), field
    if kind == "code twice":
        text = DEMO.replace("code: heshun-2", "code: heshun-1")
        return text, line_of(DEMO, "code: heshun-2"), "streets[0].communities[0].grids[1].code"
    if kind == "grid of another community":
        text = DEMO.replace('{number: "1", grid: heshun-2', '{number: "1", grid: dahua-1')
        return text, line_of(DEMO, '{number: "1", grid: heshun-2'), "compounds[1].buildings[0].grid"
    if kind == "wrong kind":
        text = DEMO.replace("pairs_with: [heshun, gucheng]", "pairs_with: [heshun, chaohai]")
        return text, line_of(DEMO, "pairs_with: [heshun, gucheng]"), "teams[0].pairs_with[1]"
    if kind == "unknown building":
        text = DEMO.replace('building: "17", unit_room', 'building: "99", unit_room', 1)
        return text, line_of(DEMO, 'building: "17", unit_room'), "people[0].address.building"
    raise AssertionError(kind)


BROKEN = [
    "field type",
    "unknown grid",
    "bad yaml",
    "missing field",
    "unknown key",
    "open polygon",
    "code twice",
    "grid of another community",
    "wrong kind",
    "unknown building",
]


@pytest.mark.parametrize("kind", BROKEN)
async def test_a_broken_file_names_line_and_field_and_changes_nothing(
    db: TestDB, kind: str
) -> None:
    text, line, field = _broken(kind)
    # Rename a row too, so a partial write would show.
    text = text.replace("name_zh: 即墨区\n", "name_zh: 即墨区（改）\n")
    async with db.sessions() as session:
        await load_demo(session)
        before = await row_counts(session)
        with pytest.raises(ImportFileError) as info:
            await import_org(session, document=text)
        assert await row_counts(session) == before
        assert (await by_code(session, "jimo")).name_zh == "即墨区"
        await session.rollback()
    message = str(info.value)
    assert f"line {line}, field {field}:" in message, message


async def test_a_failure_while_writing_leaves_nothing_behind(db: TestDB) -> None:
    def fail_after_units(step: str) -> None:
        if step == "units":
            raise RuntimeError("disk on fire")

    async with db.sessions() as session:
        before = await row_counts(session)
        with pytest.raises(RuntimeError):
            await import_org(session, document=DEMO, progress=fail_after_units)
        assert await row_counts(session) == before
        await session.rollback()


async def test_a_bad_path_or_a_non_mapping_is_an_import_error(db: TestDB, tmp_path: Path) -> None:
    async with db.sessions() as session:
        with pytest.raises(ImportFileError, match="cannot read"):
            await import_org(session, document=tmp_path / "missing.yaml")
        with pytest.raises(ImportFileError, match="line 1, field \\(document\\)"):
            await import_org(session, document="- just a list")
        with pytest.raises(ImportFileError, match=r"line 3, field streets: needs a `district`"):
            await import_org(session, document="\n\nstreets: [{code: s, name_zh: 街}]\n")
        await session.rollback()


async def test_a_file_may_refer_to_units_already_stored(db: TestDB) -> None:
    extra = """
compounds:
  - code: new-compound
    name_zh: 新小区
    community: heshun
    buildings: [{number: 1, grid: heshun-3}]
"""
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        report = await import_org(session, document=extra)
        compound = (
            await session.scalars(select(Compound).where(Compound.code == "new-compound"))
        ).one()
        building = (
            await session.scalars(select(Building).where(Building.compound_id == compound.id))
        ).one()
        assert building.number == "1"
        assert building.grid_id == (await by_code(session, "heshun-3")).id
    assert report.created == {"compound": 1, "building": 1}


def _inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


async def test_the_demo_district_matches_the_article(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        units = {u.code: u for u in await session.scalars(select(OrgUnit))}
        by_id = {u.id: u for u in units.values()}
        names = {u.name_zh for u in units.values()}
        assert {"即墨区", "潮海街道", "北安街道", "和顺社区", "大华社区", "古城社区"} <= names
        assert all(u.name_en for u in units.values())
        for unit in units.values():
            if unit.kind == UnitKind.community:
                grids = [u for u in units.values() if u.parent_id == unit.id]
                assert 2 <= len(grids) <= 4, unit.code
        compounds = {c.name_zh: c for c in await session.scalars(select(Compound))}
        assert all(c.name_en for c in compounds.values())
        sunshine = compounds["海盛·新阳光地带"]
        assert (sunshine.households, sunshine.built_year) == (333, 2007)
        assert by_id[sunshine.community_id].name_zh == "和顺社区"
        assert compounds["大华机械厂宿舍"].no_property_management
        assert by_id[compounds["大华机械厂宿舍"].community_id].name_zh == "大华社区"
        no_property = [c for c in compounds.values() if c.no_property_management]
        assert 8 <= len(no_property) <= 12
        assert min(c.households for c in no_property) == 4
        assert {by_id[c.workstation_id].code for c in no_property if c.workstation_id} == {
            "steward-1",
            "steward-2",
            "steward-3",
            "steward-4",
        }
        assert all(c.workstation_id for c in no_property)
        for compound in compounds.values():
            assert compound.lat is not None and compound.lon is not None
            assert 36.38 <= compound.lat <= 36.40 and 120.44 <= compound.lon <= 120.48
        buildings = list(await session.scalars(select(Building)))
        for building in buildings:
            compound = next(c for c in compounds.values() if c.id == building.compound_id)
            grid = by_id[building.grid_id]
            assert grid.kind == UnitKind.grid and grid.parent_id == compound.community_id
            if grid.boundary and compound.lat is not None and compound.lon is not None:
                ring = grid.boundary["coordinates"][0]
                assert _inside(compound.lon, compound.lat, ring), compound.code
        seventeen = next(b for b in buildings if b.compound_id == sunshine.id and b.number == "17")
        assert by_id[seventeen.grid_id].name_zh == "和顺社区第一网格"
        assert sum(1 for u in units.values() if u.boundary) >= 3
        pairings = list(await session.scalars(select(TeamPairing)))
        teams = [u for u in units.values() if u.kind == UnitKind.team]
        assert 3 <= len(teams) <= 4
        assert {p.team_id for p in pairings} == {t.id for t in teams}
        assert {u.name_zh for u in units.values() if u.kind == UnitKind.department} >= {
            "综合行政执法局",
            "公安分局",
            "住建局",
        }


CATEGORIES = {
    "housing_repair": "房屋维修",
    "plumbing": "给排水",
    "road": "道路设施",
    "parking": "停车管理",
    "sanitation": "环境卫生",
    "greening": "园林绿化",
    "lighting": "照明",
    "facilities": "公共设施",
    "safety": "安全隐患",
    "dispute": "邻里纠纷",
    "noise": "噪音扰民",
    "property": "物业服务",
    "policy": "政策咨询",
    "other": "其他",
}


async def test_the_demo_categories(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        categories = {c.slug: c for c in await session.scalars(select(Category))}
        departments = {
            u.code
            for u in await session.scalars(
                select(OrgUnit).where(OrgUnit.kind == UnitKind.department)
            )
        }
    assert {slug: c.name_zh for slug, c in categories.items()} == CATEGORIES
    hours = {slug: c.sla_hours for slug, c in categories.items()}
    assert (hours["safety"], hours["plumbing"], hours["policy"], hours["noise"]) == (2, 24, 72, 168)
    skills = {slug: c.skill for slug, c in categories.items() if c.skill}
    assert skills == {
        "plumbing": "plumbing",
        "lighting": "electrical",
        "housing_repair": "masonry",
        "road": "paving",
        "greening": "gardening",
    }
    maintenance = {slug for slug, c in categories.items() if c.maintenance}
    assert maintenance == {
        "lighting",
        "plumbing",
        "sanitation",
        "facilities",
        "housing_repair",
        "greening",
    }
    assert categories["noise"].department_codes == ["law-enforcement"]
    assert set(categories["safety"].department_codes) == {"police", "law-enforcement"}
    for category in categories.values():
        assert category.name_en
        assert set(category.department_codes) <= departments
        assert set(category.owner_kinds) <= {kind.value for kind in UnitKind}
        assert category.keywords or category.slug == "other"
    orders = [c.sort_order for c in categories.values()]
    assert len(set(orders)) == len(orders)


async def _roles(session: AsyncSession, external_id: str) -> tuple[Person, set[tuple[Any, str]]]:
    identity = (
        await session.scalars(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "demo", ChannelIdentity.external_id == external_id
            )
        )
    ).one()
    person = await session.get(Person, identity.person_id)
    assert person is not None
    grants = await session.execute(
        select(RoleGrant.role, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == RoleGrant.unit_id)
        .where(RoleGrant.person_id == person.id)
    )
    return person, {(row[0], row[1]) for row in grants}


async def test_the_demo_people(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        await load_demo(session)
        zhang, zhang_roles = await _roles(session, "zhang-ayi")
        li, _ = await _roles(session, "li-shushu")
        building = await session.get(Building, zhang.building_id)
        assert building is not None and building.number == "17"
        assert (li.building_id, li.unit_room) == (zhang.building_id, zhang.unit_room)
        assert zhang.display_name == "张阿姨"
        assert zhang_roles == {(Role.resident, "heshun-1")}
        assert (await _roles(session, "grid-liu"))[1] == {(Role.grid_staff, "heshun-1")}
        assert (await _roles(session, "admin-chen"))[1] == {(Role.admin, "heshun")}
        assert (await _roles(session, "admin-zhao"))[1] == {(Role.admin, "jimo")}
        assert (await _roles(session, "steward-zhou"))[1] == {(Role.steward, "steward-1")}
        liaison = (await _roles(session, "liaison-wu"))[1]
        assert liaison == {(Role.department_liaison, "law-enforcement")}
        volunteer, _ = await _roles(session, "volunteer-sun")
        profile = await session.get(VolunteerProfile, volunteer.id)
        assert profile is not None and "plumbing" in profile.skills
        assert profile.team_id == (await by_code(session, "wrench-cscec8")).id
        chat_ids = set(await session.scalars(select(ChannelIdentity.chat_id)))
        assert "zhang-ayi" in chat_ids


def test_messages_are_one_per_problem() -> None:
    text, _, _ = _broken("field type")
    text = text.replace("built_year: 2007", "built_year: soon")
    from bot.services.org.schema import parse_document

    with pytest.raises(ImportFileError) as info:
        parse_document(text, source="demo.yaml")
    message = str(info.value)
    assert message.startswith("demo.yaml: 2 problems")
    assert len(re.findall(r"line \d+, field compounds\[0\]\.", message)) == 2
