"""Import the district file: org tree, compounds and buildings, categories, teams, people, and
the reporting units of dual reporting (`cobuild_import`).

The import is idempotent: rows are matched on their `code` (org units, compounds), `slug`
(categories) or natural key (a building by compound and number, a pairing by team and
community, a person by a channel identity), so a second run updates and never duplicates.
The file is authoritative for every field of the rows it lists; pairings, identities and role
grants it lists are added, those it does not list are left alone. Everything is checked before
anything is written, and the writes run in a savepoint, so a bad file changes nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import ImportFileError
from bot.services.org import checks as org_checks
from bot.services.org import cobuild_import, command_menu, tree
from bot.services.org.checks import Known
from bot.services.org.schema import (
    GridRow,
    OrgDocument,
    PersonRow,
    Problems,
    UnitSpec,
    flatten_units,
    parse_document,
)
from models.org import OrgUnit, TeamPairing
from models.person import ChannelIdentity, Person, RoleGrant
from models.place import Building, Compound
from models.request import Category
from models.volunteer import VolunteerProfile

DEMO_FILE = Path(__file__).resolve().parents[3] / "data" / "demo-jimo.yaml"

# The steps reported to a progress callback, in order.
STEPS: tuple[str, ...] = ("read", "check", "units", "places", "categories", "people")


@dataclass
class ImportReport:
    """How many rows of each kind were created, updated or found unchanged."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    def note(self, kind: str, *, created: bool = False, changed: bool = False) -> None:
        """Count one row of `kind`."""
        (self.created if created else self.updated if changed else self.unchanged)[kind] += 1

    @property
    def kinds(self) -> list[str]:
        """Every kind seen, in first-seen order."""
        return list(dict.fromkeys([*self.created, *self.updated, *self.unchanged]))


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set attributes that differ; True when anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def _write_units(
    session: AsyncSession, specs: list[UnitSpec], known: Known, report: ImportReport
) -> dict[str, OrgUnit]:
    """Upsert the org units level by level, so each level's paths can use its parents' ids."""
    units = dict(known.units)
    for depth in sorted({spec.depth for spec in specs}):
        level = [spec for spec in specs if spec.depth == depth]
        fresh: set[str] = set()
        for spec in level:
            row = spec.row
            parent = units[spec.parent_code] if spec.parent_code else None
            boundary = row.boundary if isinstance(row, GridRow) else None
            values = {
                "kind": spec.kind,
                "name_zh": row.name_zh,
                "name_en": row.name_en,
                "contact": row.contact,
                "boundary": boundary.model_dump(mode="json") if boundary else None,
                "parent_id": parent.id if parent else None,
            }
            unit = units.get(row.code)
            if unit is None:
                unit = units[row.code] = OrgUnit(code=row.code, **values)
                session.add(unit)
                fresh.add(row.code)
                report.note(spec.kind.value, created=True)
            else:
                report.note(spec.kind.value, changed=_assign(unit, values))
        await session.flush()
        for spec in level:
            unit = units[spec.row.code]
            parent_path = units[spec.parent_code].path if spec.parent_code else None
            new_path = tree.child_path(parent_path, unit.id)
            if unit.path != new_path:
                old_path, unit.path = unit.path, new_path
                if spec.row.code not in fresh:  # moved: carry the units below it along
                    await tree.rebase_subtree(session, old_path=old_path, new_path=new_path)
    await session.flush()
    return units


