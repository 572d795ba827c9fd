"""`redgrid org ...`: import and show the district structure."""

from __future__ import annotations

import typer

app = typer.Typer(help="District structure: org tree, places, categories, teams.", no_args_is_help=True)
