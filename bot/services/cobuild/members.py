"""In-service party members (在职党员) report in (报到) to the community they live in, naming
their unit; the community's admins confirm or decline with buttons on a push."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotFound
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import actions, rights
from bot.services.comms import notify
from bot.services.org import people
from models import Compound, OrgUnit, Person
from models.cobuild import Member, MemberStatus, ReportingUnit


async def list_units(session: AsyncSession) -> list[ReportingUnit]:
    """Every reporting unit, by code."""
    query = select(ReportingUnit).order_by(ReportingUnit.code)
    return list((await session.execute(query)).scalars())


async def get_membership(session: AsyncSession, *, person_id: int) -> Member | None:
    """The person's membership (pending, confirmed or declined), if any."""
    query = select(Member).where(Member.person_id == person_id)
    return (await session.execute(query)).scalar_one_or_none()


async def home_community(session: AsyncSession, *, person: Person) -> OrgUnit:
    """The community of the compound the person registered; refused when they have none."""
    if not people.is_registered(person) or person.compound_id is None:
        raise InvalidTransition("cobuild.member.register_first")
    compound = await session.get(Compound, person.compound_id)
    community = await session.get(OrgUnit, compound.community_id) if compound else None
    if community is None:
        raise InvalidTransition("cobuild.member.register_first")
    return community


def _decision_card(
    member: Member, person: Person, unit: ReportingUnit, community: OrgUnit, locale: str
) -> Outgoing:
    text = t(
        locale,
        "cobuild.member.asks",
        name=person.display_name or f"#{person.id}",
        unit=unit.name(locale),
        community=community.name(locale),
    )
    row = [
        actions.MEMBER_CONFIRM.button(t(locale, "cobuild.button.confirm"), member.id),
        actions.MEMBER_DECLINE.button(t(locale, "cobuild.button.decline"), member.id),
    ]
    return Outgoing(text=text, buttons=[row])


async def report_in(
    session: AsyncSession, *, person: Person, unit_id: int, now: datetime, settings: Settings
) -> tuple[Member, ReportingUnit, OrgUnit]:
    """Register the person as a member of the unit, reporting to their home community; its
    admins get the request with Confirm / Decline. Reporting again (after a decline, or to
    change the unit) starts over as pending."""
    unit = await session.get(ReportingUnit, unit_id)
    if unit is None:
        raise NotFound("cobuild.error.unit_not_found")
    community = await home_community(session, person=person)
    member = await get_membership(session, person_id=person.id)
    same = member is not None and (member.unit_id, member.community_id) == (unit.id, community.id)
    if same and member is not None and member.status == MemberStatus.confirmed:
        raise InvalidTransition("cobuild.member.already")
    if member is None:
        member = Member(person_id=person.id, unit_id=unit.id, community_id=community.id)
        member.created_at = now
        session.add(member)
    member.unit_id, member.community_id = unit.id, community.id
    member.status, member.decided_at, member.decided_by_id = MemberStatus.pending, None, None
    await session.flush()
    await notify.notify_persons(
        session,
        kind="cobuild",
        person_ids=await rights.community_admins(session, community_id=community.id),
        render=lambda loc: _decision_card(member, person, unit, community, loc),
        settings=settings,
    )
    return member, unit, community


async def decide(
    session: AsyncSession,
    *,
    member_id: int,
    confirm: bool,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[Member, bool]:
    """A community admin confirms or declines a pending member; returns it and whether it
    changed. The member is told."""
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("cobuild.error.member_not_found")
    await rights.require_community_admin(session, person=actor, community_id=member.community_id)
    if member.status != MemberStatus.pending:
        return member, False
    member.status = MemberStatus.confirmed if confirm else MemberStatus.declined
    member.decided_at, member.decided_by_id = now, actor.id
    await session.flush()
    unit = await session.get(ReportingUnit, member.unit_id)
    community = await session.get(OrgUnit, member.community_id)
    assert unit is not None and community is not None  # foreign keys
    await notify.notify_person(
        session,
        kind="cobuild",
        person_id=member.person_id,
        render=lambda loc: Outgoing(
            text=t(
                loc,
                f"cobuild.member.{member.status}",
                unit=unit.name(loc),
                community=community.name(loc),
            )
        ),
        settings=settings,
    )
    return member, True


async def confirmed_members(session: AsyncSession, *, community_id: int) -> list[Member]:
    """The community's confirmed members, oldest first."""
    query = (
        select(Member)
        .where(Member.community_id == community_id, Member.status == MemberStatus.confirmed)
        .order_by(Member.id)
    )
    return list((await session.execute(query)).scalars())
