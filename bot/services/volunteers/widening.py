"""The sweep that widens unclaimed volunteer tasks: a task nobody claimed in time goes to the
other paired teams (`volunteers.widen_after_minutes`), then its owner unit is told
(`volunteers.tell_owner_after_minutes`). Claimed with FOR UPDATE SKIP LOCKED; each task's
`stage` and `pushed_at` keep it from being pushed twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.comms import notify
from bot.services.org import scope
from bot.services.volunteers import tasks
from bot.sweeps import sweep
from models import TaskStatus, VolunteerTask


@sweep("volunteer_widen", description="unclaimed tasks go to more teams", batched=True)
async def widen_unclaimed(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 100
) -> list[VolunteerTask]:
    """Sweep: open tasks unclaimed too long go to other paired teams, then to the owner unit."""
    cfg = settings.volunteers
    widen_cutoff = now - timedelta(minutes=cfg.widen_after_minutes)
    tell_cutoff = now - timedelta(minutes=cfg.tell_owner_after_minutes)
    query = (
        select(VolunteerTask)
        .where(
            VolunteerTask.status == TaskStatus.open,
            VolunteerTask.stage < 2,
            VolunteerTask.pushed_at <= max(widen_cutoff, tell_cutoff),
        )
        .order_by(VolunteerTask.pushed_at, VolunteerTask.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    acted = []
    for task in (await session.execute(query)).scalars().all():
        assert task.pushed_at is not None
        if task.stage == 0 and task.pushed_at <= widen_cutoff:
            task.stage = 1
            already = await tasks.pushed_people(session, task_id=task.id)
            await tasks.push(
                session, task=task, now=now, settings=settings, exclude=sorted(already)
            )
            acted.append(task)
        elif task.stage == 1 and task.pushed_at <= tell_cutoff:
            task.stage, task.pushed_at = 2, now
            await _tell_owner(session, task=task, settings=settings)
            acted.append(task)
    await session.flush()
    return acted


async def _tell_owner(session: AsyncSession, *, task: VolunteerTask, settings: Settings) -> None:
    request = await tasks.request_of(session, task)
    unit_id = task.owner_unit_id or (request.owner_unit_id if request else None)
    if unit_id is None:
        return
    reference = request.reference if request else "-"
    await notify.notify_unit(
        session,
        kind="task",
        unit_id=unit_id,
        roles=scope.STAFF_ROLES,
        render=lambda loc: tasks.notice("volunteer.notify.unclaimed", loc, reference=reference),
        request_id=request.id if request else None,
        settings=settings,
    )
