"""Broadcasts: an admin's message to the residents of a building, compound, grid, community or
street. Draft (preview with the recipient count) > sending (outbox rows, linked to the
broadcast) > done, or cancelled: rows not yet sent are cancelled and never go out.

Rights are checked at every step against the unit covering the target (a building's grid, a
compound's community, or the unit itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotFound
from bot.i18n import LOCALES, t
from bot.messages import Outgoing
from bot.services.comms import notify
from bot.services.org import places, rights, scope
from bot.sweeps import sweep
from models import (
    Broadcast,
    BroadcastMessage,
    Building,
    ChannelIdentity,
    Compound,
    OrgUnit,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
    UnitKind,
)

UNIT_KINDS = (UnitKind.grid, UnitKind.community, UnitKind.street)
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Target:
    """Whom a broadcast reaches, and the unit whose admins may send it."""

    kind: str  # building | compound | grid | community | street
    id: int
    label: str
    unit: OrgUnit


async def resolve_target(session: AsyncSession, *, text: str, locale: str = "zh") -> Target:
    """`<unit code>`, `<compound code>` or `<compound code>/<building number>`; labelled in
    `locale`."""
    code, _, number = text.strip().partition("/")
    compound = (
        await session.execute(select(Compound).where(Compound.code == code))
    ).scalar_one_or_none()
    if number and compound is not None:
        building = (
            await session.execute(
                select(Building).where(
                    Building.compound_id == compound.id, Building.number == number
                )
            )
        ).scalar_one_or_none()
        if building is not None:
            grid = await session.get(OrgUnit, building.grid_id)
            assert grid is not None  # a foreign key guarantees it
            label = f"{compound.name(locale)} {places.building_label(building, locale)}"
            return Target("building", building.id, label, grid)
    elif compound is not None:
        community = await session.get(OrgUnit, compound.community_id)
        assert community is not None
        return Target("compound", compound.id, compound.name(locale), community)
    elif not number:
        unit = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == code))
        ).scalar_one_or_none()
        if unit is not None and unit.kind in UNIT_KINDS:
            return Target(unit.kind.value, unit.id, unit.name(locale), unit)
    raise NotFound("admin.error.target_not_found", target=text.strip()[:64])


async def admin_targets(session: AsyncSession, *, person_id: int, limit: int = 12) -> list[OrgUnit]:
    """The streets, communities and grids the person administers, wider first (a district's
    admin sees streets and communities, a community's its grids): the targets offered as
    buttons (a compound or a building is typed)."""
    admin_of = await scope.granted_units(session, person_id=person_id, roles=[Role.admin])
    wider_first = case(
        {kind: rank for rank, kind in enumerate(reversed(UNIT_KINDS))}, value=OrgUnit.kind
    )
    query = (
        select(OrgUnit)
        .where(OrgUnit.kind.in_(UNIT_KINDS), scope.within(admin_of, OrgUnit.path))
        .order_by(wider_first, OrgUnit.path)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def target_of(session: AsyncSession, *, broadcast: Broadcast, locale: str = "zh") -> Target:
    """The target a broadcast was composed for, labelled in `locale`."""
    if broadcast.target_kind == "building":
        building = await session.get(Building, broadcast.target_id)
        compound = await session.get(Compound, building.compound_id) if building else None
        if building is None or compound is None:
            raise NotFound("admin.error.broadcast_not_found")
        text = f"{compound.code}/{building.number}"
        return await resolve_target(session, text=text, locale=locale)
    if broadcast.target_kind == "compound":
        found = await session.get(Compound, broadcast.target_id)
        code = found.code if found else ""
    else:
        unit = await session.get(OrgUnit, broadcast.target_id)
        code = unit.code if unit else ""
    if not code:
        raise NotFound("admin.error.broadcast_not_found")
    return await resolve_target(session, text=code, locale=locale)


async def recipients(
    session: AsyncSession, *, target: Target, demo_only: bool = False
) -> list[int]:
    """Ids of the residents of the target who can be reached on some channel; demo people
    only for a broadcast by a demo person (`bot.services.org.demo_fence`)."""
    query = select(Person.id).where(
        Person.deleted_at.is_(None),
        exists().where(
            ChannelIdentity.person_id == Person.id, ChannelIdentity.unreachable_at.is_(None)
        ),
    )
    if demo_only:
        query = query.where(Person.is_demo.is_(True))
    if target.kind == "building":
        query = query.where(Person.building_id == target.id)
    elif target.kind == "compound":
        query = query.where(Person.compound_id == target.id)
    else:
        units = select(OrgUnit.id).where(OrgUnit.path.startswith(target.unit.path))
        if target.kind == "grid":
            query = query.where(
                Person.building_id.in_(select(Building.id).where(Building.grid_id.in_(units)))
            )
        else:
            query = query.where(
                Person.compound_id.in_(select(Compound.id).where(Compound.community_id.in_(units)))
            )
    return sorted((await session.execute(query)).scalars())


async def create_draft(
    session: AsyncSession,
    *,
    actor: Person,
    target: Target,
    text: str,
    photo: str | None = None,
    now: datetime,
) -> tuple[Broadcast, int]:
    """A draft broadcast and its recipient count (the preview); nothing is sent."""
    await rights.require_admin(session, person_id=actor.id, unit=target.unit)
    people = await recipients(session, target=target, demo_only=actor.is_demo)
    broadcast = Broadcast(
        actor_id=actor.id,
        target_kind=target.kind,
        target_id=target.id,
        text=text.strip()[:MAX_TEXT],
        photo=photo,
        status="draft",
        recipients=len(people),
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast, len(people)


async def _checked(session: AsyncSession, *, broadcast_id: int, actor: Person) -> Broadcast:
    # Ids from button data are untrusted; beyond a 32-bit key PostgreSQL would reject the query.
    broadcast = await session.get(Broadcast, broadcast_id) if 0 < broadcast_id < 2**31 else None
    if broadcast is None:
        raise NotFound("admin.error.broadcast_not_found")
    target = await target_of(session, broadcast=broadcast)
    await rights.require_admin(session, person_id=actor.id, unit=target.unit)
    return broadcast


def render(broadcast: Broadcast, label: str, locale: str) -> Outgoing:
    """The message residents receive."""
    text = t(locale, "admin.broadcast.heading", target=label) + "\n" + broadcast.text
    return Outgoing(text=text, photo=broadcast.photo)


async def send(
    session: AsyncSession, *, broadcast_id: int, actor: Person, now: datetime, settings: Settings
) -> Broadcast:
    """Confirm a draft: write one outbox row per recipient identity, linked to the broadcast."""
    broadcast = await _checked(session, broadcast_id=broadcast_id, actor=actor)
    if broadcast.status != "draft":
        raise InvalidTransition("admin.error.broadcast_state", status=broadcast.status)
    target = await target_of(session, broadcast=broadcast)
    people = await recipients(session, target=target, demo_only=actor.is_demo)
    labels = {
        loc: (await target_of(session, broadcast=broadcast, locale=loc)).label for loc in LOCALES
    }
    rows = await notify.notify_persons(
        session,
        kind="broadcast",
        person_ids=people,
        render=lambda loc: render(broadcast, labels.get(loc, target.label), loc),
        settings=settings,
    )
    session.add_all(BroadcastMessage(broadcast_id=broadcast.id, outbox_id=row.id) for row in rows)
    broadcast.status, broadcast.sent_at, broadcast.recipients = "sending", now, len(people)
    await session.flush()
    await rights.audit(
        session,
        actor_id=actor.id,
        action="broadcast",
        target=f"{target.kind}:{target.id}",
        detail={"broadcast": broadcast.id, "recipients": len(people), "messages": len(rows)},
        now=now,
    )
    return broadcast


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    waiting: int
    failed: int
    cancelled: int


async def progress(session: AsyncSession, *, broadcast: Broadcast, now: datetime) -> Progress:
    """How far the outbox got; a sending broadcast with nothing left waiting becomes done."""
    query = (
        select(OutboxMessage.status, func.count())
        .join(BroadcastMessage, BroadcastMessage.outbox_id == OutboxMessage.id)
        .where(BroadcastMessage.broadcast_id == broadcast.id)
        .group_by(OutboxMessage.status)
    )
    counts = {status: int(n) for status, n in await session.execute(query)}
    waiting = counts.get(OutboxStatus.pending, 0) + counts.get(OutboxStatus.sending, 0)
    not_failed = {
        OutboxStatus.pending,
        OutboxStatus.sending,
        OutboxStatus.sent,
        OutboxStatus.cancelled,
    }
    result = Progress(
        total=sum(counts.values()),
        sent=counts.get(OutboxStatus.sent, 0),
        waiting=waiting,
        failed=sum(n for s, n in counts.items() if s not in not_failed),
        cancelled=counts.get(OutboxStatus.cancelled, 0),
    )
    if broadcast.status == "sending" and waiting == 0:
        broadcast.status, broadcast.finished_at = "done", now
        await session.flush()
    return result


async def get_progress(
    session: AsyncSession, *, broadcast_id: int, actor: Person, now: datetime
) -> tuple[Broadcast, Progress]:
    """Progress of a broadcast the actor may see."""
    broadcast = await _checked(session, broadcast_id=broadcast_id, actor=actor)
    return broadcast, await progress(session, broadcast=broadcast, now=now)


async def cancel(session: AsyncSession, *, broadcast_id: int, actor: Person, now: datetime) -> int:
    """Cancel a draft or a sending broadcast; returns how many queued messages were stopped."""
    broadcast = await _checked(session, broadcast_id=broadcast_id, actor=actor)
    if broadcast.status not in ("draft", "sending"):
        raise InvalidTransition("admin.error.broadcast_state", status=broadcast.status)
    rows = select(BroadcastMessage.outbox_id).where(BroadcastMessage.broadcast_id == broadcast.id)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(rows), OutboxMessage.status == OutboxStatus.pending)
        .values(status=OutboxStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    stopped = int(getattr(result, "rowcount", 0) or 0)
    was = broadcast.status
    broadcast.status, broadcast.finished_at = "cancelled", now
    await session.flush()
    if was == "sending":
        await rights.audit(
            session,
            actor_id=actor.id,
            action="broadcast.cancel",
            target=f"broadcast:{broadcast.id}",
            detail={"stopped": stopped},
            now=now,
        )
    return stopped


@sweep("broadcast_progress", description="a broadcast with nothing left to send is done")
async def sweep_progress(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 50
) -> int:
    """Mark sending broadcasts whose outbox rows are all settled as done; returns how many."""
    waiting = (
        select(BroadcastMessage.broadcast_id)
        .join(OutboxMessage, OutboxMessage.id == BroadcastMessage.outbox_id)
        .where(
            BroadcastMessage.broadcast_id == Broadcast.id,
            OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
        )
    )
    query = (
        select(Broadcast)
        .where(Broadcast.status == "sending", ~exists(waiting))
        .order_by(Broadcast.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    finished = 0
    for broadcast in (await session.execute(query)).scalars().all():
        await progress(session, broadcast=broadcast, now=now)
        finished += broadcast.status == "done"
    return finished
