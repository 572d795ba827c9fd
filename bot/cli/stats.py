"""`redgrid stats` and `redgrid export`: the admins' figures and spreadsheets, for operators.

Operator output is English, like the rest of the CLI. The operator works on the server with the
database itself, so `export --show-phones` is theirs to choose (masked by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, in_transaction, settings_or_exit

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services.reports import stats
    from models import OrgUnit


def _pct(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else "-"


def _table(report: stats.Report) -> Table:
    from rich.table import Table

    from bot.services.reports import stats

    table = Table(title=f"{report.unit.code} {report.period}")
    columns = (
        "unit",
        "received",
        "on time",
        "resolved",
        "overdue",
        "response",
        "resolution",
        "satisfaction",
        "evaluated",
        "participation",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "unit" else "right")
    total = stats.UnitStats(report.unit, report.total)
    for row in [*report.rows, total]:
        c = row.counts
        name = "TOTAL" if row is total else row.unit.code + (" (own)" if row.own else "")
        table.add_row(
            name,
            *(str(n) for n in (c.received, c.accepted_on_time, c.resolved, c.overdue)),
            _pct(c.response_rate),
            _pct(c.resolution_rate),
            _pct(c.satisfaction_rate),
            str(c.evaluated),
            _pct(c.participation_rate),
        )
    return table


async def _unit(session: AsyncSession, code: str | None) -> OrgUnit:
    from bot.services.dispatch import routing
    from bot.services.org import rights

    if code is None:
        return await routing.root_unit(session)
    return await rights.get_unit_by_code(session, code=code)


def _ranking(report: stats.Report) -> Table:
    from rich.table import Table

    ranking = Table(title="ranking (composite score)")
    for column in ("#", "kind", "unit", "score", "received"):
        ranking.add_column(column)
    for position, row in enumerate(report.ranking, start=1):
        ranking.add_row(
            str(position),
            row.unit.kind.value,
            row.unit.code,
            f"{100 * (row.score or 0):.1f}",
            str(row.counts.received),
        )
    return ranking


def stats_command(
    unit: str | None = typer.Option(None, "--unit", help="Unit code (default: the district)."),
    period: str | None = typer.Option(None, "--period", help="2026-11 or 2026 (default: now)."),
) -> None:
    """Print the three rates per child unit and the ranking."""
    from bot.services.reports import stats
    from models import utcnow

    settings = settings_or_exit()

    async def work(session: AsyncSession) -> stats.Report:
        found = await _unit(session, unit)
        return await stats.report(
            session, unit=found, period=period, now=utcnow(), settings=settings
        )

    report = in_transaction(settings, work)
    console.print(_table(report))
    console.print(_ranking(report))


def export_command(
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write."),
    unit: str | None = typer.Option(None, "--unit", help="Unit code (default: the district)."),
    period: str | None = typer.Option(None, "--period", help="2026-11 or 2026 (default: now)."),
    kind: str = typer.Option("requests", "--kind", help="requests | service | cobuild"),
    show_phones: bool = typer.Option(False, "--show-phones", help="Do not mask phones."),
) -> None:
    """Write the requests (with events), the volunteer service records or the dual-reporting
    workbook (units, members, hours, needs, projects, grades) as .xlsx."""
    from bot import files
    from bot.services.cobuild import workbook
    from bot.services.reports import export, stats
    from models import utcnow

    if kind not in ("requests", "service", "cobuild"):
        err_console.print("[red]--kind must be requests, service or cobuild[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> bytes:
        found = await _unit(session, unit)
        start, end, _label = stats.period_bounds(period, now=utcnow(), tz=settings.tz)
        if kind == "cobuild":
            return await workbook.cobuild_workbook(
                session, unit=found, start=start, end=end, now=utcnow(), settings=settings
            )
        if kind == "service":
            return await export.service_workbook(
                session, unit=found, start=start, end=end, settings=settings
            )
        return await export.requests_workbook(
            session, unit=found, start=start, end=end, show_phones=show_phones, settings=settings
        )

    content = in_transaction(settings, work)
    files.write_private(out, content)
    console.print(f"wrote {out} ({len(content)} bytes)")


def register(app: typer.Typer) -> None:
    """Add the stats and export commands to the app."""
    app.command("stats")(stats_command)
    app.command("export")(export_command)
