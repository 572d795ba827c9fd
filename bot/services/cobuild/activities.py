"""A community's calls for volunteers (活动): pushed to its confirmed members, who join; each
member's hours go to the ledger per activity once the organiser confirms them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.i18n import moment, t
from bot.messages import Button, Outgoing
from bot.services.cobuild import actions, members, rights
from bot.services.comms import notify
from models import OrgUnit, Person
from models.cobuild import Activity, Member, MemberStatus, ServiceHours

MAX_HOURS = 24.0


async def call_out(
    session: AsyncSession,
    *,
    community: OrgUnit,
    title: str,
    starts_at: datetime,
    place: str,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[Activity, int]:
    """Call the community's confirmed members to an activity at a time and place (in the
    future); returns it and how many were called."""
    await rights.require_community_admin(session, person=actor, community_id=community.id)
    title, place = title.strip()[:200], " ".join(place.split())[:200]
    if not title or not place:
        raise InvalidTransition("cobuild.activity.usage")
    if starts_at <= now:
        raise InvalidTransition("cobuild2.callout.past")
    activity = Activity(
        community_id=community.id,
        title=title,
        organiser_id=actor.id,
        starts_at=starts_at,
        place=place,
    )
    activity.created_at = now
    session.add(activity)
    await session.flush()
    called = await members.confirmed_members(session, community_id=community.id)

    def render(loc: str) -> Outgoing:
        text = t(
            loc,
            "cobuild2.activity.call",
            community=community.name(loc),
            title=title,
            when=when(activity, loc, settings, now=now),
            place=place,
        )
        label = t(loc, "cobuild.button.join")
        return Outgoing(text=text, buttons=[[actions.JOIN.button(label, activity.id)]])

    await notify.notify_persons(
        session,
        kind="cobuild",
        person_ids=[m.person_id for m in called],
        render=render,
        settings=settings,
    )
    return activity, len(called)


def when(
    activity: Activity, locale: str, settings: Settings, *, now: datetime | None = None
) -> str:
    """When the activity starts, as people read it ("-" for the calls made before it was asked)."""
    return moment(activity.starts_at, locale, settings.tz, now=now)


async def _confirmed_member(session: AsyncSession, *, person: Person) -> Member:
    member = await members.get_membership(session, person_id=person.id)
    if member is None or member.status != MemberStatus.confirmed or person.deleted_at:
        raise NotAllowed("cobuild.member.not_member")
    return member


async def join(
    session: AsyncSession, *, activity_id: int, person: Person, now: datetime
) -> tuple[Activity, bool]:
    """A confirmed member of the activity's community joins it; False when already joined."""
    activity = await session.get(Activity, activity_id)
    if activity is None:
        raise NotFound("cobuild.error.activity_not_found")
    member = await _confirmed_member(session, person=person)
    if member.community_id != activity.community_id:
        raise NotAllowed("core.not_allowed")
    existing = await _entry(session, activity_id=activity.id, member_id=member.id)
    if existing is not None:
        return activity, False
    session.add(ServiceHours(activity_id=activity.id, member_id=member.id, joined_at=now))
    await session.flush()
    return activity, True


async def _entry(session: AsyncSession, *, activity_id: int, member_id: int) -> ServiceHours | None:
    query = select(ServiceHours).where(
        ServiceHours.activity_id == activity_id, ServiceHours.member_id == member_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def report_hours(
    session: AsyncSession,
    *,
    activity_id: int,
    hours: float,
    person: Person,
    settings: Settings,
) -> ServiceHours:
    """A member who joined reports their hours; the organiser gets them with a Confirm button."""
    if not 0 < hours <= MAX_HOURS:
        raise InvalidTransition("cobuild.hours.range", most=int(MAX_HOURS))
    member = await _confirmed_member(session, person=person)
    entry = await _entry(session, activity_id=activity_id, member_id=member.id)
    activity = await session.get(Activity, activity_id)
    if entry is None or activity is None:
        raise NotFound("cobuild.hours.not_joined")
    if entry.confirmed_at is not None:
        raise InvalidTransition("cobuild.hours.already_confirmed")
    entry.hours = round(hours, 1)
    await session.flush()
    if activity.organiser_id is not None:

        def render(loc: str) -> Outgoing:
            text = t(
                loc,
                "cobuild.hours.asks",
                name=person.display_name or f"#{person.id}",
                hours=entry.hours,
                title=activity.title,
            )
            label = t(loc, "cobuild.button.confirm")
            data = actions.HOURS_CONFIRM.data(entry.id)
            return Outgoing(text=text, buttons=[[Button(label, data)]])

        await notify.notify_person(
            session,
            kind="cobuild",
            person_id=activity.organiser_id,
            render=render,
            settings=settings,
        )
    return entry


async def confirm_hours(
    session: AsyncSession, *, entry_id: int, actor: Person, now: datetime, settings: Settings
) -> tuple[ServiceHours, Activity, bool]:
    """The organiser (or an admin of the community) confirms reported hours; the member is told."""
    entry = await session.get(ServiceHours, entry_id)
    activity = await session.get(Activity, entry.activity_id) if entry else None
    if entry is None or activity is None:
        raise NotFound("cobuild.error.activity_not_found")
    if activity.organiser_id != actor.id:
        await rights.require_community_admin(
            session, person=actor, community_id=activity.community_id
        )
    if entry.confirmed_at is not None or entry.hours is None:
        return entry, activity, False
    entry.confirmed_at = now
    await session.flush()
    member = await session.get(Member, entry.member_id)
    assert member is not None  # foreign key
    await notify.notify_person(
        session,
        kind="cobuild",
        person_id=member.person_id,
        render=lambda loc: Outgoing(
            text=t(loc, "cobuild.hours.confirmed", hours=entry.hours, title=activity.title)
        ),
        settings=settings,
    )
    return entry, activity, True


async def ledger(
    session: AsyncSession, *, member_id: int, year: int
) -> list[tuple[Activity, ServiceHours]]:
    """A member's activities of a year with their hours, oldest first."""
    query = (
        select(Activity, ServiceHours)
        .join(ServiceHours, ServiceHours.activity_id == Activity.id)
        .where(ServiceHours.member_id == member_id, extract("year", Activity.created_at) == year)
        .order_by(Activity.id)
    )
    return [(a, h) for a, h in (await session.execute(query)).all()]


async def confirmed_hours(session: AsyncSession, *, member_ids: list[int]) -> dict[int, float]:
    """Confirmed hours per member, all years."""
    if not member_ids:
        return {}
    query = (
        select(ServiceHours.member_id, func.sum(ServiceHours.hours))
        .where(ServiceHours.member_id.in_(member_ids), ServiceHours.confirmed_at.is_not(None))
        .group_by(ServiceHours.member_id)
    )
    return {mid: float(total or 0) for mid, total in (await session.execute(query)).all()}
