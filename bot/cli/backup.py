"""`redgrid db backup FILE` and `redgrid db restore FILE`, registered on the `db` group."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.common import console, err_console, run_async, settings_or_exit


def register(app: typer.Typer) -> None:
    """Add the backup and restore commands to the `db` group."""

    @app.command("backup")
    def backup_command(
        file: Path = typer.Argument(..., help="Where to write the backup."),
    ) -> None:
        """Copy the whole database into FILE (SQLite: online backup; PostgreSQL: pg_dump -Fc)."""
        from bot.services.storage import backup

        settings = settings_or_exit()
        try:
            result = run_async(lambda: backup.backup(url=settings.database.url, path=file))
        except backup.BackupError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        console.print(f"{result.kind} database backed up to {result.path} ({result.size} bytes)")

    @app.command("restore")
    def restore_command(
        file: Path = typer.Argument(..., help="A file made by `redgrid db backup`."),
        yes: bool = typer.Option(False, "--yes", help="Do not ask before replacing the data."),
    ) -> None:
        """Replace the database's contents with the backup in FILE."""
        from bot.services.storage import backup

        settings = settings_or_exit()
        if not yes:
            typer.confirm("This replaces everything in the database. Go on?", abort=True)
        try:
            run_async(lambda: backup.restore(url=settings.database.url, path=file))
        except backup.BackupError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        console.print(f"database restored from {file}")
