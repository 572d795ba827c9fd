"""What a closed property-service poll found, told once: the community's admins get every
property service of its compounds, each resident whose household rated gets their own
compound's; both with the average, how many households rated and, when the service is ranked,
its place among the district's services that quarter (`property_ratings.ranking`).

The poll's closing (`property_polls.close_stale`) and these pushes are one transaction: the
UPDATE that closes a poll names it only once, so a re-run or a second worker tells nobody
twice, and a crash before the commit closes nothing and tells nobody."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import property_ratings, rights
from bot.services.comms import notify
from models import Compound, OrgUnit
from models.cobuild import PropertyPoll, PropertyRating

LOCALES = ("zh", "en")


@dataclass(frozen=True, slots=True)
class ServiceResult:
    """One property service of a community in a closed poll; `names` by locale."""

    names: dict[str, str]
    average: float
    households: int
    place: int  # in the district's ranking of the quarter
    of: int  # services ranked


async def announce(session: AsyncSession, *, poll_ids: Sequence[int], settings: Settings) -> int:
    """Tell the result of each poll just closed; returns how many pushes were written."""
    written = 0
    for poll_id in poll_ids:
        poll = await session.get(PropertyPoll, poll_id)
        community = await session.get(OrgUnit, poll.community_id) if poll else None
        if poll is None or community is None:
            continue
        written += await _announce_poll(session, poll=poll, community=community, settings=settings)
    return written


async def _announce_poll(
    session: AsyncSession, *, poll: PropertyPoll, community: OrgUnit, settings: Settings
) -> int:
    results, raters = await _results(session, poll=poll)
    admins = await rights.community_admins(session, community_id=community.id)

    def for_admins(locale: str) -> Outgoing:
        if not results:
            text = t(
                locale,
                "polish.property.none",
                quarter=poll.quarter,
                community=community.name(locale),
            )
        else:
            lines = "\n".join(_line(result, locale) for result in results.values())
            text = t(
                locale,
                "polish.property.result",
                quarter=poll.quarter,
                community=community.name(locale),
                lines=lines,
            )
        return Outgoing(text=text, kind="cobuild")

    rows = await notify.notify_persons(
        session, person_ids=admins, render=for_admins, settings=settings, kind="cobuild"
    )
    count = len(rows)
    for key, people in raters.items():
        result = results[key]

        def for_raters(locale: str, result: ServiceResult = result) -> Outgoing:
            text = t(
                locale, "polish.property.yours", quarter=poll.quarter, line=_line(result, locale)
            )
            return Outgoing(text=text, kind="cobuild")

        rows = await notify.notify_persons(
            session,
            person_ids=[p for p in people if p not in admins],
            render=for_raters,
            settings=settings,
            kind="cobuild",
        )
        count += len(rows)
    return count


def _line(result: ServiceResult, locale: str) -> str:
    return t(
        locale,
        "polish.property.line",
        name=result.names.get(locale, result.names["zh"]),
        average=f"{result.average:.1f}",
        households=result.households,
        place=result.place,
        of=result.of,
    )


async def _results(
    session: AsyncSession, *, poll: PropertyPoll
) -> tuple[dict[str, ServiceResult], dict[str, list[int]]]:
    """The services of the community's compounds that were rated (keyed by their Chinese
    name), with their district-wide figures and place, and the people whose household rated
    each. A workstation serving compounds of several communities is one service, ranked
    once: its figures count all of its households."""
    rated = (
        select(Compound)
        .where(
            Compound.community_id == poll.community_id,
            Compound.id.in_(
                select(PropertyRating.compound_id).where(PropertyRating.quarter == poll.quarter)
            ),
        )
        .order_by(Compound.code)
    )
    names: dict[str, dict[str, str]] = {}
    for compound in (await session.scalars(rated)).all():
        localised = {
            loc: await property_ratings.provider_name(session, compound=compound, locale=loc)
            for loc in LOCALES
        }
        names[localised["zh"]] = localised
    ranked = await property_ratings.ranking(session, quarter=poll.quarter, locale="zh")
    results = {
        score.name: ServiceResult(
            names[score.name], score.average, score.households, place, len(ranked)
        )
        for place, score in enumerate(ranked, start=1)
        if score.name in names
    }
    return results, await _raters(session, poll=poll, keys=names)


async def _raters(
    session: AsyncSession, *, poll: PropertyPoll, keys: dict[str, dict[str, str]]
) -> dict[str, list[int]]:
    """Who rated, by the service (Chinese name) their compound's rating was of."""
    query = (
        select(Compound, PropertyRating.person_id)
        .join(PropertyRating, PropertyRating.compound_id == Compound.id)
        .where(
            Compound.community_id == poll.community_id,
            PropertyRating.quarter == poll.quarter,
            PropertyRating.person_id.is_not(None),
        )
    )
    raters: dict[str, list[int]] = defaultdict(list)
    for compound, person_id in (await session.execute(query)).all():
        key = await property_ratings.provider_name(session, compound=compound, locale="zh")
        if key in keys and person_id is not None:
            raters[key].append(person_id)
    return dict(raters)
