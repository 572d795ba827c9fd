"""Residents rate their compound's property service each quarter (1-5, one per household):
the steward workstation (红管家) for a compound without a property company, else the compound's
own property service; admins see them ranked, as the district's third-party evaluation ranked
its 70 property companies. Each community's poll of the quarter (`property_polls`) asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.i18n import t
from bot.services.cobuild import needs
from models import Compound, OrgUnit, Person
from models.cobuild import PropertyPoll, PropertyRating

SCORES = (1, 2, 3, 4, 5)


def quarter_of(now: datetime, settings: Settings) -> str:
    """ "2026Q4": the quarter of a moment, in the district's time zone."""
    local = now.astimezone(settings.tz)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


async def provider_name(session: AsyncSession, *, compound: Compound, locale: str) -> str:
    """Who serves the compound: its workstation, or its property company."""
    if compound.no_property_management and compound.workstation_id is not None:
        workstation = await session.get(OrgUnit, compound.workstation_id)
        if workstation is not None:
            return workstation.name(locale)
    return t(locale, "cobuild.property.company", compound=compound.name_zh)


async def rate(
    session: AsyncSession, *, poll_id: int, score: int, person: Person, now: datetime
) -> tuple[str, bool]:
    """A resident of the poll's community rates their compound's property service for their
    household while the poll is open; returns the quarter and False when the household
    already did."""
    poll = await session.get(PropertyPoll, poll_id)
    if poll is None:
        raise NotFound("cobuild2.property.poll_not_found")
    if score not in SCORES:
        raise InvalidTransition("cobuild.grade.score")
    compound = await session.get(Compound, person.compound_id) if person.compound_id else None
    if person.deleted_at is not None or compound is None:
        raise NotAllowed("core.not_allowed")
    if compound.community_id != poll.community_id:
        raise NotAllowed("core.not_allowed")
    if poll.closed_at is not None:
        raise InvalidTransition("cobuild2.property.closed", quarter=poll.quarter)
    row = PropertyRating(
        compound_id=compound.id,
        quarter=poll.quarter,
        household=needs.household_of(person),
        person_id=person.id,
        score=score,
    )
    row.created_at = now
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the household rated this quarter already
        return poll.quarter, False
    return poll.quarter, True


async def rate_compound(
    session: AsyncSession, *, compound_id: int, score: int, person: Person, now: datetime
) -> tuple[str, bool]:
    """The buttons of the first polls name the compound: they rate in its community's open
    poll, if the person lives there."""
    compound = await session.get(Compound, compound_id)
    if compound is None:
        raise NotFound("cobuild.error.compound_not_found")
    if person.compound_id != compound.id:
        raise NotAllowed("core.not_allowed")
    query = (
        select(PropertyPoll.id)
        .where(PropertyPoll.community_id == compound.community_id)
        .order_by(PropertyPoll.closed_at.is_not(None), PropertyPoll.id.desc())
    )
    poll_id = (await session.execute(query)).scalars().first()
    if poll_id is None:
        raise NotFound("cobuild2.property.poll_not_found")
    return await rate(session, poll_id=poll_id, score=score, person=person, now=now)


@dataclass(frozen=True, slots=True)
class ProviderScore:
    """A property service's average rating of a quarter."""

    name: str
    average: float
    households: int


async def ranking(session: AsyncSession, *, quarter: str, locale: str) -> list[ProviderScore]:
    """The property services of the district ranked by their households' average rating."""
    query = (
        select(Compound, func.sum(PropertyRating.score), func.count())
        .join(PropertyRating, PropertyRating.compound_id == Compound.id)
        .where(PropertyRating.quarter == quarter)
        .group_by(Compound.id)
    )
    totals: dict[str, tuple[int, int]] = {}
    for compound, total, count in (await session.execute(query)).all():
        name = await provider_name(session, compound=compound, locale=locale)
        before = totals.get(name, (0, 0))
        totals[name] = (before[0] + int(total), before[1] + int(count))
    scores = [ProviderScore(n, round(s / c, 2), c) for n, (s, c) in totals.items()]
    return sorted(scores, key=lambda p: (-p.average, -p.households, p.name))
