"""When a project's grading closes (群众评卷 ends), the result (average and how many households)
goes to those it concerns: the residents who graded, the unit's liaisons and the community's
admins. Sent once per project: a `ScheduleMark` ("cobuild.grading", project, "closed") is the
claim, so re-runs and other workers send nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cobuild import grades, rights
from bot.services.comms import notify
from bot.services.dispatch.reminders import claim
from bot.sweeps import sweep
from models import ScheduleMark
from models.cobuild import Need, Project, ProjectGrade, ProjectStatus, ReportingUnit, UnitLiaison

JOB = "cobuild.grading"
PERIOD = "closed"


async def _audience(session: AsyncSession, *, project: Project, need: Need) -> list[int]:
    """Who hears the result: graders, the unit's liaisons, the community's admins."""
    graders = select(ProjectGrade.person_id).where(
        ProjectGrade.project_id == project.id, ProjectGrade.person_id.is_not(None)
    )
    liaisons = select(UnitLiaison.person_id).where(UnitLiaison.unit_id == project.unit_id)
    people = set((await session.execute(graders)).scalars())
    people |= set((await session.execute(liaisons)).scalars())
    people |= set(await rights.community_admins(session, community_id=need.community_id))
    return sorted(p for p in people if p is not None)


def _card(
    project: Project, need: Need, unit: ReportingUnit, result: grades.Result | None, locale: str
) -> Outgoing:
    score = (
        t(locale, "cobuild2.grading.result", average=result.average, households=result.households)
        if result
        else t(locale, "cobuild2.grading.nobody")
    )
    text = t(
        locale,
        "cobuild2.grading.closed",
        id=project.id,
        unit=unit.name(locale),
        need=need.title,
        result=score,
    )
    return Outgoing(text=text)


async def announce(
    session: AsyncSession, *, project: Project, now: datetime, settings: Settings
) -> bool:
    """Send the project's closed grading's result once; False when it was sent already."""
    if not await claim(session, job=JOB, subject_id=project.id, period=PERIOD, now=now):
        return False
    need = await session.get(Need, project.need_id)
    unit = await session.get(ReportingUnit, project.unit_id)
    assert need is not None and unit is not None  # foreign keys
    result = await grades.result(session, project=project, now=now)
    await notify.notify_persons(
        session,
        kind="cobuild",
        person_ids=await _audience(session, project=project, need=need),
        render=lambda loc: _card(project, need, unit, result, loc),
        settings=settings,
    )
    return True


@sweep(
    "cobuild_grading",
    description="a project's grading closed: its result to those concerned",
    batched=True,
)
async def closed_gradings(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 100
) -> list[int]:
    """Announce up to `limit` closed gradings not announced yet; returns the projects' ids."""
    announced = exists().where(
        ScheduleMark.job == JOB,
        ScheduleMark.subject_id == Project.id,
        ScheduleMark.period == PERIOD,
    )
    query = (
        select(Project)
        .where(
            Project.status == ProjectStatus.done,
            Project.grading_closes_at.is_not(None),
            Project.grading_closes_at <= now,
            ~announced,
        )
        .order_by(Project.grading_closes_at, Project.id)
        .limit(limit)
    )
    done = []
    for project in (await session.execute(query)).scalars().all():
        if await announce(session, project=project, now=now, settings=settings):
            done.append(project.id)
    return done
