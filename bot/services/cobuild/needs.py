"""The community sets the exam (社区出卷): its list of needs (需求清单). Admins publish a need
typed, or raised from a cluster of residents' open requests (same category and compound, "me
too" voices counted) with those requests linked; residents in scope support a need, one voice
per household, and the supports order the list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.services.cobuild import rights
from bot.services.meetings import audience
from models import (
    OPEN_STATUSES,
    Category,
    Compound,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    RequestFollower,
    Visibility,
)
from models.cobuild import Need, NeedRequest, NeedStatus, NeedSupport

MIN_CLUSTER = 2  # voices (requests and "me too"s) before a cluster is offered as a need


@dataclass(frozen=True, slots=True)
class Cluster:
    """Open requests of one category in one compound, not yet on the list of needs."""

    category: Category
    compound: Compound
    request_ids: tuple[int, ...]
    voices: int  # the requests and their "me too"s


def household_of(person: Person) -> str:
    """The person's household (`meetings.audience.household_of`: building and room, or the
    person alone without a room) as the key stored with a voice or a grade."""
    building_id, room = audience.household_of(person)
    return f"{building_id or 0}:{room}"[:64]


async def clusters(session: AsyncSession, *, community_id: int) -> list[Cluster]:
    """The community's clusters of open, unlisted requests with enough voices, loudest first."""
    followers = (
        select(RequestFollower.request_id, func.count().label("n"))
        .group_by(RequestFollower.request_id)
        .subquery()
    )
    query = (
        select(
            Request.category_id,
            Request.compound_id,
            func.count(Request.id),
            func.coalesce(func.sum(followers.c.n), 0),
        )
        .join(Compound, Compound.id == Request.compound_id)
        .outerjoin(followers, followers.c.request_id == Request.id)
        .where(
            Compound.community_id == community_id,
            Request.status.in_(list(OPEN_STATUSES)),
            Request.id.not_in(select(NeedRequest.request_id)),
        )
        .group_by(Request.category_id, Request.compound_id)
    )
    found: list[Cluster] = []
    for category_id, compound_id, count, me_too in (await session.execute(query)).all():
        voices = int(count) + int(me_too)
        if voices < MIN_CLUSTER:
            continue
        ids = await _cluster_requests(session, category_id=category_id, compound_id=compound_id)
        category = await session.get(Category, category_id)
        compound = await session.get(Compound, compound_id)
        assert category is not None and compound is not None  # foreign keys
        found.append(Cluster(category, compound, tuple(ids), voices))
    return sorted(found, key=lambda c: (-c.voices, c.compound.code, c.category.slug))


async def _cluster_requests(
    session: AsyncSession, *, category_id: int, compound_id: int
) -> list[int]:
    query = (
        select(Request.id)
        .where(
            Request.category_id == category_id,
            Request.compound_id == compound_id,
            Request.status.in_(list(OPEN_STATUSES)),
            Request.id.not_in(select(NeedRequest.request_id)),
        )
        .order_by(Request.id)
    )
    return list((await session.execute(query)).scalars())


async def publish(
    session: AsyncSession,
    *,
    community: OrgUnit,
    title: str,
    actor: Person,
    now: datetime,
    compound_id: int | None = None,
    category_id: int | None = None,
    request_ids: tuple[int, ...] = (),
) -> Need:
    """Put a need on the community's list, linking the requests it was raised from (their
    timelines say so)."""
    await rights.require_community_admin(session, person=actor, community_id=community.id)
    title = " ".join(title.split())[:200]
    if not title:
        raise InvalidTransition("cobuild.need.usage")
    need = Need(
        community_id=community.id,
        compound_id=compound_id,
        category_id=category_id,
        title=title,
        created_by_id=actor.id,
    )
    need.created_at = now
    session.add(need)
    await session.flush()
    for request_id in request_ids:
        session.add(NeedRequest(need_id=need.id, request_id=request_id))
        session.add(
            RequestEvent(
                request_id=request_id,
                at=now,
                actor_id=actor.id,
                kind="cobuild_need",
                note=title,
                visibility=Visibility.public,
                unit_id=community.id,
            )
        )
    await session.flush()
    return need