async def _write_places(
    session: AsyncSession,
    document: OrgDocument,
    units: dict[str, OrgUnit],
    known: Known,
    report: ImportReport,
) -> dict[str, Compound]:
    """Upsert compounds, then their buildings (matched on compound and number)."""
    compounds = dict(known.compounds)
    for row in document.compounds:
        values = {
            "name_zh": row.name_zh,
            "name_en": row.name_en,
            "community_id": units[row.community].id,
            "households": row.households,
            "built_year": row.built_year,
            "no_property_management": row.no_property_management,
            "workstation_id": units[row.workstation].id if row.workstation else None,
            "lat": row.lat,
            "lon": row.lon,
        }
        compound = compounds.get(row.code)
        if compound is None:
            compound = compounds[row.code] = Compound(code=row.code, **values)
            session.add(compound)
            report.note("compound", created=True)
        else:
            report.note("compound", changed=_assign(compound, values))
    await session.flush()
    buildings = dict(known.buildings)
    for row in document.compounds:
        compound = compounds[row.code]
        for item in row.buildings:
            values = {
                "grid_id": units[item.grid].id,
                "units": item.units,
                "floors": item.floors,
                "households": item.households,
            }
            building = buildings.get((compound.id, item.number))
            if building is None:
                building = Building(compound_id=compound.id, number=item.number, **values)
                buildings[(compound.id, item.number)] = building
                session.add(building)
                report.note("building", created=True)
            else:
                report.note("building", changed=_assign(building, values))
    await session.flush()
    known.buildings = buildings
    return compounds


async def _write_categories_and_pairings(
    session: AsyncSession, document: OrgDocument, units: dict[str, OrgUnit], report: ImportReport
) -> None:
    """Upsert categories by slug and add the team pairings the file lists."""
    slugs = [row.slug for row in document.categories]
    existing = {
        c.slug: c for c in await session.scalars(select(Category).where(Category.slug.in_(slugs)))
    }
    for index, row in enumerate(document.categories):
        values = row.model_dump(exclude={"slug", "sort_order"})
        values["owner_kinds"] = [kind.value for kind in row.owner_kinds]
        values["sort_order"] = row.sort_order if row.sort_order is not None else (index + 1) * 10
        category = existing.get(row.slug)
        if category is None:
            session.add(Category(slug=row.slug, **values))
            report.note("category", created=True)
        else:
            report.note("category", changed=_assign(category, values))
    team_ids = [units[team.code].id for team in document.teams]
    paired = select(TeamPairing.team_id, TeamPairing.community_id).where(
        TeamPairing.team_id.in_(team_ids)
    )
    pairs = {(row[0], row[1]) for row in await session.execute(paired)}
    for team in document.teams:
        for code in dict.fromkeys(team.pairs_with):
            pair = (units[team.code].id, units[code].id)
            report.note("pairing", created=pair not in pairs)
            if pair not in pairs:
                session.add(TeamPairing(team_id=pair[0], community_id=pair[1]))
                pairs.add(pair)
    await session.flush()


async def _write_people(
    session: AsyncSession,
    document: OrgDocument,
    units: dict[str, OrgUnit],
    compounds: dict[str, Compound],
    known: Known,
    report: ImportReport,
) -> set[int]:
    """Upsert the people, found by any of their channel identities, with roles and profiles;
    returns the ids of those given a new role or a new or moved identity."""
    people = await _upsert_people(session, document, compounds, known, report)
    person_ids = [p.id for p in people]
    granted = select(RoleGrant.person_id, RoleGrant.role, RoleGrant.unit_id).where(
        RoleGrant.person_id.in_(person_ids)
    )
    grants = {(row[0], row[1], row[2]) for row in await session.execute(granted)}
    profiles = {
        v.person_id: v
        for v in await session.scalars(
            select(VolunteerProfile).where(VolunteerProfile.person_id.in_(person_ids))
        )
    }
    touched: set[int] = set()
    for row, person in zip(document.people, people, strict=True):
        if _write_identities(session, row, person, known, report):
            touched.add(person.id)
        for role in row.roles:
            grant = (person.id, role.role, units[role.unit].id)
            report.note("role", created=grant not in grants)
            if grant not in grants:
                session.add(RoleGrant(person_id=grant[0], role=grant[1], unit_id=grant[2]))
                grants.add(grant)
                touched.add(person.id)
        if row.volunteer is not None:
            values = {
                "team_id": units[row.volunteer.team].id,
                "skills": list(row.volunteer.skills),
                "is_leader": row.volunteer.is_leader,
            }
            profile = profiles.get(person.id)
            if profile is None:
                session.add(VolunteerProfile(person_id=person.id, **values))
                report.note("volunteer", created=True)
            else:
                report.note("volunteer", changed=_assign(profile, values))
    await session.flush()
    return touched


