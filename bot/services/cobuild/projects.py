"""The units answer (报到单位答卷): a paired unit's liaison pledges a project for a need (plan,
people, dates, resources); the community's admin confirms; the liaison reports progress (with
photos), which reaches the residents in scope and the linked requests' timelines; completion
(`closing`) closes the linked requests with a note and opens the residents' grading (`grades`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import actions, needs, rights
from bot.services.comms import notify
from models import ChannelIdentity, OrgUnit, Person, RequestEvent, Visibility
from models.cobuild import (
    CobuildPairing,
    Need,
    NeedStatus,
    Project,
    ProjectStatus,
    ProjectUpdate,
    ReportingUnit,
    UnitLiaison,
)


@dataclass(frozen=True, slots=True)
class Pledge:
    """What a unit offers for a need."""

    plan: str
    people: int = 0
    starts_on: date | None = None
    due_on: date | None = None
    resources: str = ""


async def _need(session: AsyncSession, need_id: int) -> Need:
    need = await session.get(Need, need_id)
    if need is None:
        raise NotFound("cobuild.error.need_not_found")
    return need


async def get_project(session: AsyncSession, *, project_id: int) -> tuple[Project, Need]:
    """A project and its need, or NotFound."""
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("cobuild.error.project_not_found")
    return project, await _need(session, project.need_id)


async def _paired_unit(session: AsyncSession, *, person: Person, community_id: int) -> int:
    """The unit the liaison acts for that is paired with the community, or a refusal."""
    query = (
        select(UnitLiaison.unit_id)
        .join(CobuildPairing, CobuildPairing.unit_id == UnitLiaison.unit_id)
        .where(UnitLiaison.person_id == person.id, CobuildPairing.community_id == community_id)
        .order_by(UnitLiaison.unit_id)
    )
    unit_id = (await session.execute(query)).scalars().first()
    if unit_id is None or person.deleted_at is not None:
        raise NotAllowed("core.not_allowed")
    return int(unit_id)


def _decision_card(project: Project, need: Need, unit: ReportingUnit, locale: str) -> Outgoing:
    text = t(
        locale,
        "cobuild.project.asks",
        unit=unit.name(locale),
        id=project.id,
        need=need.title,
        plan=project.plan,
        people=project.people or t(locale, "next_steps.not_given"),
        starts=project.starts_on or t(locale, "next_steps.not_set"),
        due=project.due_on or t(locale, "next_steps.not_set"),
        resources=project.resources or t(locale, "next_steps.not_given"),
    )
    row = [
        actions.PROJECT_CONFIRM.button(t(locale, "cobuild.button.confirm"), project.id),
        actions.PROJECT_DECLINE.button(t(locale, "cobuild.button.decline"), project.id),
    ]
    return Outgoing(text=text, buttons=[row])


async def pledging_unit(
    session: AsyncSession, *, need_id: int, actor: Person
) -> tuple[Need, ReportingUnit]:
    """The need and the actor's unit paired with its community, when they may pledge for it
    (a liaison of a paired unit, the need not done); else a refusal, nothing changed."""
    need = await _need(session, need_id)
    unit_id = await _paired_unit(session, person=actor, community_id=need.community_id)
    if need.status == NeedStatus.done:
        raise InvalidTransition("cobuild.project.need_done")
    unit = await session.get(ReportingUnit, unit_id)
    assert unit is not None  # foreign key
    return need, unit


async def pledgeable_needs(session: AsyncSession, *, actor: Person) -> list[tuple[Need, OrgUnit]]:
    """The needs not yet done of the communities the actor's units are paired with, with
    their community, newest first."""
    if actor.deleted_at is not None:
        return []
    paired = (
        select(CobuildPairing.community_id)
        .join(UnitLiaison, UnitLiaison.unit_id == CobuildPairing.unit_id)
        .where(UnitLiaison.person_id == actor.id)
    )
    query = (
        select(Need, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Need.community_id)
        .where(Need.community_id.in_(paired), Need.status != NeedStatus.done)
        .order_by(Need.id.desc())
    )
    return [(n, c) for n, c in (await session.execute(query)).all()]


async def pledge(
    session: AsyncSession,
    *,
    need_id: int,
    offer: Pledge,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[Project, ReportingUnit]:
    """A liaison of a unit paired with the need's community pledges a project; the
    community's admins get it with Confirm / Decline."""
    need, unit = await pledging_unit(session, need_id=need_id, actor=actor)
    plan = " ".join(offer.plan.split())[:2000]
    if not plan or offer.people < 0:
        raise InvalidTransition("cobuild.project.usage")
    if offer.starts_on and offer.due_on and offer.due_on < offer.starts_on:
        raise InvalidTransition("cobuild.project.dates")
    project = Project(
        need_id=need.id,
        unit_id=unit.id,
        plan=plan,
        people=offer.people,
        starts_on=offer.starts_on,
        due_on=offer.due_on,
        resources=offer.resources.strip()[:1000],
        pledged_by_id=actor.id,
    )
    project.created_at = now
    session.add(project)
    await session.flush()
    await notify.notify_persons(
        session,
        kind="cobuild",
        person_ids=await rights.community_admins(session, community_id=need.community_id),
        render=lambda loc: _decision_card(project, need, unit, loc),
        settings=settings,
    )
    return project, unit


