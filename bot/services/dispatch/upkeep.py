"""Recurring upkeep for compounds without a property company (红管家): by default a weekly
lights check and a monthly rain-pipe check per compound, each a request owned by the compound's
steward workstation; a compound's own `UpkeepPlan` rows change or switch off a check.

`create_due_upkeep` is the scheduler's sweep. It is idempotent per period: an `UpkeepRun` row
keyed (compound, kind, period) is inserted with ON CONFLICT DO NOTHING before the request is
made, so running the sweep twice, or on two workers at once, makes each request exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.i18n import t
from bot.services.cases import announce, references
from bot.services.dispatch import sla
from bot.services.org import scope
from bot.sweeps import sweep
from models import (
    Category,
    Compound,
    EventKind,
    OrgUnit,
    Priority,
    Request,
    RequestEvent,
    RequestStatus,
    Role,
    UpkeepPlan,
    UpkeepRun,
    Visibility,
)

log = logging.getLogger(__name__)

WEEK, MONTH = "week", "month"
EVERY = frozenset({WEEK, MONTH})


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """One recurring check: what (kind, text key `staff.upkeep.<kind>`), filed as which
    category, how often, and whether it runs at all (a compound may switch it off)."""

    kind: str
    category_slug: str
    every: str
    active: bool = True


DEFAULT_PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("lights", "lighting", WEEK),
    PlanSpec("rain_pipes", "plumbing", MONTH),
)


# Who sets a compound's checks: stewards and admins over its workstation.
EDITOR_ROLES: frozenset[Role] = frozenset({Role.steward, Role.admin})


def period_of(every: str, *, now: datetime, settings: Settings) -> tuple[str, datetime]:
    """The period containing `now` ("2026-W48" or "2026-11") and when it ends (UTC-aware),
    in the district's time zone."""
    local = now.astimezone(settings.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if every == WEEK:
        year, week, weekday = local.isocalendar()
        end = midnight + timedelta(days=8 - weekday)
        return f"{year}-W{week:02d}", end
    if every == MONTH:
        first = midnight.replace(day=1)
        end = (first + timedelta(days=32)).replace(day=1)
        return f"{local.year}-{local.month:02d}", end
    raise ValueError(f"unknown upkeep interval {every!r}")


async def set_plan(
    session: AsyncSession,
    *,
    compound_id: int,
    kind: str,
    category_slug: str,
    every: str,
    active: bool = True,
) -> UpkeepPlan:
    """Create or change a compound's own setting for one check: one upsert, so two people
    changing the same check at once both succeed (the later one's values stay)."""
    if every not in EVERY:
        raise ValueError(f"unknown upkeep interval {every!r}")
    values = {"category_slug": category_slug, "every": every, "active": active}
    stmt = (
        _insert(session)(UpkeepPlan)
        .values(compound_id=compound_id, kind=kind, **values)
        .on_conflict_do_update(
            index_elements=[UpkeepPlan.compound_id, UpkeepPlan.kind], set_=values
        )
        .returning(UpkeepPlan)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def compounds_in_care(session: AsyncSession, *, person_id: int) -> list[Compound]:
    """The compounds whose checks the person may set: without a property company, looked
    after by a workstation inside one of their steward or admin grants; by name."""
    units = await scope.granted_units(session, person_id=person_id, roles=EDITOR_ROLES)
    if not units:
        return []
    station = aliased(OrgUnit)
    query = (
        select(Compound)
        .join(station, station.id == Compound.workstation_id)
        .where(Compound.no_property_management, scope.within(units, station.path))
        .order_by(Compound.name_zh, Compound.id)
    )
    return list((await session.execute(query)).scalars())


async def may_edit(session: AsyncSession, *, person_id: int, compound: Compound) -> bool:
    """True when the person may set this compound's checks (see `compounds_in_care`)."""
    if not compound.no_property_management or compound.workstation_id is None:
        return False
    return await scope.holds_role(
        session, person_id=person_id, roles=EDITOR_ROLES, unit_id=compound.workstation_id
    )


async def plan_states(session: AsyncSession, *, compound_id: int) -> list[PlanSpec]:
    """Every check of the compound, switched off ones too: the defaults, with its own settings."""
    return (await _own_plans(session, [compound_id]))[compound_id]


async def change_plan(
    session: AsyncSession,
    *,
    compound_id: int,
    kind: str,
    every: str | None = None,
    active: bool | None = None,
) -> PlanSpec | None:
    """Change how often one check runs, or switch it off or on, keeping the rest of it;
    None when the compound has no such check."""
    states = {s.kind: s for s in await plan_states(session, compound_id=compound_id)}
    if kind not in states:
        return None
    current = states[kind]
    plan = await set_plan(
        session,
        compound_id=compound_id,
        kind=kind,
        category_slug=current.category_slug,
        every=every or current.every,
        active=current.active if active is None else active,
    )
    return PlanSpec(plan.kind, plan.category_slug, plan.every, plan.active)


async def _plans_by_compound(
    session: AsyncSession, compound_ids: list[int]
) -> dict[int, list[PlanSpec]]:
    """The checks each compound gets (switched off ones left out)."""
    own = await _own_plans(session, compound_ids)
    return {cid: [spec for spec in specs if spec.active] for cid, specs in own.items()}


async def _own_plans(session: AsyncSession, compound_ids: list[int]) -> dict[int, list[PlanSpec]]:
    """Per compound: the default checks with its own settings applied, then its own kinds."""
    query = select(UpkeepPlan).where(UpkeepPlan.compound_id.in_(compound_ids))
    own: dict[int, dict[str, UpkeepPlan]] = {}
    for plan in (await session.execute(query)).scalars():
        own.setdefault(plan.compound_id, {})[plan.kind] = plan
    result: dict[int, list[PlanSpec]] = {}
    for compound_id in compound_ids:
        specs = {spec.kind: spec for spec in DEFAULT_PLANS}
        for kind, plan in sorted(own.get(compound_id, {}).items()):
            specs[kind] = PlanSpec(kind, plan.category_slug, plan.every, plan.active)
        result[compound_id] = list(specs.values())
    return result


def _insert(session: AsyncSession) -> Callable[..., Any]:
    """The INSERT of the session's database, with its ON CONFLICT clauses."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _insert_run(session: AsyncSession, values: dict[str, object]) -> Insert:
    stmt: Insert = _insert(session)(UpkeepRun).values(**values).on_conflict_do_nothing()
    return stmt


@sweep("upkeep", description="create the period's steward upkeep requests")
async def create_due_upkeep(
    session: AsyncSession, *, now: datetime, settings: Settings
) -> list[Request]:
    """Create this period's upkeep requests not made yet, each owned by the workstation."""
    compounds = list(
        (
            await session.execute(
                select(Compound)
                .where(Compound.no_property_management, Compound.workstation_id.is_not(None))
                .order_by(Compound.id)
            )
        ).scalars()
    )
    if not compounds:
        return []
    plans = await _plans_by_compound(session, [c.id for c in compounds])
    periods = {every: period_of(every, now=now, settings=settings) for every in EVERY}
    done_query = select(UpkeepRun.compound_id, UpkeepRun.kind, UpkeepRun.period).where(
        UpkeepRun.compound_id.in_([c.id for c in compounds]),
        UpkeepRun.period.in_([period for period, _ in periods.values()]),
    )
    done = {tuple(row) for row in (await session.execute(done_query)).all()}
    slugs = {spec.category_slug for specs in plans.values() for spec in specs}
    found = await session.execute(select(Category).where(Category.slug.in_(slugs)))
    categories = {category.slug: category for category in found.scalars()}
    created: list[Request] = []
    for compound in compounds:
        for spec in plans[compound.id]:
            period, ends = periods[spec.every]
            category = categories.get(spec.category_slug)
            if (compound.id, spec.kind, period) in done or category is None:
                if category is None:
                    log.warning("upkeep %s: no category %r", spec.kind, spec.category_slug)
                continue
            values = {
                "compound_id": compound.id,
                "kind": spec.kind,
                "period": period,
                "created_at": now,
            }
            run_id = (
                await session.execute(_insert_run(session, values).returning(UpkeepRun.id))
            ).scalar_one_or_none()
            if run_id is None:  # another worker made it a moment ago
                continue
            request = await _create_request(
                session,
                compound=compound,
                category=category,
                spec=spec,
                period=period,
                ends=ends,
                now=now,
                settings=settings,
            )
            await session.execute(
                update(UpkeepRun).where(UpkeepRun.id == run_id).values(request_id=request.id)
            )
            created.append(request)
    return created


def _set_deadlines(
    request: Request, *, category: Category, ends: datetime, now: datetime, settings: Settings
) -> None:
    """The category's deadlines, none later than the period's end (nor earlier than now)."""
    deadlines = sla.compute(
        category=category, priority=Priority.ordinary, now=now, settings=settings
    )
    sla.apply(request, deadlines)
    request.resolve_by = max(ends, now)
    request.accept_by = min(deadlines.accept_by, request.resolve_by)
    request.contact_by = min(deadlines.contact_by, request.resolve_by)


async def _create_request(
    session: AsyncSession,
    *,
    compound: Compound,
    category: Category,
    spec: PlanSpec,
    period: str,
    ends: datetime,
    now: datetime,
    settings: Settings,
) -> Request:
    """A request with no reporter, owned by the compound's workstation, due by the period's
    end. Not `intake.submit`: routing is not wanted (the owner is known) and neither are
    the grid and department notices a resident's request brings."""
    assert compound.workstation_id is not None
    locale = settings.locale.default
    text = t(
        locale,
        "staff.upkeep.description",
        check=t(locale, f"staff.upkeep.{spec.kind}"),
        compound=compound.name(locale),
        period=period,
    )
    reference = await references.next_reference(
        session, prefix=settings.requests.reference_prefix, year=now.astimezone(settings.tz).year
    )
    request = Request(
        reference=reference,
        category_id=category.id,
        title=text.splitlines()[0][:80],
        description=text,
        compound_id=compound.id,
        owner_unit_id=compound.workstation_id,
        status=RequestStatus.submitted,
        priority=Priority.ordinary,
        created_at=now,
        updated_at=now,
    )
    _set_deadlines(request, category=category, ends=ends, now=now, settings=settings)
    session.add(request)
    await session.flush()
    session.add(
        RequestEvent(
            request_id=request.id,
            at=now,
            kind=EventKind.submitted,
            to_status=RequestStatus.submitted.value,
            note=f"upkeep {spec.kind} {period}",
            visibility=Visibility.internal,
            unit_id=request.owner_unit_id,
        )
    )
    await session.flush()
    await announce.owner_card(session, request=request, heading="submitted", settings=settings)
    return request
