"""The quarterly property-service poll of a community: opened once per quarter (by the
`property_polls` sweep on the quarter's first run, or earlier by an admin's /propertypoll),
which asks the residents of its compounds to rate their property service and closes the
community's poll of the quarter before. The unique (community, quarter) row is the claim: a
re-run or a second worker opens nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import actions, property_ratings
from bot.services.comms import notify
from bot.sweeps import sweep
from models import ChannelIdentity, Compound, OrgUnit, Person, UnitKind
from models.cobuild import PropertyPoll


def _card(poll: PropertyPoll, provider: str, locale: str) -> Outgoing:
    text = t(locale, "cobuild.property.ask", quarter=poll.quarter, provider=provider)
    row = [actions.PROPERTY_VOTE.button("⭐" * s, poll.id, s) for s in property_ratings.SCORES]
    return Outgoing(text=text, buttons=[row[:3], row[3:]])


async def _ask(session: AsyncSession, *, poll: PropertyPoll, settings: Settings) -> list[Compound]:
    """Ask the residents of each of the community's compounds about their own provider."""
    query = (
        select(Compound).where(Compound.community_id == poll.community_id).order_by(Compound.code)
    )
    compounds = list((await session.execute(query)).scalars())
    for compound in compounds:
        names = {
            loc: await property_ratings.provider_name(session, compound=compound, locale=loc)
            for loc in ("zh", "en")
        }
        residents = select(Person.id).where(
            Person.compound_id == compound.id, Person.deleted_at.is_(None)
        )

        def render(loc: str, n: dict[str, str] = names) -> Outgoing:
            return _card(poll, n.get(loc, n["zh"]), loc)

        await notify.notify_where(
            session,
            kind="cobuild",
            who=ChannelIdentity.person_id.in_(residents),
            render=render,
            settings=settings,
        )
    return compounds


async def open_poll(
    session: AsyncSession,
    *,
    community: OrgUnit,
    now: datetime,
    settings: Settings,
    actor: Person | None = None,
) -> tuple[PropertyPoll | None, int]:
    """Open the community's poll of the current quarter and ask its residents; the poll before
    is closed. Returns the poll and how many compounds were asked, or None when this quarter's
    is open already."""
    quarter = property_ratings.quarter_of(now, settings)
    await close_stale(session, now=now, settings=settings, community_id=community.id)
    poll = PropertyPoll(
        community_id=community.id,
        quarter=quarter,
        opened_at=now,
        opened_by_id=actor.id if actor else None,
    )
    try:
        async with session.begin_nested():
            session.add(poll)
    except IntegrityError:  # opened already: by the sweep, an admin or another worker
        return None, 0
    return poll, len(await _ask(session, poll=poll, settings=settings))


async def close_stale(
    session: AsyncSession, *, now: datetime, settings: Settings, community_id: int | None = None
) -> int:
    """Close the open polls of earlier quarters (of one community, or all); returns how many."""
    query = (
        update(PropertyPoll)
        .where(
            PropertyPoll.closed_at.is_(None),
            PropertyPoll.quarter != property_ratings.quarter_of(now, settings),
        )
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if community_id is not None:
        query = query.where(PropertyPoll.community_id == community_id)
    return (await session.execute(query)).rowcount or 0  # type: ignore[attr-defined]


async def open_poll_of(session: AsyncSession, *, community_id: int) -> PropertyPoll | None:
    """The community's open poll, if any."""
    query = (
        select(PropertyPoll)
        .where(PropertyPoll.community_id == community_id, PropertyPoll.closed_at.is_(None))
        .order_by(PropertyPoll.id.desc())
    )
    return (await session.execute(query)).scalars().first()


@sweep(
    "property_polls",
    description="open each community's property poll once a quarter",
    batched=True,
)
async def quarterly_polls(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 20
) -> list[int]:
    """Close last quarter's polls; open this quarter's for up to `limit` communities with
    compounds that have none yet. Returns the ids of the polls opened."""
    await close_stale(session, now=now, settings=settings)
    quarter = property_ratings.quarter_of(now, settings)
    has_poll = exists().where(
        PropertyPoll.community_id == OrgUnit.id, PropertyPoll.quarter == quarter
    )
    has_compound = exists().where(Compound.community_id == OrgUnit.id)
    query = (
        select(OrgUnit)
        .where(OrgUnit.kind == UnitKind.community, has_compound, ~has_poll)
        .order_by(OrgUnit.id)
        .limit(limit)
    )
    opened = []
    for community in (await session.execute(query)).scalars().all():
        poll, _asked = await open_poll(session, community=community, now=now, settings=settings)
        if poll is not None:
            opened.append(poll.id)
    return opened
