"""The red whistle (红响哨): a unit summons departments on a request.

Each summoned department's liaisons get an urgent push with Acknowledge / On site / Done
buttons and must acknowledge within `whistles.ack_minutes` (30 by default). The sweep
`escalate_unacknowledged` tells the street's admins about every summons still unacknowledged
at its deadline, once: the summons is claimed with FOR UPDATE SKIP LOCKED and stamped
`escalated_at` in the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cases import cards
from bot.services.comms import notify
from bot.services.org import erasure, scope
from bot.services.whistles import actions
from bot.sweeps import sweep
from models import (
    OPEN_STATUSES,
    EventKind,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    Role,
    SummonsStatus,
    UnitKind,
    Visibility,
    Whistle,
    WhistleSummons,
)


class Step(enum.StrEnum):
    acknowledge = "acknowledge"
    on_site = "on_site"
    done = "done"


STEP_STATUS = {
    Step.acknowledge: SummonsStatus.acknowledged,
    Step.on_site: SummonsStatus.on_site,
    Step.done: SummonsStatus.done,
}
ORDER = [
    SummonsStatus.summoned,
    SummonsStatus.acknowledged,
    SummonsStatus.on_site,
    SummonsStatus.done,
]


def _event(
    request: Request, *, kind: str, now: datetime, actor_id: int | None, unit_id: int, note: str
) -> RequestEvent:
    return RequestEvent(
        request_id=request.id,
        at=now,
        actor_id=actor_id,
        kind=kind,
        from_status=request.status.value,
        to_status=request.status.value,
        note=note,
        visibility=Visibility.internal,
        unit_id=unit_id,
    )


def summons_card(
    request: Request,
    summons: WhistleSummons,
    *,
    unit: OrgUnit,
    note: str,
    settings: Settings,
    locale: str,
) -> Outgoing:
    """The push a department's liaisons get, with the three answer buttons."""
    text = t(
        locale,
        "schedule.whistle.summons",
        reference=request.reference,
        unit=unit.name(locale),
        title=erasure.shown(request.title, locale) or t(locale, "next_steps.not_given"),
        description=erasure.shown(request.description, locale),
        address=request.address_text or t(locale, "next_steps.not_given"),
        ack_by=cards.when(summons.ack_by, settings, locale),
    )
    if note:
        text += "\n" + t(locale, "schedule.whistle.note", note=note)
    row = [
        actions.ACKNOWLEDGE.button(t(locale, "schedule.whistle.button.acknowledge"), summons.id),
        actions.ON_SITE.button(t(locale, "schedule.whistle.button.on_site"), summons.id),
        actions.DONE.button(t(locale, "schedule.whistle.button.done"), summons.id),
    ]
    return Outgoing(text=text, buttons=[row])


async def departments_by_code(session: AsyncSession, *, codes: Sequence[str]) -> list[OrgUnit]:
    """The departments with these codes, in the given order; NotFound names an unknown code."""
    wanted = [code.strip() for code in codes if code.strip()]
    query = select(OrgUnit).where(OrgUnit.code.in_(wanted), OrgUnit.kind == UnitKind.department)
    found = {unit.code: unit for unit in (await session.execute(query)).scalars()}
    for code in wanted:
        if code not in found:
            raise NotFound("schedule.whistle.unknown_department", code=code)
    return [found[code] for code in dict.fromkeys(wanted)]


async def _require_may_blow(
    session: AsyncSession, *, request: Request, actor: Person | None
) -> None:
    """InvalidTransition unless the request is open; NotAllowed unless the actor is its staff."""
    if request.status not in OPEN_STATUSES:
        raise InvalidTransition("schedule.whistle.not_open", reference=request.reference)
    if actor is not None and not await scope.holds_role(
        session, person_id=actor.id, roles=scope.STAFF_ROLES, unit_id=request.owner_unit_id
    ):
        raise NotAllowed("core.not_allowed")


