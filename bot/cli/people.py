"""`redgrid people erase`: an admin erases a person on their behalf (a request by letter or
at the counter), exactly as `/privacy` does, with an audit row.

Operator output is English, like the rest of the CLI; the person is shown masked, enough to
check it is the right one without the terminal becoming a copy of their data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, in_transaction, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from models import Person

app = typer.Typer(help="People: erase a person's data.", no_args_is_help=True)


@dataclass(frozen=True)
class Summary:
    """What the operator confirms: the person, masked."""

    person_id: int
    name: str
    phone: str
    address: str
    channels: str
    requests: int


async def summary(session: AsyncSession, *, person: Person, settings: Settings) -> Summary:
    """The person as the confirmation shows them."""
    from sqlalchemy import func, select

    from bot.services.org import places
    from bot.services.org.people import mask_name
    from bot.services.reports import export
    from models import ChannelIdentity, Request

    address = await places.describe_address(
        session,
        compound_id=person.compound_id,
        building_id=person.building_id,
        unit_room="*" * len(person.unit_room),
        locale=settings.locale.default,
    )
    channels = await session.execute(
        select(ChannelIdentity.channel).where(ChannelIdentity.person_id == person.id).distinct()
    )
    reported = select(func.count()).where(Request.reporter_id == person.id)
    return Summary(
        person.id,
        mask_name(person.display_name),
        export.mask_phone(person.phone) or "-",
        address or "-",
        ", ".join(sorted(channels.scalars())) or "-",
        int((await session.execute(reported)).scalar_one()),
    )


async def _find(session: AsyncSession, person_id: int, settings: Settings) -> Summary | str:
    from models import Person

    person = await session.get(Person, person_id)
    if person is None:
        return f"no person {person_id}"
    if person.deleted_at is not None:
        return f"person {person_id} was already erased"
    return await summary(session, person=person, settings=settings)


async def _erase(session: AsyncSession, person_id: int, settings: Settings) -> int | str:
    """Erase the person and record it, in the caller's transaction; the files deleted."""
    from bot.services.org import people, rights
    from models import Person, utcnow

    person = await session.get(Person, person_id)
    if person is None or person.deleted_at is not None:
        return f"person {person_id} is gone or already erased"
    now = utcnow()
    files = await people.erase(session, person=person, now=now, settings=settings)
    await rights.audit(
        session,
        actor_id=None,
        action="people.erase",
        target=f"person:{person_id}",
        detail={"by": "cli", "files": files},
        now=now,
    )
    return files


def _show(found: Summary) -> None:
    for label, value in (
        ("person", found.person_id),
        ("name", found.name),
        ("phone", found.phone),
        ("address", found.address),
        ("channels", found.channels),
        ("requests", found.requests),
    ):
        console.print(f"{label}: {value}", highlight=False, markup=False)


@app.command("erase")
def erase(
    person: int = typer.Option(..., "--person", min=1, max=2**31 - 1, help="The person's id."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Erase a person's personal data everywhere (as /privacy does); requests stay, anonymised."""
    settings = settings_or_exit()
    found = in_transaction(settings, lambda session: _find(session, person, settings))
    if isinstance(found, str):
        err_console.print(f"[red]{found}[/red]")
        raise typer.Exit(1)
    assert isinstance(found, Summary)
    _show(found)
    if not yes and not typer.confirm("Erase this person's data? This cannot be undone"):
        console.print("nothing erased")
        raise typer.Exit(1)
    done = in_transaction(settings, lambda session: _erase(session, person, settings))
    if isinstance(done, str):
        err_console.print(f"[red]{done}[/red]")
        raise typer.Exit(1)
    console.print(f"erased person {person}; {done} stored file(s) deleted", highlight=False)
