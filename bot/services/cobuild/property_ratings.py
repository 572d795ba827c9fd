"""Residents rate their compound's property service each quarter (1-5, one per household):
the steward workstation (红管家) for a compound without a property company, else the compound's
own property service; admins see them ranked, as the district's third-party evaluation ranked
its 70 property companies. A community's admin sends the quarter's question (`ask`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import actions, needs, rights
from bot.services.comms import notify
from models import ChannelIdentity, Compound, OrgUnit, Person
from models.cobuild import PropertyRating

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


async def ask(
    session: AsyncSession, *, community: OrgUnit, actor: Person, now: datetime, settings: Settings
) -> int:
    """Ask the residents of the community's compounds to rate their property service this
    quarter; returns how many compounds were asked."""
    await rights.require_community_admin(session, person=actor, community_id=community.id)
    query = select(Compound).where(Compound.community_id == community.id).order_by(Compound.code)
    compounds = list((await session.execute(query)).scalars())
    quarter = quarter_of(now, settings)
    for compound in compounds:
        names = {
            loc: await provider_name(session, compound=compound, locale=loc) for loc in ("zh", "en")
        }

        def render(loc: str, c: Compound = compound, n: dict[str, str] = names) -> Outgoing:
            text = t(loc, "cobuild.property.ask", quarter=quarter, provider=n.get(loc, n["zh"]))
            row = [actions.PROPERTY_RATE.button("⭐" * s, c.id, s) for s in SCORES]
            return Outgoing(text=text, buttons=[row[:3], row[3:]])

        residents = select(Person.id).where(
            Person.compound_id == compound.id, Person.deleted_at.is_(None)
        )
        await notify.notify_where(
            session, who=ChannelIdentity.person_id.in_(residents), render=render, settings=settings
        )
    return len(compounds)


async def rate(
    session: AsyncSession,
    *,
    compound_id: int,
    score: int,
    person: Person,
    now: datetime,
    settings: Settings,
) -> tuple[str, bool]:
    """A resident of the compound rates its property service for their household this
    quarter; returns the quarter and False when the household already did."""
    compound = await session.get(Compound, compound_id)
    if compound is None:
        raise NotFound("cobuild.error.compound_not_found")
    if score not in SCORES:
        raise InvalidTransition("cobuild.grade.score")
    if person.deleted_at is not None or person.compound_id != compound.id:
        raise NotAllowed("core.not_allowed")
    quarter = quarter_of(now, settings)
    row = PropertyRating(
        compound_id=compound.id,
        quarter=quarter,
        household=needs.household_of(person),
        person_id=person.id,
        score=score,
    )
    row.created_at = now
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the household rated this quarter already
        return quarter, False
    return quarter, True


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
