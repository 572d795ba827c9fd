"""`redgrid run`: start the bot."""

from __future__ import annotations

import typer

from bot.cli.common import console, settings_or_exit


def register(app: typer.Typer) -> None:
    """Add the run command to the app."""

    @app.command("run")
    def run() -> None:
        """Start redgrid with the configured channels."""
        settings = settings_or_exit()
        console.print(f"redgrid on {settings.database.url}")
