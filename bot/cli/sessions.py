"""`redgrid sessions revoke`: end a person's web chat sessions on every device."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, in_transaction, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Web chat sessions.", no_args_is_help=True)


@app.command("revoke")
def revoke(person: int = typer.Option(..., help="The person's id.")) -> None:
    """End every web chat session of a person (a lost phone, a staff member who left)."""
    from bot.services.org import rights
    from models import utcnow

    settings = settings_or_exit()

    async def _revoke(session: AsyncSession) -> None:
        await rights.end_sessions(session, person_id=person, actor_id=None, now=utcnow())

    in_transaction(settings, _revoke)
    console.print(f"person {person}: every web chat session ended")