async def _tell_liaisons(
    session: AsyncSession, *, project: Project, key: str, settings: Settings
) -> None:
    liaisons = select(UnitLiaison.person_id).where(UnitLiaison.unit_id == project.unit_id)
    await notify.notify_where(
        session,
        kind="cobuild",
        who=ChannelIdentity.person_id.in_(liaisons),
        render=lambda loc: Outgoing(text=t(loc, key, id=project.id)),
        settings=settings,
    )


async def decide(
    session: AsyncSession,
    *,
    project_id: int,
    confirm: bool,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[Project, bool]:
    """The community's admin confirms (work starts) or declines a pledged project; the unit's
    liaisons are told. Returns the project and whether it changed."""
    project, need = await get_project(session, project_id=project_id)
    await rights.require_community_admin(session, person=actor, community_id=need.community_id)
    if project.status != ProjectStatus.pledged:
        return project, False
    if confirm:
        project.status, project.confirmed_at = ProjectStatus.in_progress, now
        need.status = NeedStatus.pledged if need.status == NeedStatus.open else need.status
    else:
        project.status = ProjectStatus.declined
    await session.flush()
    key = "cobuild.project.confirmed" if confirm else "cobuild.project.declined"
    await _tell_liaisons(session, project=project, key=key, settings=settings)
    return project, True


async def require_working(
    session: AsyncSession, *, project_id: int, actor: Person
) -> tuple[Project, Need]:
    """A project in progress that the actor acts for, or a refusal."""
    project, need = await get_project(session, project_id=project_id)
    await rights.require_liaison(session, person=actor, unit_id=project.unit_id)
    if project.status != ProjectStatus.in_progress:
        raise InvalidTransition("cobuild.project.not_in_progress", id=project.id)
    return project, need


def _timeline_events(
    request_ids: list[int], *, kind: str, note: str, now: datetime, actor: Person, unit_id: int
) -> list[RequestEvent]:
    return [
        RequestEvent(
            request_id=request_id,
            at=now,
            actor_id=actor.id,
            kind=kind,
            note=note,
            visibility=Visibility.public,
            unit_id=unit_id,
        )
        for request_id in request_ids
    ]


async def report_progress(
    session: AsyncSession,
    *,
    project_id: int,
    text: str,
    photo_file_id: str | None,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[ProjectUpdate, int]:
    """A liaison reports progress: residents in scope get it (with the photo), the linked
    requests' timelines show it. Returns the update and how many people it reached."""
    project, need = await require_working(session, project_id=project_id, actor=actor)
    text = text.strip()[:2000]
    if not text and not photo_file_id:
        raise InvalidTransition("cobuild.progress.empty")
    update = ProjectUpdate(
        project_id=project.id, at=now, text=text, photo_file_id=photo_file_id, by_id=actor.id
    )
    session.add(update)
    unit = await session.get(ReportingUnit, project.unit_id)
    assert unit is not None  # foreign key
    linked = [r.id for r in await needs.linked_requests(session, need_id=need.id)]
    note = f"{unit.name_zh}：{text}" if text else unit.name_zh
    session.add_all(
        _timeline_events(
            linked,
            kind="cobuild_progress",
            note=note,
            now=now,
            actor=actor,
            unit_id=need.community_id,
        )
    )
    await session.flush()

    def render(loc: str) -> Outgoing:
        body = t(loc, "cobuild.progress.push", unit=unit.name(loc), need=need.title, text=text)
        return Outgoing(text=body, photo=photo_file_id)

    rows = await notify.notify_where(
        session,
        kind="cobuild",
        who=ChannelIdentity.person_id.in_(needs.residents_in_scope(need)),
        render=render,
        settings=settings,
    )
    return update, len({row.person_id for row in rows})


async def list_working(session: AsyncSession, *, actor: Person) -> list[tuple[Project, Need]]:
    """The projects in progress of the units the actor acts for, with their needs, oldest
    first: those a progress report may be about."""
    if actor.deleted_at is not None:
        return []
    units = select(UnitLiaison.unit_id).where(UnitLiaison.person_id == actor.id)
    query = (
        select(Project, Need)
        .join(Need, Need.id == Project.need_id)
        .where(Project.unit_id.in_(units), Project.status == ProjectStatus.in_progress)
        .order_by(Project.id)
    )
    return [(p, n) for p, n in (await session.execute(query)).all()]


async def list_for_community(
    session: AsyncSession, *, community_id: int
) -> list[tuple[Project, Need, ReportingUnit]]:
    """The community's projects (declined ones left out) with their needs and units, newest
    first."""
    query = (
        select(Project, Need, ReportingUnit)
        .join(Need, Need.id == Project.need_id)
        .join(ReportingUnit, ReportingUnit.id == Project.unit_id)
        .where(Need.community_id == community_id, Project.status != ProjectStatus.declined)
        .order_by(Project.id.desc())
    )
    return [(p, n, u) for p, n, u in (await session.execute(query)).all()]
