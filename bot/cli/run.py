"""`redgrid run`: start the bot."""

from __future__ import annotations

import typer

from bot.cli.common import console, err_console, run_async, settings_or_exit


def register(app: typer.Typer) -> None:
    """Add the run command to the app."""

    @app.command("run")
    def run() -> None:
        """Start redgrid: the web chat, Telegram when configured, the sender and the sweeps."""
        import logging

        from bot import runtime
        from bot.exceptions import ConfigError
        from bot.logging_setup import configure_logging

        settings = settings_or_exit()
        configure_logging(logging.INFO, settings=settings)
        try:
            parts = runtime.build(settings)
        except ConfigError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        console.print("[bold]redgrid[/bold] is starting")
        for line in runtime.describe(parts):
            console.print(f"  {line}")
        try:
            run_async(lambda: runtime.serve_forever(parts))
        except OSError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
