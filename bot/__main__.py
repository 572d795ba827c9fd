"""`python -m bot` is the `redgrid` command."""

from bot.cli import app

app(prog_name="redgrid")
