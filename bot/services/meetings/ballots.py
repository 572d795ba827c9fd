"""Polls in the database: options, opening, votes (one household, one voice), closing.

The rules themselves are pure functions in `poll_rules`; this module loads votes and
floor areas, applies them, and pushes ballots and results. Tallies are never shown to voters
before the close. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.comms import notify
from bot.services.meetings import attendance, audience, cards, convene, poll_rules
from bot.sweeps import sweep
from models import (
    Building,
    Flat,
    Meeting,
    Person,
    Poll,
    PollOption,
    PollRule,
    PollStatus,
    PollVote,
    ScopeKind,
)

MAX_OPTIONS = 8


async def create_poll(
    session: AsyncSession, *, meeting: Meeting, actor: Person, question: str, rule: PollRule
) -> Poll:
    """A draft poll of a meeting, made by someone who may manage it."""
    if not await convene.may_manage(session, meeting=meeting, person=actor):
        raise NotAllowed("core.not_allowed")
    poll = Poll(meeting_id=meeting.id, question=question.strip()[:300], rule=rule)
    session.add(poll)
    await session.flush()
    return poll


async def get_managed(
    session: AsyncSession, *, poll_id: int, person: Person
) -> tuple[Poll, Meeting]:
    """A poll whose meeting the person may manage, else NotFound / NotAllowed."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise NotFound("meeting.not_found")
    meeting = await convene.get_managed(session, meeting_id=poll.meeting_id, person=person)
    return poll, meeting


async def list_options(session: AsyncSession, *, poll_id: int) -> list[PollOption]:
    """The poll's options in order."""
    stmt = (
        select(PollOption)
        .where(PollOption.poll_id == poll_id)
        .order_by(PollOption.position, PollOption.id)
    )
    return list((await session.execute(stmt)).scalars())


async def list_polls(session: AsyncSession, *, meeting_id: int) -> list[Poll]:
    """The meeting's polls, oldest first."""
    stmt = select(Poll).where(Poll.meeting_id == meeting_id).order_by(Poll.id)
    return list((await session.execute(stmt)).scalars())


async def add_option(session: AsyncSession, *, poll: Poll, text: str) -> PollOption | None:
    """Add an option to a draft poll; None when the poll is full or the text empty."""
    if poll.status != PollStatus.draft:
        raise NotFound("meeting.poll_not_draft")
    existing = await list_options(session, poll_id=poll.id)
    text = text.strip()[:300]
    if not text or len(existing) >= MAX_OPTIONS or text in {o.text for o in existing}:
        return None
    option = PollOption(poll_id=poll.id, position=len(existing), text=text)
    session.add(option)
    await session.flush()
    return option


async def open_poll(
    session: AsyncSession,
    *,
    poll: Poll,
    closes_at: datetime | None,
    now: datetime,
    settings: Settings,
) -> int:
    """Open voting and push the ballot to the invited residents; returns how many were sent."""
    if poll.status != PollStatus.draft:
        raise NotFound("meeting.poll_not_draft")
    options = await list_options(session, poll_id=poll.id)
    if len(options) < 2:
        raise NotFound("meeting.poll_needs_options")
    meeting = await session.get(Meeting, poll.meeting_id)
    assert meeting is not None  # a foreign key guarantees it
    attendance.require_scheduled(meeting)  # a held or called-off meeting takes no more votes
    poll.status = PollStatus.open
    poll.opened_at = now
    poll.closes_at = closes_at if closes_at is not None and closes_at > now else None
    await session.flush()
    people = await audience.invitee_ids(session, meeting=meeting)
    rows = await notify.notify_persons(
        session,
        kind="meeting",
        person_ids=people,
        render=lambda loc: cards.ballot(poll, options, loc),
        request_id=meeting.request_id,
        settings=settings,
    )
    return len(rows)


@dataclass(frozen=True, slots=True)
class Cast:
    """A vote as recorded: the option, and who else in the household voted before."""

    poll: Poll
    option: PollOption
    housemates: list[str]


async def cast_vote(
    session: AsyncSession, *, poll_id: int, option_id: int, person: Person, now: datetime
) -> Cast:
    """Record a resident's vote for their household; refused outside the scope or when closed."""
    poll = await session.get(Poll, poll_id)
    option = await session.get(PollOption, option_id)
    if poll is None or option is None or option.poll_id != poll.id:
        raise NotFound("meeting.not_found")
    meeting = await session.get(Meeting, poll.meeting_id)
    assert meeting is not None  # a foreign key guarantees it
    if poll.status != PollStatus.open or (poll.closes_at is not None and poll.closes_at <= now):
        raise NotFound("meeting.poll_closed")
    invitation = await attendance.invitation_for(session, meeting=meeting, person=person, now=now)
    household = audience.household_of(person)
    serial = (
        await session.execute(
            select(func.coalesce(func.max(PollVote.serial), 0)).where(PollVote.poll_id == poll.id)
        )
    ).scalar_one() + 1
    vote = await session.get(PollVote, (poll.id, person.id))
    if vote is None:
        vote = PollVote(poll_id=poll.id, person_id=person.id)
        session.add(vote)
    vote.option_id = option.id
    vote.building_id = invitation.building_id
    vote.unit_room = household[1]
    vote.at = now
    vote.serial = int(serial)
    await session.flush()
    others = (
        await session.execute(
            select(Person.display_name)
            .join(PollVote, PollVote.person_id == Person.id)
            .where(
                PollVote.poll_id == poll.id,
                PollVote.building_id == vote.building_id,
                PollVote.unit_room == vote.unit_room,
                PollVote.person_id != person.id,
            )
        )
    ).scalars()
    return Cast(poll, option, [name or "" for name in others])


