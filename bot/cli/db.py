"""`redgrid db ...`: schema migrations."""

from __future__ import annotations

import typer

from bot.cli import backup as backup_commands
from bot.cli.common import console, run_async, settings_or_exit

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from bot import migrate
    from bot.db import create_engine

    settings = settings_or_exit()

    async def _run() -> None:
        engine = create_engine(settings.database.url)
        try:
            await migrate.upgrade(engine, revision)
        finally:
            await engine.dispose()

    run_async(_run)
    console.print(f"database upgraded to {revision}")


backup_commands.register(app)