async def raise_from_request(
    session: AsyncSession, *, request_id: int, actor: Person, now: datetime, locale: str
) -> tuple[Need, int]:
    """Raise a need from the cluster a request belongs to; returns it and the requests linked."""
    request = await session.get(Request, request_id)
    compound = await session.get(Compound, request.compound_id) if request else None
    if request is None or compound is None:
        raise NotFound("cobuild.error.request_not_found")
    community = await session.get(OrgUnit, compound.community_id)
    category = await session.get(Category, request.category_id)
    assert community is not None and category is not None  # foreign keys
    await rights.require_community_admin(session, person=actor, community_id=community.id)
    ids = await _cluster_requests(session, category_id=category.id, compound_id=compound.id)
    if request.id not in ids:
        raise InvalidTransition("cobuild.need.already_listed")
    title = f"{compound.name_zh}：{category.name_zh}"
    need = await publish(
        session,
        community=community,
        title=title,
        actor=actor,
        now=now,
        compound_id=compound.id,
        category_id=category.id,
        request_ids=tuple(ids),
    )
    return need, len(ids)


async def in_scope(session: AsyncSession, *, need: Need, person: Person) -> bool:
    """True when the (not erased) person lives where the need is: its compound, or else its
    community."""
    if person.deleted_at is not None or person.compound_id is None:
        return False
    if need.compound_id is not None:
        return person.compound_id == need.compound_id
    compound = await session.get(Compound, person.compound_id)
    return compound is not None and compound.community_id == need.community_id


def residents_in_scope(need: Need) -> Select[Any]:
    """The ids of the (not erased) people living where the need is, as a subquery."""
    query = select(Person.id).where(Person.deleted_at.is_(None))
    if need.compound_id is not None:
        return query.where(Person.compound_id == need.compound_id)
    compounds = select(Compound.id).where(Compound.community_id == need.community_id)
    return query.where(Person.compound_id.in_(compounds))


async def support(
    session: AsyncSession, *, need_id: int, person: Person, now: datetime
) -> tuple[Need, bool]:
    """A resident in scope supports a need for their household; False when the household
    already did."""
    need = await session.get(Need, need_id)
    if need is None:
        raise NotFound("cobuild.error.need_not_found")
    if not await in_scope(session, need=need, person=person):
        raise NotAllowed("core.not_allowed")
    household = household_of(person)
    query = select(NeedSupport.id).where(
        NeedSupport.need_id == need.id, NeedSupport.household == household
    )
    if (await session.execute(query)).first() is not None:
        return need, False
    try:
        async with session.begin_nested():
            row = NeedSupport(need_id=need.id, household=household, person_id=person.id)
            row.created_at = now
            session.add(row)
    except IntegrityError:  # a neighbour of the same household pressed at the same moment
        return need, False
    return need, True


async def list_needs(
    session: AsyncSession,
    *,
    community_id: int,
    statuses: tuple[NeedStatus, ...] = (NeedStatus.open,),
) -> list[tuple[Need, int]]:
    """The community's needs with their household supports, most supported first."""
    supports = (
        select(NeedSupport.need_id, func.count().label("n"))
        .group_by(NeedSupport.need_id)
        .subquery()
    )
    query = (
        select(Need, func.coalesce(supports.c.n, 0))
        .outerjoin(supports, supports.c.need_id == Need.id)
        .where(Need.community_id == community_id, Need.status.in_(list(statuses)))
        .order_by(func.coalesce(supports.c.n, 0).desc(), Need.id)
    )
    return [(need, int(n)) for need, n in (await session.execute(query)).all()]


async def linked_requests(session: AsyncSession, *, need_id: int) -> list[Request]:
    """The requests a need was raised from."""
    query = (
        select(Request)
        .join(NeedRequest, NeedRequest.request_id == Request.id)
        .where(NeedRequest.need_id == need_id)
        .order_by(Request.id)
    )
    return list((await session.execute(query)).scalars())
