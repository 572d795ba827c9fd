"""Checks of a parsed district file against itself and the database, before any write.

Every code the file names must exist (in the file or the database) with the right kind, and
nothing may be defined twice; each problem is reported with its line and field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.org import cobuild_import, tree
from bot.services.org.schema import Loc, OrgDocument, PersonRow, Problems, UnitSpec, locate
from models.org import OrgUnit, UnitKind
from models.person import ChannelIdentity
from models.place import Building, Compound


@dataclass
class Known:
    """What the document refers to: its own rows and the database rows it names."""

    specs: dict[str, UnitSpec]
    units: dict[str, OrgUnit]  # database units by code
    grid_community: dict[str, str]  # grid code -> its community's code (database grids)
    compounds: dict[str, Compound]  # database compounds by code
    buildings: dict[tuple[int, str], Building]  # database buildings of those compounds
    identities: dict[tuple[str, str], ChannelIdentity]

    def kind(self, code: str) -> UnitKind | None:
        """The kind of the unit with this code, from the file or else the database."""
        if code in self.specs:
            return self.specs[code].kind
        unit = self.units.get(code)
        return unit.kind if unit is not None else None

    def community_of_grid(self, code: str) -> str | None:
        """The code of the community a grid lies in."""
        spec = self.specs.get(code)
        return spec.community_code if spec is not None else self.grid_community.get(code)


def check_file(document: OrgDocument, specs: list[UnitSpec], problems: Problems) -> None:
    """Problems visible in the file alone: a missing root, codes used twice."""
    if document.district is None:
        for section in ("streets", "workstations", "departments", "teams"):
            if getattr(document, section):
                problems.add((section,), "needs a `district` section to hang under")

    def once(items: Iterable[tuple[Any, Loc]], what: str) -> None:
        first: dict[Any, Loc] = {}
        for key, loc in items:
            if key in first:
                where = locate(problems.root, first[key], "").split(",")[0]
                problems.add(loc, f"{what} {key!r} is already used ({where})")
            else:
                first[key] = loc

    once(((s.row.code, (*s.loc, "code")) for s in specs), "code")
    compounds = document.compounds
    once(((c.code, ("compounds", i, "code")) for i, c in enumerate(compounds)), "compound code")
    for i, compound in enumerate(compounds):
        numbers = enumerate(compound.buildings)
        once(((b.number, ("compounds", i, "buildings", j, "number")) for j, b in numbers), "number")
    categories = enumerate(document.categories)
    once(((c.slug, ("categories", i, "slug")) for i, c in categories), "slug")
    once(
        (
            ((ident.channel, ident.external_id), ("people", i, "identities", j, "external_id"))
            for i, person in enumerate(document.people)
            for j, ident in enumerate(person.identities)
        ),
        "identity",
    )


async def load_known(session: AsyncSession, document: OrgDocument, specs: list[UnitSpec]) -> Known:
    """Load the database rows the document defines or refers to, in a few queries."""
    codes = {spec.row.code for spec in specs}
    for compound in document.compounds:
        codes.add(compound.community)
        codes.update(b.grid for b in compound.buildings)
        if compound.workstation:
            codes.add(compound.workstation)
    for team in document.teams:
        codes.update(team.pairs_with)
    for category in document.categories:
        codes.update(category.department_codes)
    codes.update(cobuild_import.referenced_codes(document))
    for person in document.people:
        codes.update(role.unit for role in person.roles)
        if person.volunteer:
            codes.add(person.volunteer.team)
    units = {
        u.code: u for u in await session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))
    }
    # The community of each database grid, from its path.
    grid_paths = {u.code: tree.path_ids(u.path) for u in units.values() if u.kind == "grid"}
    ancestor_ids = {i for ids in grid_paths.values() for i in ids}
    communities = {
        u.id: u.code
        for u in await session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_(ancestor_ids), OrgUnit.kind == UnitKind.community)
        )
    }
    grid_community = {
        code: next((communities[i] for i in ids if i in communities), "")
        for code, ids in grid_paths.items()
    }
    compound_codes = {c.code for c in document.compounds}
    compound_codes.update(p.address.compound for p in document.people if p.address)
    compounds = {
        c.code: c
        for c in await session.scalars(select(Compound).where(Compound.code.in_(compound_codes)))
    }
    ids = [c.id for c in compounds.values()]
    buildings = {
        (b.compound_id, b.number): b
        for b in await session.scalars(select(Building).where(Building.compound_id.in_(ids)))
    }
    external_ids = {i.external_id for p in document.people for i in p.identities}
    external_ids |= cobuild_import.liaison_ids(document)
    identities = {
        (i.channel, i.external_id): i
        for i in await session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id.in_(external_ids))
        )
    }
    return Known(
        {s.row.code: s for s in specs}, units, grid_community, compounds, buildings, identities
    )


def check_references(document: OrgDocument, known: Known, problems: Problems) -> None:
    """Every code the document names exists (in the file or the database) with the right kind."""

    def expect(code: str, kind: UnitKind, loc: Loc) -> None:
        found = known.kind(code)
        if found is None:
            problems.add(loc, f"unknown {kind.value} {code!r}")
        elif found != kind:
            problems.add(loc, f"{code!r} is a {found.value}, not a {kind.value}")

    for code, spec in known.specs.items():
        unit = known.units.get(code)
        if unit is not None and unit.kind != spec.kind:
            problems.add((*spec.loc, "code"), f"{code!r} is already a {unit.kind.value}")
    for i, compound in enumerate(document.compounds):
        expect(compound.community, UnitKind.community, ("compounds", i, "community"))
        if compound.workstation:
            expect(compound.workstation, UnitKind.workstation, ("compounds", i, "workstation"))
        for j, building in enumerate(compound.buildings):
            loc: Loc = ("compounds", i, "buildings", j, "grid")
            expect(building.grid, UnitKind.grid, loc)
            community = known.community_of_grid(building.grid)
            if known.kind(building.grid) == UnitKind.grid and community != compound.community:
                problems.add(
                    loc, f"grid {building.grid!r} is in {community!r}, not {compound.community!r}"
                )
    for i, team in enumerate(document.teams):
        for j, code in enumerate(team.pairs_with):
            expect(code, UnitKind.community, ("teams", i, "pairs_with", j))
    for i, category in enumerate(document.categories):
        for j, code in enumerate(category.department_codes):
            expect(code, UnitKind.department, ("categories", i, "department_codes", j))
    cobuild_import.check(document, known, problems)
    for i, person in enumerate(document.people):
        _check_person(document, known, problems, i, person)
        for j, role in enumerate(person.roles):
            if known.kind(role.unit) is None:
                problems.add(("people", i, "roles", j, "unit"), f"unknown unit {role.unit!r}")
        if person.volunteer:
            expect(person.volunteer.team, UnitKind.team, ("people", i, "volunteer", "team"))


def _check_person(
    document: OrgDocument, known: Known, problems: Problems, i: int, person: PersonRow
) -> None:
    owners = {
        known.identities[key].person_id
        for key in ((ident.channel, ident.external_id) for ident in person.identities)
        if key in known.identities
    }
    if len(owners) > 1:
        problems.add(("people", i, "identities"), "these identities belong to different people")
    address = person.address
    if address is None:
        return
    in_file = next((c for c in document.compounds if c.code == address.compound), None)
    stored = known.compounds.get(address.compound)
    if in_file is None and stored is None:
        loc: Loc = ("people", i, "address", "compound")
        problems.add(loc, f"unknown compound {address.compound!r}")
    elif address.building is not None:
        numbers = {b.number for b in in_file.buildings} if in_file else set()
        if stored is not None:
            numbers.update(n for (cid, n) in known.buildings if cid == stored.id)
        if address.building not in numbers:
            loc = ("people", i, "address", "building")
            problems.add(loc, f"no building {address.building!r} in {address.compound!r}")