async def _upsert_people(
    session: AsyncSession,
    document: OrgDocument,
    compounds: dict[str, Compound],
    known: Known,
    report: ImportReport,
) -> list[Person]:
    """The file's people in its order, each found by any of their identities or created."""
    owner_ids = {i.person_id for i in known.identities.values()}
    stored = {
        p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(owner_ids)))
    }
    people: list[Person] = []
    for row in document.people:
        keys = [(ident.channel, ident.external_id) for ident in row.identities]
        owner = next((known.identities[k].person_id for k in keys if k in known.identities), None)
        compound = compounds[row.address.compound] if row.address else None
        building = None
        if row.address and compound is not None and row.address.building is not None:
            building = known.buildings[(compound.id, row.address.building)]
        values: dict[str, Any] = {
            "display_name": row.display_name,
            "language": row.language,
            "phone": row.phone,
            "compound_id": compound.id if compound else None,
            "building_id": building.id if building else None,
            "unit_room": row.address.unit_room if row.address else "",
            "is_demo": row.demo,
        }
        person = stored.get(owner) if owner is not None else None
        if person is None:
            person = Person(**values)
            session.add(person)
            report.note("person", created=True)
        else:
            report.note("person", changed=_assign(person, values))
        people.append(person)
    await session.flush()
    return people


def _write_identities(
    session: AsyncSession, row: PersonRow, person: Person, known: Known, report: ImportReport
) -> bool:
    """Add or move a person's channel identities; True when one was added or moved."""
    touched = False
    for ident in row.identities:
        identity = known.identities.get((ident.channel, ident.external_id))
        chat_id = ident.chat_id or ident.external_id
        if identity is None:
            session.add(
                ChannelIdentity(
                    person_id=person.id,
                    channel=ident.channel,
                    external_id=ident.external_id,
                    chat_id=chat_id,
                )
            )
            report.note("identity", created=True)
            touched = True
        else:
            moved = _assign(identity, {"person_id": person.id, "chat_id": chat_id})
            report.note("identity", changed=moved)
            touched = touched or moved
    return touched


async def _read(document: str | Path) -> tuple[str, str]:
    if not isinstance(document, Path):
        return document, "<document>"
    try:
        text = await asyncio.to_thread(document.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{document}: cannot read the file: {exc}") from None
    return text, str(document)


async def import_org(
    session: AsyncSession,
    *,
    document: str | Path,
    progress: Callable[[str], None] | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Import a district file (a Path, or the YAML text itself); never commits. Staff whose
    roles or accounts changed get their chats' command menus queued (`command_menu`)."""

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    text, source = await _read(document)
    step("read")
    parsed, root = parse_document(text, source=source)
    specs = flatten_units(parsed)
    problems = Problems(source, root)
    org_checks.check_file(parsed, specs, problems)
    problems.raise_if_any()
    known = await org_checks.load_known(session, parsed, specs)
    org_checks.check_references(parsed, known, problems)
    problems.raise_if_any()
    step("check")
    report = ImportReport()
    async with session.begin_nested():
        units = await _write_units(session, specs, known, report)
        step("units")
        compounds = await _write_places(session, parsed, units, known, report)
        step("places")
        await _write_categories_and_pairings(session, parsed, units, report)
        step("categories")
        touched = await _write_people(session, parsed, units, compounds, known, report)
        await cobuild_import.write(session, parsed, report)
        await command_menu.queue_menus(
            session, person_ids=touched, settings=settings, staff_only=True
        )
        step("people")
    return report


async def load_demo(session: AsyncSession) -> None:
    """Import the demo district (data/demo-jimo.yaml); never commits."""
    await import_org(session, document=DEMO_FILE)
