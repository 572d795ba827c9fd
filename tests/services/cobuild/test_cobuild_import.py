"""The dual-reporting section of the district file: reporting units, liaisons and pairings."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.exceptions import ImportFileError
from bot.services.org.importer import DEMO_FILE, import_org
from models import CobuildPairing, OrgUnit, ReportingUnit, UnitLiaison
from tests.conftest import TestDB

DEMO = DEMO_FILE.read_text(encoding="utf-8")


async def test_the_demo_district_pairs_the_housing_bureau_with_heshun(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        report = await import_org(session, document=DEMO_FILE)
        units = {u.code: u for u in await session.scalars(select(ReportingUnit))}
        heshun = (await session.scalars(select(OrgUnit).where(OrgUnit.code == "heshun"))).one()
        pairs = list(await session.scalars(select(CobuildPairing)))
        liaisons = list(await session.scalars(select(UnitLiaison)))
        again = await import_org(session, document=DEMO)
    assert {"zjj", "wenquan-group", "crcc-shandong"} <= set(units)
    assert units["zjj"].name_zh == "区住建局" and units["zjj"].kind == "organ"
    assert "房屋维修" in units["zjj"].resources["skills"]
    zjj = next(p for p in pairs if p.unit_id == units["zjj"].id)
    assert zjj.community_id == heshun.id and zjj.since == date(2021, 3, 1)
    assert len(pairs) == 4 and len(liaisons) == 2
    assert report.created["reporting_unit"] == 3 and report.created["cobuild_pairing"] == 4
    assert again.created["reporting_unit"] == 0 and again.unchanged["cobuild_pairing"] == 4
    assert again.unchanged["liaison"] == 2


async def test_bad_references_name_line_and_field_and_change_nothing(db: TestDB) -> None:
    broken = DEMO.replace(
        "{community: heshun, since: 2021-03-01}", "{community: nowhere, since: 2021-03-01}"
    )
    broken = broken.replace('liaisons: ["demo:liaison-hua"]', 'liaisons: ["demo:nobody"]')
    async with db.sessions() as session, session.begin():
        with pytest.raises(ImportFileError) as caught:
            await import_org(session, document=broken)
        assert not list(await session.scalars(select(ReportingUnit)))
    message = str(caught.value)
    assert "reporting_units[0].pairs_with[0].community: unknown community: 'nowhere'" in message
    assert "reporting_units[1].liaisons[0]: no person with 'demo:nobody'" in message
    assert "line " in message


async def test_a_unit_kind_outside_the_list_is_refused(db: TestDB) -> None:
    broken = DEMO.replace("    kind: organ\n", "    kind: club\n", 1)
    async with db.sessions() as session, session.begin():
        with pytest.raises(ImportFileError) as caught:
            await import_org(session, document=broken)
    assert "reporting_units[0].kind" in str(caught.value)