async def _departments_by_id(
    session: AsyncSession, *, department_ids: Sequence[int]
) -> tuple[list[int], dict[int, OrgUnit]]:
    """The ids without repeats, in order, and their departments; refuses none or an unknown one."""
    ids = list(dict.fromkeys(department_ids))
    if not ids:
        raise InvalidTransition("schedule.whistle.no_department")
    query = select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == UnitKind.department)
    departments = {unit.id: unit for unit in (await session.execute(query)).scalars()}
    if len(departments) != len(ids):
        raise NotFound("schedule.whistle.unknown_department", code="?")
    return ids, departments


async def _push_summonses(
    session: AsyncSession,
    *,
    request: Request,
    unit: OrgUnit,
    whistle: Whistle,
    summonses: Sequence[WhistleSummons],
    settings: Settings,
) -> None:
    """The urgent push to each summoned department's liaisons."""
    for summons in summonses:
        await notify.notify_unit(
            session,
            unit_id=summons.department_id,
            roles=(Role.department_liaison,),
            render=lambda loc, s=summons: summons_card(  # type: ignore[misc]
                request, s, unit=unit, note=whistle.note, settings=settings, locale=loc
            ),
            request_id=request.id,
            urgent=True,  # a whistle is answered in minutes, quiet hours or not
            settings=settings,
        )


async def blow(
    session: AsyncSession,
    *,
    request: Request,
    department_ids: Sequence[int],
    actor: Person | None,
    now: datetime,
    settings: Settings,
    ack_minutes: int | None = None,
    note: str = "",
) -> Whistle:
    """Summon departments on an open request; their liaisons must acknowledge in time."""
    await _require_may_blow(session, request=request, actor=actor)
    ids, departments = await _departments_by_id(session, department_ids=department_ids)
    unit = await session.get(OrgUnit, request.owner_unit_id)
    assert unit is not None  # a foreign key guarantees it
    minutes = ack_minutes if ack_minutes is not None else settings.whistles.ack_minutes
    whistle = Whistle(
        request_id=request.id,
        unit_id=unit.id,
        blown_by_id=actor.id if actor is not None else None,
        note=note.strip(),
        created_at=now,
    )
    session.add(whistle)
    await session.flush()
    summonses = [
        WhistleSummons(
            whistle_id=whistle.id,
            department_id=department_id,
            status=SummonsStatus.summoned.value,
            ack_by=now + timedelta(minutes=minutes),
        )
        for department_id in ids
    ]
    session.add_all(summonses)
    codes = " ".join(departments[i].code for i in ids)
    session.add(
        _event(
            request,
            kind=EventKind.whistle,
            now=now,
            actor_id=whistle.blown_by_id,
            unit_id=unit.id,
            note="\n".join(part for part in (codes, whistle.note) if part),
        )
    )
    await session.flush()
    await _push_summonses(
        session, request=request, unit=unit, whistle=whistle, summonses=summonses, settings=settings
    )
    return whistle


async def list_summons(session: AsyncSession, *, whistle_id: int) -> list[WhistleSummons]:
    """The departments summoned by one whistle."""
    query = select(WhistleSummons).where(WhistleSummons.whistle_id == whistle_id)
    return list((await session.execute(query.order_by(WhistleSummons.id))).scalars())


async def _answerable(
    session: AsyncSession, *, summons_id: int, actor: Person
) -> tuple[WhistleSummons, Whistle, Request]:
    """The summons (locked), its whistle and request, when the actor is its department's liaison."""
    summons = await session.get(WhistleSummons, summons_id, with_for_update=True)
    if summons is None:
        raise NotFound("schedule.whistle.not_found")
    if not await scope.holds_role(
        session, person_id=actor.id, roles=(Role.department_liaison,), unit_id=summons.department_id
    ):
        raise NotAllowed("core.not_allowed")
    whistle = await session.get(Whistle, summons.whistle_id)
    assert whistle is not None
    request = await session.get(Request, whistle.request_id)
    assert request is not None
    return summons, whistle, request


