"""The scheduler: which jobs it registers, when they run, one unit of work per run, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import scheduler
from bot.cli import app
from bot.cli.common import console
from models import Request, RequestEvent, RequestStatus, ScheduleMark
from tests import factories as f
from tests.conftest import Clock, TestDB

runner = CliRunner()


def test_registers_the_enabled_jobs_only() -> None:
    config = f.settings(
        scheduler={
            "weekly_report": {"enabled": False},
            "resident_digest": {"enabled": False},
            "queue_digest": {"at": "09:15"},
        }
    )
    built = scheduler.build_scheduler(
        sessions=None,  # type: ignore[arg-type]  # not started: nothing runs
        settings=config,
        clock=lambda: f.NOW,
    )
    ids = {job.id for job in built.get_jobs()}
    assert ids == set(scheduler.JOBS) - {"weekly_report", "resident_digest"}
    deadlines = built.get_job("escalate")
    assert isinstance(deadlines.trigger, IntervalTrigger)
    assert deadlines.trigger.interval == timedelta(seconds=60)
    queue = built.get_job("queue_digest")
    assert isinstance(queue.trigger, CronTrigger)
    fire = queue.trigger.get_next_fire_time(None, datetime(2026, 3, 2, 0, 0, tzinfo=config.tz))
    assert (fire.hour, fire.minute) == (9, 15)


def test_switched_off_scheduler_registers_nothing() -> None:
    config = f.settings(scheduler={"enabled": False})
    built = scheduler.build_scheduler(sessions=None, settings=config, clock=lambda: f.NOW)  # type: ignore[arg-type]
    assert built.get_jobs() == []


def test_a_section_without_a_time_keeps_the_default_time() -> None:
    config = f.settings(scheduler={"deadlines": {"enabled": True}, "weekly_report": {}})
    assert scheduler.job_settings(config, "escalate").every_seconds == 60
    weekly = scheduler.job_settings(config, "weekly_report")
    assert (weekly.at, weekly.weekday) == ("08:30", "mon")


def test_next_runs_in_local_time() -> None:
    config = f.settings(scheduler={"upkeep": {"enabled": False}})
    rows = {row[0]: row for row in scheduler.next_runs(config, now=f.NOW)}  # 17:00 in Jimo
    _, on, schedule, when = rows["weekly_report"]
    assert on and schedule == "mon 08:30"
    assert when.isoformat() == "2026-03-09T08:30:00+08:00"  # NOW is a Monday afternoon
    assert rows["resident_digest"][3].isoformat() == "2026-03-03T07:30:00+08:00"
    assert rows["upkeep"][1:] == (False, "daily 06:00", None)


async def test_run_job_commits_each_batch_and_repeats_nothing(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        requests = [await f.request(session, org=org) for _ in range(3)]
    clock = Clock(f.NOW + timedelta(minutes=95))
    handled = [
        await scheduler.run_job("reminders", sessions=db.sessions, settings=config, clock=clock)
        for _ in range(2)
    ]
    assert handled == [3, 0]
    clock.advance(hours=1)
    for _ in range(2):
        await scheduler.run_job("escalate", sessions=db.sessions, settings=config, clock=clock)
    async with db.sessions() as session:
        ids = [r.id for r in requests]
        count = (
            select(func.count()).select_from(RequestEvent).where(RequestEvent.request_id.in_(ids))
        )
        reminders = await session.execute(count.where(RequestEvent.kind == "reminder"))
        escalations = await session.execute(count.where(RequestEvent.kind == "escalate"))
        assert (reminders.scalar_one(), escalations.scalar_one()) == (3, 3)
        statuses = await session.execute(select(Request.status).where(Request.id.in_(ids)))
        assert set(statuses.scalars()) == {RequestStatus.escalated}


async def test_a_batched_job_repeats_while_batches_are_full(
    db: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = f.settings()
    monkeypatch.setattr(scheduler, "BATCH", 2)
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        for _ in range(5):
            await f.request(session, org=org)
    clock = Clock(f.NOW + timedelta(minutes=95))
    handled = await scheduler.run_job(
        "reminders", sessions=db.sessions, settings=config, clock=clock
    )
    assert handled == 5
    async with db.sessions() as session:
        marks = await session.execute(select(func.count()).select_from(ScheduleMark))
        assert marks.scalar_one() >= 5


class _Metrics:
    def __init__(self) -> None:
        self.last_sweep_at: datetime | None = None
        self.errors: list[str] = []

    def count_error(self, kind: str) -> None:
        self.errors.append(kind)

    def count_sweep(self, name: str) -> None:
        pass


async def test_metrics_see_the_sweep(db: TestDB) -> None:
    metrics = _Metrics()
    clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await scheduler.run_job(
        "escalate", sessions=db.sessions, settings=f.settings(), clock=clock, metrics=metrics
    )
    assert metrics.last_sweep_at == clock.now


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "jobs.sqlite3"
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setattr(console, "_width", 200)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return path


def test_jobs_list_and_run(cli_database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_SCHEDULER__WEEKLY_REPORT__ENABLED", "false")
    listed = runner.invoke(app, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    lines = {line.split("│")[1].strip(): line for line in listed.output.splitlines() if "│" in line}
    assert set(scheduler.JOBS) <= set(lines)
    assert "│ yes " in lines["escalate"] and "every 60s" in lines["escalate"]
    assert "│ no " in lines["weekly_report"] and "│ -" in lines["weekly_report"]
    ran = runner.invoke(app, ["jobs", "run", "weekly_report"])  # runs even when switched off
    assert ran.exit_code == 0, ran.output
    assert "weekly_report: handled 0" in ran.output
    unknown = runner.invoke(app, ["jobs", "run", "nope"])
    assert unknown.exit_code == 2


def test_the_sweep_indexes_cover_exactly_the_running_statuses() -> None:
    """The partial indexes' status list (SQL text) is the workflow's MOVABLE set."""
    from bot.services.cases import transitions
    from models.request import _RUNNING

    assert {s.strip("' ") for s in _RUNNING.split(",")} == {s.value for s in transitions.MOVABLE}
