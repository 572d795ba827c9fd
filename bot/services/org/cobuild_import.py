"""The dual-reporting section of the district file, checked and written (`importer.import_org`).

Reporting units are matched on their code; liaisons and pairings the file lists are added (a
pairing's date follows the file), those it does not list are left alone, like team pairings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.org.cobuild_schema import split_identity
from models import ChannelIdentity, OrgUnit, UnitKind
from models.cobuild import CobuildPairing, ReportingUnit, UnitLiaison

if TYPE_CHECKING:
    from bot.services.org.checks import Known
    from bot.services.org.importer import ImportReport
    from bot.services.org.schema import OrgDocument, Problems


def referenced_codes(document: OrgDocument) -> set[str]:
    """The community codes the section names (for `checks.load_known`)."""
    return {pair.community for unit in document.reporting_units for pair in unit.pairs_with}


def liaison_ids(document: OrgDocument) -> set[str]:
    """The external ids of the liaisons the section names (for `checks.load_known`)."""
    return {split_identity(ref)[1] for unit in document.reporting_units for ref in unit.liaisons}


def check(document: OrgDocument, known: Known, problems: Problems) -> None:
    """Codes used once; paired communities exist; liaisons are people of the file or database."""
    in_file = {
        (ident.channel, ident.external_id) for p in document.people for ident in p.identities
    }
    seen: set[str] = set()
    for i, unit in enumerate(document.reporting_units):
        if unit.code in seen:
            problems.add(("reporting_units", i, "code"), f"code {unit.code!r} is already used")
        seen.add(unit.code)
        for j, pair in enumerate(unit.pairs_with):
            found = known.kind(pair.community)
            if found != UnitKind.community:
                what = "unknown community" if found is None else f"not a community ({found})"
                problems.add(
                    ("reporting_units", i, "pairs_with", j, "community"),
                    f"{what}: {pair.community!r}",
                )
        for j, ref in enumerate(unit.liaisons):
            key = split_identity(ref)
            if key not in in_file and key not in known.identities:
                problems.add(("reporting_units", i, "liaisons", j), f"no person with {ref!r}")


async def _persons_by_identity(session: AsyncSession, refs: Iterable[str]) -> dict[str, int]:
    keys = {ref: split_identity(ref) for ref in refs}
    if not keys:
        return {}
    query = select(ChannelIdentity).where(
        tuple_(ChannelIdentity.channel, ChannelIdentity.external_id).in_(list(keys.values()))
    )
    found = {(i.channel, i.external_id): i.person_id for i in await session.scalars(query)}
    return {ref: found[key] for ref, key in keys.items() if key in found}


async def write(session: AsyncSession, document: OrgDocument, report: ImportReport) -> None:
    """Upsert the reporting units, then add their liaisons and pairings."""
    rows = document.reporting_units
    if not rows:
        return
    codes = [row.code for row in rows]
    query = select(ReportingUnit).where(ReportingUnit.code.in_(codes))
    units = {u.code: u for u in await session.scalars(query)}
    for row in rows:
        values = {
            "name_zh": row.name_zh,
            "name_en": row.name_en,
            "kind": row.kind,
            "resources": row.resources.model_dump(),
        }
        unit = units.get(row.code)
        if unit is None:
            unit = units[row.code] = ReportingUnit(code=row.code, **values)
            session.add(unit)
            report.note("reporting_unit", created=True)
        else:
            changed = {name: v for name, v in values.items() if getattr(unit, name) != v}
            for name, value in changed.items():
                setattr(unit, name, value)
            report.note("reporting_unit", changed=bool(changed))
    await session.flush()
    await _write_links(session, document, units, report)


async def _write_links(
    session: AsyncSession,
    document: OrgDocument,
    units: dict[str, ReportingUnit],
    report: ImportReport,
) -> None:
    ids = [u.id for u in units.values()]
    people = await _persons_by_identity(
        session, {ref for row in document.reporting_units for ref in row.liaisons}
    )
    liaisons = {
        (row.unit_id, row.person_id)
        for row in await session.scalars(select(UnitLiaison).where(UnitLiaison.unit_id.in_(ids)))
    }
    query = select(CobuildPairing).where(CobuildPairing.unit_id.in_(ids))
    pairings = {(p.unit_id, p.community_id): p for p in await session.scalars(query)}
    codes = referenced_codes(document)
    query_units = select(OrgUnit).where(OrgUnit.code.in_(codes))
    communities = {u.code: u.id for u in await session.scalars(query_units)}
    for row in document.reporting_units:
        unit = units[row.code]
        for ref in dict.fromkeys(row.liaisons):
            key = (unit.id, people[ref])
            report.note("liaison", created=key not in liaisons)
            if key not in liaisons:
                session.add(UnitLiaison(unit_id=key[0], person_id=key[1]))
                liaisons.add(key)
        for pair in row.pairs_with:
            pkey = (unit.id, communities[pair.community])
            existing = pairings.get(pkey)
            if existing is None:
                pairings[pkey] = CobuildPairing(unit_id=pkey[0], community_id=pkey[1])
                pairings[pkey].since = pair.since
                session.add(pairings[pkey])
                report.note("cobuild_pairing", created=True)
            else:
                report.note("cobuild_pairing", changed=existing.since != pair.since)
                existing.since = pair.since
    await session.flush()
