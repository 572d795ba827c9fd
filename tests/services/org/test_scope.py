"""Rights follow the org tree: a grant on a unit covers its subtree, nothing else."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.org import scope
from models import OrgUnit, Role, UnitKind
from tests import factories as f
from tests.conftest import TestDB


async def test_grant_covers_subtree_only(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        # A unit whose path shares a textual prefix ("/1/2/3/4" vs "/1/2/3/45") must not match.
        sibling = await f.unit(session, kind=UnitKind.grid, parent=org.community)
        deep = await f.unit(session, kind=UnitKind.building_group, parent=org.grid)

        async def holds(person_id: int, unit: OrgUnit, roles: set[Role]) -> bool:
            return await scope.holds_role(
                session, person_id=person_id, roles=roles, unit_id=unit.id
            )

        staff, admin = org.staff.id, org.admin.id
        assert await holds(staff, org.grid, {Role.grid_staff})
        assert await holds(staff, deep, {Role.grid_staff})
        assert not await holds(staff, org.grid2, {Role.grid_staff})
        assert not await holds(staff, sibling, {Role.grid_staff})
        assert not await holds(staff, org.community, {Role.grid_staff})
        assert not await holds(staff, org.grid, {Role.admin})
        for unit in (org.community, org.grid, org.grid2, sibling, deep):
            assert await holds(admin, unit, {Role.admin})
        assert not await holds(admin, org.street, {Role.admin})
        assert not await holds(admin, org.workstation, set(scope.STAFF_ROLES))
        assert await holds(org.steward.id, org.workstation, set(scope.STAFF_ROLES))


async def test_deleted_person_holds_nothing(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        org.staff.deleted_at = f.NOW
        await session.flush()
        assert not await scope.holds_role(
            session, person_id=org.staff.id, roles={Role.grid_staff}, unit_id=org.grid.id
        )


async def test_granted_units_and_within(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)
        units = await scope.granted_units(session, person_id=org.admin.id, roles={Role.admin})
        assert [u.id for u in units] == [org.community.id]
        query = select(OrgUnit.id).where(scope.within(units, OrgUnit.path)).order_by(OrgUnit.id)
        ids = list((await session.execute(query)).scalars())
        assert ids == sorted([org.community.id, org.grid.id, org.grid2.id])
        none = select(OrgUnit.id).where(scope.within([], OrgUnit.path))
        assert list((await session.execute(none)).scalars()) == []
        chain = await scope.ancestors(session, unit=org.grid)
        assert [u.id for u in chain] == [
            org.grid.id,
            org.community.id,
            org.street.id,
            org.district.id,
        ]
