"""Scheduled sweeps (APScheduler 3, AsyncIOScheduler): deadlines, reminders, whistles, digests.

Every job is an idempotent sweep over the database, never "one job per request", so nothing is
lost on a restart and several workers may run the same schedule: rows are claimed with
FOR UPDATE SKIP LOCKED or with a unique `ScheduleMark`. Each run is its own unit of work: the
wrapper opens the session and commits; services never commit. A batched sweep repeats, one
transaction per batch, while a batch comes back full. Times and on/off per job are in
`config.yaml` (`scheduler.<job>`); no job store is shared between workers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import JobSettings, SchedulerSettings, Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sweep = Callable[[AsyncSession, datetime, Settings], Awaitable[int]]
BATCH = 100
MAX_BATCHES = 50  # a run stops after this many full batches; the next run goes on


class Metrics(Protocol):
    """What the scheduler reports to (bot.web.metrics.Metrics)."""

    last_sweep_at: datetime | None

    def count_error(self, kind: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Sweep
    batched: bool  # repeat while a run handled a full batch
    description: str


async def _deadlines(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.dispatch import escalation

    return len(await escalation.sweep_overdue(session, now=now, settings=settings, limit=BATCH))


async def _close_unrated(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.dispatch import escalation

    return len(await escalation.close_unrated(session, now=now, settings=settings, limit=BATCH))


async def _reminders(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.dispatch import reminders

    return len(await reminders.remind_due(session, now=now, settings=settings, limit=BATCH))


async def _whistles(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.whistles import summons

    found = await summons.escalate_unacknowledged(session, now=now, settings=settings, limit=BATCH)
    return len(found)


async def _volunteer_widen(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.volunteers import tasks

    return len(await tasks.widen_unclaimed(session, now=now, settings=settings, limit=BATCH))


async def _upkeep(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.dispatch import upkeep

    return len(await upkeep.create_due_upkeep(session, now=now, settings=settings))


async def _resident_digest(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.reports import digests

    return await digests.resident_digest(session, now=now, settings=settings)


async def _queue_digest(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.reports import digests

    return await digests.queue_digest(session, now=now, settings=settings)


async def _volunteer_reminder(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.reports import digests

    return await digests.volunteer_reminder(session, now=now, settings=settings)


async def _weekly_report(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.reports import digests

    return await digests.weekly_report(session, now=now, settings=settings)


async def _meeting_reminders(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.meetings import reminders as meeting_reminders

    return await meeting_reminders.send_meeting_reminders(session, now=now, settings=settings)


async def _close_polls(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.meetings import ballots

    return await ballots.close_due_polls(session, now=now, settings=settings)


async def _expire_exports(_session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot import files

    # Exports carry residents' names and numbers: they live only as long as the download needs.
    before = now - timedelta(hours=settings.exports.keep_hours)
    return await asyncio.to_thread(files.expire, settings.stats.export_dir, before=before)


async def _upload_sweep(session: AsyncSession, now: datetime, settings: Settings) -> int:
    from bot.services.storage import attachments

    return await attachments.sweep_orphans(session, now=now, settings=settings)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("deadlines", _deadlines, True, "overdue requests climb one level"),
        Job("reminders", _reminders, True, "remind owners before deadlines"),
        Job("whistles", _whistles, True, "unacknowledged whistles go to the street"),
        Job("close_unrated", _close_unrated, True, "close resolved requests left unrated"),
        Job("volunteer_widen", _volunteer_widen, True, "unclaimed tasks go to more teams"),
        Job("upkeep", _upkeep, False, "create the period's steward upkeep requests"),
        Job("resident_digest", _resident_digest, False, "residents: what changed yesterday"),
        Job("queue_digest", _queue_digest, False, "staff: new, due today, overdue"),
        Job("volunteer_reminder", _volunteer_reminder, False, "volunteers: tasks they hold"),
        Job("weekly_report", _weekly_report, False, "admins: the week per child unit"),
        Job("meeting_reminders", _meeting_reminders, False, "the day and hour before meetings"),
        Job("close_polls", _close_polls, False, "close polls whose voting time is over"),
        Job("expire_exports", _expire_exports, False, "delete exports past exports.keep_hours"),
        Job("upload_sweep", _upload_sweep, False, "delete uploads no row refers to"),
    )
}


def job_settings(settings: Settings, name: str) -> JobSettings:
    """The job's settings; a section that sets no time keeps the job's default time."""
    configured: JobSettings = getattr(settings.scheduler, name)
    if configured.every_seconds is None and configured.at is None:
        default: JobSettings = SchedulerSettings.model_fields[name].default
        return configured.model_copy(
            update={
                "every_seconds": default.every_seconds,
                "at": default.at,
                "weekday": configured.weekday or default.weekday,
            }
        )
    return configured


def trigger_for(config: JobSettings, settings: Settings) -> BaseTrigger:
    """An interval trigger (`every_seconds`) or a daily/weekly cron trigger (`at`, `weekday`)."""
    if config.every_seconds is not None:
        return IntervalTrigger(seconds=config.every_seconds, timezone=settings.tz)
    assert config.at is not None
    hour, minute = (int(part) for part in config.at.split(":"))
    return CronTrigger(
        hour=hour, minute=minute, day_of_week=config.weekday or "*", timezone=settings.tz
    )


def enabled_jobs(settings: Settings) -> list[str]:
    """The names of the jobs switched on."""
    if not settings.scheduler.enabled:
        return []
    return [name for name in JOBS if job_settings(settings, name).enabled]


async def run_job(
    name: str,
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    metrics: Metrics | None = None,
) -> int:
    """Run one job now, each batch in its own transaction; returns how many items it handled."""
    job = JOBS[name]
    total = 0
    for _ in range(MAX_BATCHES if job.batched else 1):
        now = clock()
        async with sessions() as session, session.begin():
            handled = await job.run(session, now, settings)
        total += handled
        if handled < BATCH:
            break
    if metrics is not None and name == "deadlines":
        metrics.last_sweep_at = clock()
    return total


def _scheduled(
    name: str,
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    metrics: Metrics | None,
) -> Callable[[], Awaitable[None]]:
    async def scheduled_run() -> None:
        try:
            handled = await run_job(
                name, sessions=sessions, settings=settings, clock=clock, metrics=metrics
            )
        except Exception:
            # Logged and counted; the next run retries: every sweep is idempotent.
            log.exception("scheduled job %s failed", name)
            if metrics is not None:
                metrics.count_error(f"job_{name}")
            return
        if handled:
            log.info("scheduled job %s handled %d", name, handled)

    return scheduled_run


def build_scheduler(
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    metrics: Metrics | None = None,
) -> AsyncIOScheduler:
    """A scheduler with the enabled jobs registered (not started: call `.start()` in a loop)."""
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    for name in enabled_jobs(settings):
        scheduler.add_job(
            _scheduled(name, sessions=sessions, settings=settings, clock=clock, metrics=metrics),
            trigger_for(job_settings(settings, name), settings),
            id=name,
            name=name,
            max_instances=1,  # a slow run is never overlapped by the next one
            coalesce=True,  # runs missed while the process slept collapse into one
            misfire_grace_time=300,
            replace_existing=True,
        )
    return scheduler


def next_runs(settings: Settings, *, now: datetime) -> list[tuple[str, bool, str, Any]]:
    """Every job: (name, enabled, schedule, next run or None), for `redgrid jobs list`."""
    on = set(enabled_jobs(settings))
    rows = []
    for name in JOBS:
        config = job_settings(settings, name)
        trigger = trigger_for(config, settings)
        when = trigger.get_next_fire_time(None, now.astimezone(settings.tz)) if name in on else None
        if config.every_seconds is not None:
            schedule = f"every {config.every_seconds}s"
        else:
            schedule = f"{config.weekday or 'daily'} {config.at}"
        rows.append((name, name in on, schedule, when))
    return rows
