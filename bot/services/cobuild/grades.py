"""The residents grade (群众评卷): when a project completes, the households in its scope are
asked for 1-5 and a comment, one grade per household; grades count only once the grading has
closed. The units' ranking weighs the residents' grade, completion on time and the members'
confirmed hours (`cobuild.weight_*`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import actions, needs
from bot.services.cobuild.projects import get_project
from bot.services.comms import notify
from models import ChannelIdentity, Person
from models.cobuild import (
    CobuildPairing,
    Member,
    MemberStatus,
    Need,
    Project,
    ProjectGrade,
    ProjectStatus,
    ReportingUnit,
    ServiceHours,
)

SCORES = (1, 2, 3, 4, 5)


def grading_card(project: Project, need: Need, unit: ReportingUnit, locale: str) -> Outgoing:
    """The push asking a household to grade a completed project, with five buttons."""
    text = t(
        locale,
        "cobuild.grade.ask",
        unit=unit.name(locale),
        need=need.title,
        note=project.completion_note,
    )
    row = [actions.GRADE.button("⭐" * score, project.id, score) for score in SCORES]
    return Outgoing(text=text, buttons=[row[:3], row[3:]])


async def ask_residents(
    session: AsyncSession, *, project: Project, need: Need, settings: Settings
) -> None:
    """Ask everyone living in the project's scope to grade it."""
    unit = await session.get(ReportingUnit, project.unit_id)
    assert unit is not None  # foreign key
    await notify.notify_where(
        session,
        kind="cobuild",
        who=ChannelIdentity.person_id.in_(needs.residents_in_scope(need)),
        render=lambda loc: grading_card(project, need, unit, loc),
        settings=settings,
    )


async def grade(
    session: AsyncSession, *, project_id: int, score: int, person: Person, now: datetime
) -> tuple[ProjectGrade | None, Project]:
    """A resident in scope grades a completed project for their household while grading is
    open; None when their household already has."""
    project, need = await get_project(session, project_id=project_id)
    if score not in SCORES:
        raise InvalidTransition("cobuild.grade.score")
    if not await needs.in_scope(session, need=need, person=person):
        raise NotAllowed("core.not_allowed")
    closes = project.grading_closes_at
    if project.status != ProjectStatus.done or closes is None or now >= closes:
        raise InvalidTransition("cobuild.grade.closed")
    household = needs.household_of(person)
    query = select(ProjectGrade.id).where(
        ProjectGrade.project_id == project.id, ProjectGrade.household == household
    )
    if (await session.execute(query)).first() is not None:
        return None, project
    row = ProjectGrade(project_id=project.id, household=household, person_id=person.id, score=score)
    row.created_at = now
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same household at the same moment
        return None, project
    return row, project


async def add_comment(
    session: AsyncSession, *, grade_id: int, text: str, person: Person, now: datetime
) -> bool:
    """The grader's comment on their grade, while grading is open."""
    row = await session.get(ProjectGrade, grade_id)
    project = await session.get(Project, row.project_id) if row else None
    if row is None or project is None or row.person_id != person.id:
        raise NotAllowed("core.not_allowed")
    if project.grading_closes_at is None or now >= project.grading_closes_at:
        raise InvalidTransition("cobuild.grade.closed")
    row.comment = text.strip()[:1000]
    await session.flush()
    return True


@dataclass(frozen=True, slots=True)
class Result:
    """A project's grade once grading has closed."""

    average: float
    households: int


async def result(session: AsyncSession, *, project: Project, now: datetime) -> Result | None:
    """The households' average grade, or None while grading is open (or nobody graded)."""
    if project.grading_closes_at is None or now < project.grading_closes_at:
        return None
    query = select(func.avg(ProjectGrade.score), func.count()).where(
        ProjectGrade.project_id == project.id
    )
    average, count = (await session.execute(query)).one()
    return Result(round(float(average), 2), int(count)) if count else None


@dataclass(frozen=True, slots=True)
class Standing:
    """A unit's place in a ranking and what it is made of."""

    unit: ReportingUnit
    grade: float | None  # the average of its closed projects' grades
    on_time: float | None  # the share of its completed projects done by their due date
    hours: float  # its members' confirmed hours
    score: float


async def _unit_hours(session: AsyncSession, unit_ids: list[int]) -> dict[int, float]:
    query = (
        select(Member.unit_id, func.sum(ServiceHours.hours))
        .join(ServiceHours, ServiceHours.member_id == Member.id)
        .where(
            Member.unit_id.in_(unit_ids),
            Member.status == MemberStatus.confirmed,
            ServiceHours.confirmed_at.is_not(None),
        )
        .group_by(Member.unit_id)
    )
    return {uid: float(total or 0) for uid, total in (await session.execute(query)).all()}


def _on_time(done: list[Project], settings: Settings) -> float | None:
    """The share of completed projects with a due date that were done by it (local dates)."""
    timed = [
        (p.completed_at.astimezone(settings.tz).date(), p.due_on)
        for p in done
        if p.due_on is not None and p.completed_at is not None
    ]
    return sum(1 for done_on, due in timed if done_on <= due) / len(timed) if timed else None


async def ranking(
    session: AsyncSession, *, now: datetime, settings: Settings, community_id: int | None = None
) -> list[Standing]:
    """Units ranked by the weighted score, best first: of one community (units paired with it,
    its projects only) or of the district."""
    units_query = select(ReportingUnit).order_by(ReportingUnit.code)
    projects_query = select(Project).where(Project.status == ProjectStatus.done)
    if community_id is not None:
        paired = select(CobuildPairing.unit_id).where(CobuildPairing.community_id == community_id)
        units_query = units_query.where(ReportingUnit.id.in_(paired))
        in_community = select(Need.id).where(Need.community_id == community_id)
        projects_query = projects_query.where(Project.need_id.in_(in_community))
    units = list((await session.execute(units_query)).scalars())
    done = list((await session.execute(projects_query)).scalars())
    hours = await _unit_hours(session, [u.id for u in units])
    most_hours = max(hours.values(), default=0.0) or 1.0
    weights = settings.cobuild
    standings = []
    for unit in units:
        mine = [p for p in done if p.unit_id == unit.id]
        results = [r for p in mine if (r := await result(session, project=p, now=now))]
        grade_avg = sum(r.average for r in results) / len(results) if results else None
        on_time = _on_time(mine, settings)
        score = (
            weights.weight_grade * ((grade_avg or 0) / 5)
            + weights.weight_on_time * (on_time or 0)
            + weights.weight_hours * (hours.get(unit.id, 0.0) / most_hours)
        )
        standings.append(
            Standing(unit, grade_avg, on_time, hours.get(unit.id, 0.0), round(score, 3))
        )
    return sorted(standings, key=lambda s: (-s.score, s.unit.code))
