"""Scheduled sweeps (APScheduler 3, AsyncIOScheduler): escalation, reminders, whistles, digests.

Each sweep is declared beside its domain with `@bot.sweeps.sweep(...)`; this module imports
the service packages, which registers them, and schedules what is registered. Every job is an
idempotent sweep over the database, never "one job per request", so nothing is lost on a
restart. With several workers on one PostgreSQL database each job runs in one of them: a
run first holds the job's lease (bot.workers: kept while its holder's heartbeat lasts, taken
over by another worker when it stops), and a worker that does not hold it skips the run; the
sweeps stay idempotent besides (rows are claimed with FOR UPDATE SKIP LOCKED or with a unique
`ScheduleMark`), so a run that overlaps a takeover does no harm. Each run is its own unit of
work: the scheduler opens the session and commits; services never commit. A batched sweep
repeats, one transaction per batch, while a batch comes back full. Times and on/off per job
are in `config.yaml` (`scheduler.<job>`); no job store is shared between workers.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import JobSettings, SchedulerSettings, Settings
from bot.sweeps import REGISTRY, Sweep, handled
from bot.workers import Workers

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH = 100
MAX_BATCHES = 50  # a run stops after this many full batches; the next run goes on


class Metrics(Protocol):
    """What the scheduler reports to (bot.web.metrics.Metrics)."""

    last_sweep_at: datetime | None

    def count_error(self, kind: str) -> None: ...

    def count_sweep(self, name: str) -> None: ...


def _collect() -> dict[str, Sweep]:
    """Import every service module, so each `@sweep` beside its domain registers itself."""
    import bot.services

    for module in pkgutil.walk_packages(bot.services.__path__, "bot.services."):
        importlib.import_module(module.name)
    # Listed in the order of their settings (config.yaml); a sweep without settings is a bug.
    fields = SchedulerSettings.model_fields.items()
    keys = [key for key, field in fields if isinstance(field.default, JobSettings)]
    if set(keys) != set(REGISTRY):
        raise RuntimeError(f"sweeps and scheduler settings differ: {set(keys) ^ set(REGISTRY)}")
    return {key: REGISTRY[key] for key in keys}


JOBS: dict[str, Sweep] = _collect()


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
    if job.own_sessions:
        total = handled(await job.run(sessions, now=clock(), settings=settings))
    else:
        total = 0
        for _ in range(MAX_BATCHES if job.batched else 1):
            limit = {"limit": BATCH} if job.batched else {}
            now = clock()
            async with sessions() as session, session.begin():
                count = handled(await job.run(session, now=now, settings=settings, **limit))
            total += count
            if count < BATCH:
                break
    if metrics is not None and job.heartbeat:
        metrics.last_sweep_at = clock()
    return total


def _scheduled(
    name: str,
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    metrics: Metrics | None,
    workers: Workers | None,
) -> Callable[[], Awaitable[None]]:
    async def scheduled_run() -> None:
        try:
            if workers is not None and not await workers.hold(lease_name(name)):
                return  # another worker runs this job
            count = await run_job(
                name, sessions=sessions, settings=settings, clock=clock, metrics=metrics
            )
        except Exception:
            # Logged and counted; the next run retries: every sweep is idempotent.
            log.exception("scheduled job %s failed", name)
            if metrics is not None:
                metrics.count_error(f"job_{name}")
            return
        if metrics is not None:
            metrics.count_sweep(name)
        if count:
            log.info("scheduled job %s handled %d", name, count)

    return scheduled_run


def lease_name(job: str) -> str:
    """The name of a job's lease among the workers."""
    return f"job:{job}"


def build_scheduler(
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    metrics: Metrics | None = None,
    workers: Workers | None = None,
) -> AsyncIOScheduler:
    """A scheduler with the enabled jobs registered (not started: call `.start()` in a loop).
    With `workers`, each run happens only in the worker holding the job's lease."""
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    for name in enabled_jobs(settings):
        job = _scheduled(
            name,
            sessions=sessions,
            settings=settings,
            clock=clock,
            metrics=metrics,
            workers=workers,
        )
        scheduler.add_job(
            job,
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
