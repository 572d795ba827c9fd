"""The `redgrid` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from bot import __version__
from bot.cli import classify as classify_commands
from bot.cli import db as db_commands
from bot.cli import invite as invite_commands
from bot.cli import jobs as jobs_commands
from bot.cli import org as org_commands
from bot.cli import people as people_commands
from bot.cli import qr as qr_commands
from bot.cli import route as route_commands
from bot.cli import run as run_commands
from bot.cli import sessions as session_commands
from bot.cli import stats as stats_commands
from bot.cli import wechat as wechat_commands

app = typer.Typer(
    help="redgrid: residents' requests to the grid that must act.", no_args_is_help=True
)
app.add_typer(db_commands.app, name="db")
app.add_typer(org_commands.app, name="org")
app.add_typer(jobs_commands.app, name="jobs")
app.add_typer(invite_commands.app, name="invite")
app.add_typer(session_commands.app, name="sessions")
app.add_typer(people_commands.app, name="people")
app.add_typer(wechat_commands.app, name="wechat")
app.add_typer(qr_commands.app, name="qr")
app.command("classify")(classify_commands.classify)
run_commands.register(app)
route_commands.register(app)
stats_commands.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"redgrid {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """redgrid command line."""
