"""`redgrid route`: show which unit a request would go to, and why."""

from __future__ import annotations

import typer

from bot.cli.common import console, err_console, run_async, settings_or_exit


def register(app: typer.Typer) -> None:
    """Add the route command to the app."""

    @app.command("route")
    def route(
        category: str = typer.Option(..., "--category", help="Category slug."),
        compound: str | None = typer.Option(None, "--compound", help="Compound code."),
        building: str | None = typer.Option(None, "--building", help="Building number."),
        lat: float | None = typer.Option(None, "--lat", help="Latitude of a shared location."),
        lon: float | None = typer.Option(None, "--lon", help="Longitude of a shared location."),
    ) -> None:
        """Print the owner unit of a request and the rule that chose it."""
        from sqlalchemy import select

        from bot.db import create_engine, session_factory
        from bot.exceptions import NotFound
        from bot.services.dispatch import routing
        from models import Building, Category, Compound, OrgUnit

        if (lat is None) != (lon is None):
            err_console.print("[red]give both --lat and --lon[/red]")
            raise typer.Exit(2)
        if building is not None and compound is None:
            err_console.print("[red]--building needs --compound[/red]")
            raise typer.Exit(2)
        settings = settings_or_exit()

        async def _run() -> list[str]:
            engine = create_engine(settings.database.url)
            try:
                async with session_factory(engine)() as session:
                    found = await session.execute(select(Category).where(Category.slug == category))
                    cat = found.scalar_one_or_none()
                    if cat is None:
                        return [f"error: no category {category!r}"]
                    compound_id = building_id = None
                    if compound is not None:
                        query = select(Compound).where(Compound.code == compound)
                        place = (await session.execute(query)).scalar_one_or_none()
                        if place is None:
                            return [f"error: no compound {compound!r}"]
                        compound_id = place.id
                        if building is not None:
                            query_b = select(Building).where(
                                Building.compound_id == place.id, Building.number == building
                            )
                            row = (await session.execute(query_b)).scalar_one_or_none()
                            if row is None:
                                return [f"error: no building {building!r} in {compound}"]
                            building_id = row.id
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
                        ids = decision.department_ids
                        depts = await session.execute(
                            select(OrgUnit.code).where(OrgUnit.id.in_(ids))
                        )
                        lines.append("departments: " + ", ".join(depts.scalars()))
                    return lines
            except NotFound as exc:
                return [f"error: {exc.key}"]
            finally:
                await engine.dispose()

        lines = run_async(_run)
        if lines and lines[0].startswith("error:"):
            err_console.print(f"[red]{lines[0]}[/red]")
            raise typer.Exit(1)
        for line in lines:
            console.print(line, highlight=False, markup=False)