async def _votes(session: AsyncSession, poll: Poll) -> list[poll_rules.Vote]:
    stmt = select(PollVote).where(PollVote.poll_id == poll.id)
    return [
        poll_rules.Vote((v.building_id, v.unit_room), v.person_id, v.option_id, v.at, v.serial)
        for v in (await session.execute(stmt)).scalars()
    ]


async def _areas(
    session: AsyncSession, meeting: Meeting
) -> tuple[dict[poll_rules.Household, float], float | None]:
    """Floor areas of the scope's flats, and their total when known for every household."""
    stmt = select(Flat).where(Flat.floor_area.is_not(None))
    if meeting.scope_kind == ScopeKind.compound:
        buildings = select(Building.id).where(Building.compound_id == meeting.compound_id)
        stmt = stmt.where(Flat.building_id.in_(buildings))
    else:
        stmt = stmt.where(Flat.building_id == meeting.building_id)
    flats = [
        f
        for f in (await session.execute(stmt)).scalars()
        if meeting.scope_kind != ScopeKind.units or audience.unit_of(f.unit_room) in meeting.units
    ]
    areas: dict[poll_rules.Household, float] = {
        (f.building_id, f.unit_room): float(f.floor_area or 0) for f in flats
    }
    known = bool(areas) and len(areas) >= meeting.expected_households
    return areas, (float(sum(areas.values())) if known else None)


async def compute(session: AsyncSession, *, poll: Poll) -> poll_rules.Result:
    """The poll's result now, under its rule (for the organiser and at the close)."""
    meeting = await session.get(Meeting, poll.meeting_id)
    assert meeting is not None  # a foreign key guarantees it
    options = [o.id for o in await list_options(session, poll_id=poll.id)]
    areas, total = await _areas(session, meeting)
    ballots = poll_rules.household_ballots(await _votes(session, poll), areas=areas)
    electorate = poll_rules.Electorate(households=meeting.expected_households, area=total)
    return poll_rules.decide(
        rule=poll.rule, electorate=electorate, ballots=ballots, options=options
    )


@dataclass(frozen=True, slots=True)
class HouseholdVotes:
    """Who answered for one household, newest first; the first one counts."""

    household: poll_rules.Household
    votes: list[tuple[str, int, datetime]]  # (display name, option id, at)


async def household_votes(session: AsyncSession, *, poll: Poll) -> list[HouseholdVotes]:
    """Every household that voted, with each member's vote (for the organiser)."""
    stmt = (
        select(PollVote, Person.display_name)
        .join(Person, Person.id == PollVote.person_id)
        .where(PollVote.poll_id == poll.id)
        .order_by(
            PollVote.building_id, PollVote.unit_room, PollVote.at.desc(), PollVote.serial.desc()
        )
    )
    groups: dict[poll_rules.Household, HouseholdVotes] = {}
    for vote, name in (await session.execute(stmt)).all():
        key = (vote.building_id, vote.unit_room)
        groups.setdefault(key, HouseholdVotes(key, [])).votes.append(
            (name or "", vote.option_id, vote.at)
        )
    return list(groups.values())


async def close_poll(
    session: AsyncSession, *, poll: Poll, now: datetime, settings: Settings
) -> poll_rules.Result | None:
    """Close voting (once), store the result and push it; None when it was not open."""
    claimed = await session.execute(
        update(Poll)
        .where(Poll.id == poll.id, Poll.status == PollStatus.open)
        .values(status=PollStatus.closed, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return None
    await session.refresh(poll)
    result = await compute(session, poll=poll)
    poll.result = result.as_dict()
    await session.flush()
    meeting = await session.get(Meeting, poll.meeting_id)
    assert meeting is not None  # a foreign key guarantees it
    options = await list_options(session, poll_id=poll.id)
    people = set(await audience.invitee_ids(session, meeting=meeting))
    if meeting.organiser_id is not None:
        people.add(meeting.organiser_id)
    await notify.notify_persons(
        session,
        kind="meeting",
        person_ids=people,
        render=lambda loc: cards.result_message(meeting, poll, options, result, loc),
        request_id=meeting.request_id,
        settings=settings,
    )
    return result


async def closed_polls(
    session: AsyncSession, *, meeting_id: int
) -> Sequence[cards.PollWithOptions]:
    """The meeting's closed polls with their options, for the outcome."""
    found = []
    for poll in await list_polls(session, meeting_id=meeting_id):
        if poll.status == PollStatus.closed and poll.result is not None:
            found.append((poll, await list_options(session, poll_id=poll.id)))
    return found


@sweep("close_polls", description="close polls whose voting time is over")
async def close_due_polls(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Close every open poll whose set closing time has passed; returns how many closed."""
    stmt = select(Poll).where(
        Poll.status == PollStatus.open, Poll.closes_at.is_not(None), Poll.closes_at <= now
    )
    closed = 0
    for poll in list((await session.execute(stmt)).scalars()):
        if await close_poll(session, poll=poll, now=now, settings=settings) is not None:
            closed += 1
    return closed
