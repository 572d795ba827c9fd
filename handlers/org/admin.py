"""Admins: /stats, /export, /grant, /revoke (invites: handlers/admin_invite.py; broadcasts:
handlers/admin_broadcast.py).

Every command re-checks, against the database, that the person administers the unit named
(or, with no unit named, their own highest unit); each action is written to the audit log.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from bot import files
from bot.buttons import parse_id
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.services.cobuild import workbook
from bot.services.org import rights, scope
from bot.services.reports import charts, export, stats
from models import OrgUnit, Role

router = Router()


async def admin_unit(ctx: Context, code: str | None) -> OrgUnit:
    """The unit named by `code` (which the person must administer), else their highest unit."""
    if code:
        unit = await rights.get_unit_by_code(ctx.session, code=code)
        await rights.require_admin(ctx.session, person_id=ctx.person.id, unit=unit)
        return unit
    units = await scope.granted_units(ctx.session, person_id=ctx.person.id, roles=[Role.admin])
    if not units:
        raise NotAllowed("admin.error.not_admin")
    return units[0]


def _unit_and_period(args: str) -> tuple[str | None, str | None]:
    code = period = None
    for token in args.split()[:2]:
        if stats.PERIOD_PATTERN.match(token):
            period = token
        else:
            code = token
    return code, period


def _pct(value: float | None) -> str:
    return f"{100 * value:.0f}%" if value is not None else "-"


def export_dir(ctx: Context) -> Path:
    """A new owner-only folder under the export folder, for one reply's files."""
    return files.private_dir(ctx.settings.stats.export_dir / uuid.uuid4().hex)


def _score(ctx: Context, row: stats.UnitStats, ranking: list[stats.UnitStats]) -> str:
    if row.score is None:
        return ""
    text = ctx.t("admin.stats.score", score=f"{100 * row.score:.1f}")
    position = next((n for n, r in enumerate(ranking, 1) if r.unit.id == row.unit.id), None)
    return text + (ctx.t("admin.stats.rank", position=position) if position else "")


def _row_text(
    ctx: Context,
    row: stats.UnitStats,
    name: str | None = None,
    ranking: list[stats.UnitStats] | None = None,
) -> str:
    c = row.counts
    if name is None:
        name = row.unit.name(ctx.locale) + (ctx.t("admin.stats.own") if row.own else "")
    if not c.received:
        return ctx.t("admin.stats.row_empty", unit=name)
    return ctx.t(
        "admin.stats.row",
        unit=name,
        received=c.received,
        on_time=c.accepted_on_time,
        resolved=c.resolved,
        overdue=c.overdue,
        response=_pct(c.response_rate),
        resolution=_pct(c.resolution_rate),
        satisfaction=_pct(c.satisfaction_rate),
        evaluated=c.evaluated,
        participation=_pct(c.participation_rate),
        score=_score(ctx, row, ranking or []),
    )


def _rates(ctx: Context, rows: list[stats.UnitStats]) -> dict[str, list[float | None]]:
    return {
        ctx.t("admin.stats.response"): [r.counts.response_rate for r in rows],
        ctx.t("admin.stats.resolution"): [r.counts.resolution_rate for r in rows],
        ctx.t("admin.stats.satisfaction"): [r.counts.satisfaction_rate for r in rows],
    }


def _drawn(row: stats.UnitStats) -> bool:
    c = row.counts
    return any(r is not None for r in (c.response_rate, c.resolution_rate, c.satisfaction_rate))


async def _chart(ctx: Context, unit: OrgUnit, report: stats.Report) -> None:
    """The three rates as a chart of the units that have one; with nothing to draw (no
    requests, none due yet) a line saying so instead of an empty picture, on every channel."""
    rows = [row for row in report.rows if _drawn(row)]
    if not rows:
        if report.rows:
            ctx.say("stats_chart.nothing_to_draw")
        return
    image = await asyncio.to_thread(
        charts.rates_chart,
        title=ctx.t("admin.stats.chart_title", unit=unit.name(ctx.locale), period=report.period),
        labels=[row.unit.name(ctx.locale) for row in rows],
        series=_rates(ctx, rows),
    )
    path = export_dir(ctx) / f"stats-{unit.code}-{report.period}.png"
    await asyncio.to_thread(files.write_private, path, image)
    ctx.reply(ctx.t("admin.stats.chart_caption"), photo=str(path))