def _stamp(summons: WhistleSummons, *, step: Step, actor: Person, now: datetime) -> None:
    """Move the summons to the step's status, stamping when (and by whom, if first) it moved."""
    if summons.acknowledged_at is None:
        summons.acknowledged_at = now
        summons.acknowledged_by_id = actor.id
    if step == Step.on_site:
        summons.on_site_at = now
    elif step == Step.done:
        summons.done_at = now
    summons.status = STEP_STATUS[step].value


async def answer(
    session: AsyncSession,
    *,
    summons_id: int,
    step: Step | str,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[WhistleSummons, Request, bool]:
    """A liaison of the summoned department answers; returns (summons, request, changed)."""
    step = Step(step)
    summons, whistle, request = await _answerable(session, summons_id=summons_id, actor=actor)
    target = STEP_STATUS[step]
    if ORDER.index(SummonsStatus(summons.status)) >= ORDER.index(target):
        return summons, request, False
    _stamp(summons, step=step, actor=actor, now=now)
    department = await session.get(OrgUnit, summons.department_id)
    assert department is not None
    session.add(
        _event(
            request,
            kind=EventKind(f"whistle_{target.value}"),
            now=now,
            actor_id=actor.id,
            unit_id=department.id,
            note=department.code,
        )
    )
    await session.flush()
    await notify.notify_unit(
        session,
        unit_id=whistle.unit_id,
        roles=scope.STAFF_ROLES,
        render=lambda loc: Outgoing(
            text=t(
                loc,
                f"schedule.whistle.answered.{target.value}",
                reference=request.reference,
                department=department.name(loc),
            )
        ),
        request_id=request.id,
        urgent=True,
        settings=settings,
    )
    return summons, request, True


async def _street_admins(session: AsyncSession, *, unit: OrgUnit) -> list[int]:
    """Admins of the street above `unit`; if it has none, of the nearest unit above with some."""
    chain = await scope.ancestors(session, unit=unit)
    kinds = [u.kind for u in chain]
    start = kinds.index(UnitKind.street) if UnitKind.street in kinds else 0
    for candidate in chain[start:]:
        people = await notify.unit_members(session, unit_id=candidate.id, roles=(Role.admin,))
        if people:
            return people
    return []


@sweep("whistles", description="unacknowledged whistles go to the street", batched=True)
async def escalate_unacknowledged(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 100
) -> list[WhistleSummons]:
    """Tell the street's admins about each summons not acknowledged by its deadline, once."""
    query = (
        select(WhistleSummons)
        .where(
            WhistleSummons.acknowledged_at.is_(None),
            WhistleSummons.escalated_at.is_(None),
            WhistleSummons.ack_by <= now,
        )
        .order_by(WhistleSummons.ack_by, WhistleSummons.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    escalated = list((await session.execute(query)).scalars())
    for summons in escalated:
        summons.escalated_at = now
        whistle = await session.get(Whistle, summons.whistle_id)
        assert whistle is not None
        request = await session.get(Request, whistle.request_id)
        unit = await session.get(OrgUnit, whistle.unit_id)
        department = await session.get(OrgUnit, summons.department_id)
        assert request is not None and unit is not None and department is not None
        admins = await _street_admins(session, unit=unit)
        session.add(
            _event(
                request,
                kind=EventKind.whistle_escalated,
                now=now,
                actor_id=None,
                unit_id=unit.id,
                note=department.code,
            )
        )
        await notify.notify_persons(
            session,
            person_ids=admins,
            render=lambda loc, r=request, d=department, s=summons: Outgoing(  # type: ignore[misc]
                text=t(
                    loc,
                    "schedule.whistle.escalated",
                    reference=r.reference,
                    department=d.name(loc),
                    ack_by=cards.when(s.ack_by, settings, loc),
                )
            ),
            request_id=request.id,
            urgent=True,
            settings=settings,
        )
    await session.flush()
    return escalated
