"""`redgrid route`: show which unit a request would go to, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, in_transaction, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings


class _Unknown(Exception):
    """A name given on the command line that the district file does not have."""


def route(
    category: str = typer.Option(..., "--category", help="Category slug."),
    compound: str | None = typer.Option(None, "--compound", help="Compound code."),
    building: str | None = typer.Option(None, "--building", help="Building number."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude of a shared location."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude of a shared location."),
) -> None:
    """Print the owner unit of a request and the rule that chose it."""
    if (lat is None) != (lon is None):
        err_console.print("[red]give both --lat and --lon[/red]")
        raise typer.Exit(2)
    if building is not None and compound is None:
        err_console.print("[red]--building needs --compound[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> list[str]:
        return await _explain(session, settings, category, compound, building, lat, lon)

    try:
        lines = in_transaction(settings, work)
    except _Unknown as exc:
        err_console.print(f"[red]error: {exc}[/red]")
        raise typer.Exit(1) from None
    for line in lines:
        console.print(line, highlight=False, markup=False)


async def _explain(
    session: AsyncSession,
    settings: Settings,
    category: str,
    compound: str | None,
    building: str | None,
    lat: float | None,
    lon: float | None,
) -> list[str]:
    from sqlalchemy import select

    from bot.services.dispatch import routing
    from models import Category, OrgUnit

    cat = (await session.execute(select(Category).where(Category.slug == category))).scalar()
    if cat is None:
        raise _Unknown(f"no category {category!r}")
    compound_id, building_id = await _place(session, compound, building)
    decision = await routing.route_request(
        session,
        category=cat,
        building_id=building_id,
        compound_id=compound_id,
        lat=lat,
        lon=lon,
        settings=settings,
    )
    owner = await session.get(OrgUnit, decision.owner_unit_id)
    assert owner is not None
    lines = [
        f"owner: {owner.code} ({owner.kind.value}, {owner.name_zh})",
        f"rule: {decision.rule}",
        f"why: {decision.reason}",
    ]
    if decision.volunteer_skill:
        lines.append(f"volunteer skill: {decision.volunteer_skill}")
    if decision.department_ids:
        depts = await session.execute(
            select(OrgUnit.code).where(OrgUnit.id.in_(decision.department_ids))
        )
        lines.append("departments: " + ", ".join(depts.scalars()))
    return lines


async def _place(
    session: AsyncSession, compound: str | None, building: str | None
) -> tuple[int | None, int | None]:
    """The ids of the compound and building named on the command line."""
    from sqlalchemy import select

    from models import Building, Compound

    if compound is None:
        return None, None
    place = (await session.execute(select(Compound).where(Compound.code == compound))).scalar()
    if place is None:
        raise _Unknown(f"no compound {compound!r}")
    if building is None:
        return place.id, None
    query = select(Building).where(Building.compound_id == place.id, Building.number == building)
    row = (await session.execute(query)).scalar()
    if row is None:
        raise _Unknown(f"no building {building!r} in {compound}")
    return place.id, row.id


def register(app: typer.Typer) -> None:
    """Add the route command to the app."""
    app.command("route")(route)