@router.command("stats")
async def show_stats(ctx: Context) -> None:
    code, period = _unit_and_period(ctx.incoming.args)
    unit = await admin_unit(ctx, code)
    report = await stats.report(
        ctx.session, unit=unit, period=period, now=ctx.now, settings=ctx.settings
    )
    lines = [ctx.t("admin.stats.heading", unit=unit.name(ctx.locale), period=report.period)]
    lines += [_row_text(ctx, row, ranking=report.ranking) for row in report.rows]
    lines.append(_row_text(ctx, stats.UnitStats(unit, report.total), ctx.t("admin.stats.total")))
    text = "\n\n".join(lines)  # a blank line between units: a phone shows them as blocks
    if report.ranking:
        ranks = [ctx.t("admin.stats.ranking")]
        ranks += [
            ctx.t(
                "admin.stats.rank_row",
                position=position,
                kind=ctx.t(f"admin.kind.{row.unit.kind.value}"),
                unit=row.unit.name(ctx.locale),
                score=f"{100 * (row.score or 0):.1f}",
                response=_pct(row.counts.response_rate),
                resolution=_pct(row.counts.resolution_rate),
                satisfaction=_pct(row.counts.satisfaction_rate),
            )
            for position, row in enumerate(report.ranking[:10], start=1)
        ]
        text += "\n\n" + "\n".join(ranks)
    ctx.reply(text)
    await _chart(ctx, unit, report)
    await rights.audit(
        ctx.session,
        actor_id=ctx.person.id,
        action="stats",
        target=f"unit:{unit.code}",
        detail={"period": report.period},
        now=ctx.now,
    )


@router.command("export")
async def export_workbooks(ctx: Context) -> None:
    code, period = _unit_and_period(ctx.incoming.args)
    unit = await admin_unit(ctx, code)
    start, end, label = stats.period_bounds(period, now=ctx.now, tz=ctx.settings.tz)
    phones = await export.may_see_phones(
        ctx.session, person_id=ctx.person.id, unit=unit, settings=ctx.settings
    )
    requests_xlsx = await export.requests_workbook(
        ctx.session,
        unit=unit,
        start=start,
        end=end,
        show_phones=phones,
        settings=ctx.settings,
        demo_actor=ctx.person.is_demo,
    )
    service_xlsx = await export.service_workbook(
        ctx.session, unit=unit, start=start, end=end, settings=ctx.settings
    )
    cobuild_xlsx = await workbook.cobuild_workbook(
        ctx.session,
        unit=unit,
        start=start,
        end=end,
        now=ctx.now,
        settings=ctx.settings,
        demo_actor=ctx.person.is_demo,
    )
    folder = export_dir(ctx)
    made = (("requests", requests_xlsx), ("service", service_xlsx), ("cobuild", cobuild_xlsx))
    for kind, content in made:
        name = f"{kind}-{unit.code}-{label}.xlsx"
        await asyncio.to_thread(files.write_private, folder / name, content)
        ctx.reply(
            ctx.t(f"admin.export.{kind}", unit=unit.name(ctx.locale), period=label),
            document=str(folder / name),
            document_name=name,
        )
    if not phones:
        ctx.say("admin.export.masked")
    await rights.audit(
        ctx.session,
        actor_id=ctx.person.id,
        action="export",
        target=f"unit:{unit.code}",
        detail={"period": label, "phones": phones},
        now=ctx.now,
    )


def _grant_args(ctx: Context, usage: str) -> tuple[int, str, str] | None:
    parts = ctx.incoming.args.split()
    person_id = parse_id(parts[0]) if len(parts) == 3 else None
    if person_id is None:
        ctx.say(usage)
        return None
    return person_id, parts[1], parts[2]


@router.command("grant")
async def grant(ctx: Context) -> None:
    await admin_unit(ctx, None)  # only admins get past here, or see the usage
    parsed = _grant_args(ctx, "admin.usage.grant")
    if parsed is None:
        return
    person_id, role_name, code = parsed
    role = rights.parse_role(role_name)
    unit = await rights.get_unit_by_code(ctx.session, code=code)
    _grant, created = await rights.grant(
        ctx.session,
        actor=ctx.person,
        person_id=person_id,
        role=role,
        unit=unit,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = "admin.granted" if created else "admin.already_granted"
    ctx.say(
        key, person=person_id, role=ctx.t(f"admin.role.{role.value}"), unit=unit.name(ctx.locale)
    )


@router.command("revoke")
async def revoke(ctx: Context) -> None:
    await admin_unit(ctx, None)
    parsed = _grant_args(ctx, "admin.usage.revoke")
    if parsed is None:
        return
    person_id, role_name, code = parsed
    role = rights.parse_role(role_name)
    unit = await rights.get_unit_by_code(ctx.session, code=code)
    removed = await rights.revoke(
        ctx.session,
        actor=ctx.person,
        person_id=person_id,
        role=role,
        unit=unit,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = "admin.revoked" if removed else "admin.not_granted"
    ctx.say(
        key, person=person_id, role=ctx.t(f"admin.role.{role.value}"), unit=unit.name(ctx.locale)
    )
