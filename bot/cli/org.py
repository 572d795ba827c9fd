"""`redgrid org ...`: import and show the district structure.

Operator output is English, like the rest of the CLI; the bot's users never see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, run_async, settings_or_exit

if TYPE_CHECKING:
    from rich.table import Table
    from rich.tree import Tree

    from bot.services.org import importer
    from bot.services.org import tree as org_tree

app = typer.Typer(
    help="District structure: org tree, places, categories, teams.", no_args_is_help=True
)

# The order rows are listed in the import summary, after the org unit kinds.
REPORT_KINDS: tuple[str, ...] = (
    "compound",
    "building",
    "category",
    "pairing",
    "person",
    "identity",
    "role",
    "volunteer",
)


def _summary(report: importer.ImportReport) -> Table:
    from rich.table import Table

    from models.org import UnitKind

    table = Table(title="org import")
    for column in ("kind", "created", "updated", "unchanged"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    order = [*(kind.value for kind in UnitKind), *REPORT_KINDS]
    kinds = [k for k in order if k in report.kinds]
    kinds += [k for k in report.kinds if k not in kinds]
    for kind in kinds:
        counts = (report.created[kind], report.updated[kind], report.unchanged[kind])
        table.add_row(kind, *(str(n) for n in counts))
    return table


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The district YAML file."),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the database already has org units."
    ),
) -> None:
    """Import (or re-import) a district file; re-running updates rows, never duplicates."""
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn

    from bot.db import create_engine, session_factory
    from bot.exceptions import ImportFileError
    from bot.services.org import importer
    from bot.services.org import tree as org_tree

    settings = settings_or_exit()

    async def _run() -> importer.ImportReport | None:
        engine = create_engine(settings.database.url)
        try:
            async with session_factory(engine)() as session, session.begin():
                if if_empty and await org_tree.has_units(session):
                    return None
                with Progress(
                    TextColumn("{task.description}"), BarColumn(), console=console
                ) as progress:
                    task = progress.add_task("import", total=len(importer.STEPS))

                    def advance(step: str) -> None:
                        progress.update(task, advance=1, description=step)

                    return await importer.import_org(
                        session, document=file, progress=advance, settings=settings
                    )
        finally:
            await engine.dispose()

    try:
        report = run_async(_run)
    except ImportFileError as exc:
        err_console.print(f"[red]import failed, nothing was changed:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if report is None:
        console.print("the database already has org units: import skipped (--if-empty)")
        return
    console.print(_summary(report))


def _unit_label(unit_kind: str, name_zh: str, name_en: str, code: str) -> str:
    from rich.markup import escape

    english = f" / {escape(name_en)}" if name_en else ""
    return f"[bold]{escape(name_zh)}[/bold]{english} [dim]{unit_kind} {escape(code)}[/dim]"


def _add(branch: Tree, node: org_tree.TreeNode) -> None:
    from rich.markup import escape

    unit = node.unit
    child = branch.add(_unit_label(unit.kind.value, unit.name_zh, unit.name_en, unit.code))
    for item in node.compounds:
        compound = item.compound
        english = f" / {escape(compound.name_en)}" if compound.name_en else ""
        flags = ", no property management" if compound.no_property_management else ""
        plural = "" if item.buildings == 1 else "s"
        child.add(
            f"[green]{escape(compound.name_zh)}[/green]{english} [dim]compound "
            f"{escape(compound.code)}, {item.buildings} building{plural}, "
            f"{compound.households} households{flags}[/dim]"
        )
    for grandchild in node.children:
        _add(child, grandchild)


@app.command("show")
def show() -> None:
    """Print the org tree, with each community's compounds and their building counts."""
    from rich.tree import Tree

    from bot.db import create_engine, session_factory
    from bot.services.org import tree as org_tree

    settings = settings_or_exit()

    async def _run() -> list[org_tree.TreeNode]:
        engine = create_engine(settings.database.url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await org_tree.load_tree(session)
        finally:
            await engine.dispose()

    roots = run_async(_run)
    if not roots:
        console.print("no org units yet: run `redgrid org import FILE`")
        return
    tree = Tree("org units", hide_root=True)
    for root in roots:
        _add(tree, root)
    console.print(tree)
