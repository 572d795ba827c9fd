"""Spreadsheets (.xlsx, openpyxl) for admins: requests with their events, and volunteers'
service records.

Two protections:
- Phone numbers are masked ("138****5678") unless the viewer may see them: an admin whose
  grant is on a unit of a kind listed in `stats.phone_visible_kinds` (default: community, the
  level that calls residents back) covering the exported unit. Higher admins see the numbers
  masked: they read figures, not people. The CLI (an operator on the server) chooses.
- Spreadsheet formula injection: any text cell starting with =, +, -, @ (or a tab or carriage
  return) gets a leading apostrophe (`sheets`, which writes every workbook).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import files
from bot.config import Settings
from bot.services.dispatch import explain
from bot.services.org import erasure, scope
from bot.services.reports import sheets
from bot.sweeps import sweep
from models import (
    Building,
    Category,
    Compound,
    Evaluation,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    Role,
    ServiceRecord,
    TeamPairing,
    UnitKind,
    VolunteerTask,
)

REQUEST_COLUMNS = (
    "reference",
    "created_at",
    "category",
    "status",
    "priority",
    "owner_unit",
    "compound",
    "building",
    "address",
    "description",
    "reporter",
    "reporter_phone",
    "accept_by",
    "accepted_at",
    "contact_by",
    "contacted_at",
    "resolve_by",
    "resolved_at",
    "closed_at",
    "solved",
    "satisfaction",
)
EVENT_COLUMNS = ("reference", "at", "kind", "from_status", "to_status", "visibility", "note")
SERVICE_COLUMNS = (
    "volunteer_id",
    "volunteer",
    "team",
    "task_id",
    "reference",
    "date",
    "hours",
    "rating",
)


def mask_phone(phone: str | None) -> str:
    """Keep the first 3 and last 4 digits: 13812345678 -> 138****5678."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


async def may_see_phones(
    session: AsyncSession, *, person_id: int, unit: OrgUnit, settings: Settings
) -> bool:
    """True when the person's admin grant of a phone-visible kind covers `unit`."""
    kinds = set(settings.stats.phone_visible_kinds)
    for granted in await scope.granted_units(session, person_id=person_id, roles=[Role.admin]):
        if granted.kind.value in kinds and unit.path.startswith(granted.path):
            return True
    return False


async def _subtree_ids(session: AsyncSession, unit: OrgUnit) -> dict[int, str]:
    query = select(OrgUnit.id, OrgUnit.code).where(OrgUnit.path.startswith(unit.path))
    return {row.id: row.code for row in await session.execute(query)}


async def requests_workbook(
    session: AsyncSession,
    *,
    unit: OrgUnit,
    start: datetime,
    end: datetime,
    show_phones: bool,
    settings: Settings,
    demo_actor: bool = False,
) -> bytes:
    """The requests created in [start, end) owned in the unit's subtree, and their events.
    A demo person's export names no one but demo people (`bot.services.org.demo_fence`)."""
    units = await _subtree_ids(session, unit)
    rows, references = await _request_rows(
        session,
        units=units,
        start=start,
        end=end,
        show_phones=show_phones,
        settings=settings,
        demo_actor=demo_actor,
    )
    events = await _event_rows(session, references, settings)
    return sheets.xlsx([("requests", REQUEST_COLUMNS, rows), ("events", EVENT_COLUMNS, events)])


def _requests_query(
    units: dict[int, str], start: datetime, end: datetime
) -> Select[Request, Category, str, str, Person, Evaluation]:
    """The requests owned in `units` created in [start, end), with what a row shows."""
    reporter = aliased(Person)
    latest = aliased(Evaluation)
    later = aliased(Evaluation)
    newest = (
        ~select(later.id)
        .where(later.request_id == latest.request_id, later.round > latest.round)
        .exists()
    )
    return (
        select(Request, Category, Compound.code, Building.number, reporter, latest)
        .join(Category, Category.id == Request.category_id)
        .outerjoin(Compound, Compound.id == Request.compound_id)
        .outerjoin(Building, Building.id == Request.building_id)
        .outerjoin(reporter, reporter.id == Request.reporter_id)
        .outerjoin(latest, (latest.request_id == Request.id) & newest)
        .where(
            Request.owner_unit_id.in_(list(units)),
            Request.created_at >= start,
            Request.created_at < end,
        )
        .order_by(Request.created_at, Request.id)
    )


