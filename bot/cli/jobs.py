"""`redgrid jobs`: the scheduled sweeps, their next run, and running one now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, settings_or_exit, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

app = typer.Typer(help="Scheduled jobs (sweeps, reminders, digests).", no_args_is_help=True)


@app.command("list")
def list_jobs() -> None:
    """Show every job, whether it is on, its schedule and its next run (local time)."""
    from rich.table import Table

    from bot import scheduler
    from models import utcnow

    settings = settings_or_exit()
    table = Table("job", "on", "schedule", "next run", "what")
    for name, enabled, schedule, when in scheduler.next_runs(settings, now=utcnow()):
        table.add_row(
            name,
            "yes" if enabled else "no",
            schedule,
            when.strftime("%Y-%m-%d %H:%M %Z") if when is not None else "-",
            scheduler.JOBS[name].description,
        )
    console.print(table)


@app.command("run")
def run_job(
    name: str = typer.Argument(..., help="The job's name (see `redgrid jobs list`)."),
) -> None:
    """Run one job now against the configured database, even when it is switched off."""
    from bot import scheduler
    from models import utcnow

    if name not in scheduler.JOBS:
        err_console.print(f"[red]no job {name!r}; jobs: {', '.join(scheduler.JOBS)}[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()

    async def _run(sessions: async_sessionmaker[AsyncSession]) -> int:
        return await scheduler.run_job(name, sessions=sessions, settings=settings, clock=utcnow)

    handled = with_sessions(settings, _run)
    console.print(f"{name}: handled {handled}", highlight=False)