async def _request_rows(
    session: AsyncSession,
    *,
    units: dict[int, str],
    start: datetime,
    end: datetime,
    show_phones: bool,
    settings: Settings,
    demo_actor: bool,
) -> tuple[list[list[Any]], dict[int, str]]:
    """One row per request, and each request's reference by id."""
    query = _requests_query(units, start, end)
    rows: list[list[Any]] = []
    references: dict[int, str] = {}
    for request, category, compound, building, reporter_row, evaluation in await session.execute(
        query
    ):
        references[request.id] = request.reference
        person: Person | None = reporter_row
        if person is not None and demo_actor and not person.is_demo:
            person = None
        phone = person.phone if person is not None else None
        rows.append(
            [
                request.reference,
                sheets.local_time(request.created_at, settings),
                category.slug,
                request.status.value,
                request.priority.value,
                units.get(request.owner_unit_id, ""),
                compound or "",
                building or "",
                request.address_text,
                erasure.shown(request.description, settings.locale.default),
                person.display_name if person is not None else "",
                (phone or "") if show_phones else mask_phone(phone),
                *(
                    sheets.local_time(getattr(request, name), settings)
                    for name in (
                        "accept_by",
                        "accepted_at",
                        "contact_by",
                        "contacted_at",
                        "resolve_by",
                        "resolved_at",
                        "closed_at",
                    )
                ),
                evaluation.solved if evaluation else "",
                evaluation.satisfaction if evaluation else "",
            ]
        )
    return rows, references


async def _event_rows(
    session: AsyncSession, references: dict[int, str], settings: Settings
) -> list[list[Any]]:
    """One row per event of the requests, in each request's order."""
    events: list[list[Any]] = []
    ids = list(references)
    for chunk in range(0, len(ids), 500):
        query_events = (
            select(RequestEvent)
            .where(RequestEvent.request_id.in_(ids[chunk : chunk + 500]))
            .order_by(RequestEvent.request_id, RequestEvent.at, RequestEvent.id)
        )
        for event in (await session.execute(query_events)).scalars():
            note = event.note
            if event.kind == "routed":
                note = await explain.sentence(
                    session, detail=event.detail, note=note, locale=settings.locale.default
                )
            events.append(
                [
                    references[event.request_id],
                    sheets.local_time(event.at, settings),
                    event.kind,
                    event.from_status or "",
                    event.to_status or "",
                    event.visibility.value,
                    note,
                ]
            )
    return events


async def service_workbook(
    session: AsyncSession,
    *,
    unit: OrgUnit,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> bytes:
    """Service records in [start, end) of the teams paired with communities in the unit
    (or of the unit itself, when it is a team)."""
    if unit.kind == UnitKind.team:
        team_ids = [unit.id]
    else:
        units = await _subtree_ids(session, unit)
        pairs = select(TeamPairing.team_id).where(TeamPairing.community_id.in_(list(units)))
        team_ids = list((await session.execute(pairs.distinct())).scalars())
    team = aliased(OrgUnit)
    query = (
        select(ServiceRecord, Person.display_name, team.code, Request.reference)
        .outerjoin(Person, Person.id == ServiceRecord.person_id)
        .join(team, team.id == ServiceRecord.team_id)
        .outerjoin(VolunteerTask, VolunteerTask.id == ServiceRecord.task_id)
        .outerjoin(Request, Request.id == VolunteerTask.request_id)
        .where(
            ServiceRecord.team_id.in_(team_ids),
            ServiceRecord.created_at >= start,
            ServiceRecord.created_at < end,
        )
        .order_by(ServiceRecord.created_at, ServiceRecord.id)
    )
    rows = [
        [
            record.person_id,
            name or "",
            code,
            record.task_id,
            reference or "",
            sheets.local_time(record.created_at, settings),
            record.hours,
            record.rating,
        ]
        for record, name, code, reference in await session.execute(query)
    ]
    return sheets.xlsx([("service_records", SERVICE_COLUMNS, rows)])


@sweep("expire_exports", description="delete exports past exports.keep_hours")
async def expire_exports(_session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Delete export files older than `exports.keep_hours`; returns how many went."""
    # Exports carry residents' names and numbers: they live only as long as the download needs.
    before = now - timedelta(hours=settings.exports.keep_hours)
    return await asyncio.to_thread(files.expire, settings.stats.export_dir, before=before)
