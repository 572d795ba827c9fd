"""`redgrid invite create`: a single-use invite link, printed for the operator (a role on a
unit, or `--role unit_liaison --unit <reporting unit>`: acting for a dual-reporting unit).

This is how the first admin of an empty database is made, and how staff reach the web chat:
the link opens the bot (Telegram deep link) or the web chat (`web.public_url` + `?start=...`)
and grants the role to whoever opens it first. A QR code of each link is saved as a PNG.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, in_transaction, run_async, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings

app = typer.Typer(help="Invite links: the first admin, staff, volunteers.", no_args_is_help=True)

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_LIFETIME = timedelta(days=30)


def parse_duration(value: str) -> timedelta:
    """'90m', '72h', '7d' as a timedelta (at most 30 days)."""
    match = DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise typer.BadParameter("give a number and m, h or d, e.g. 72h")
    lifetime = timedelta(**{UNITS[match[2]]: float(match[1])})
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise typer.BadParameter("an invite lives between 1 minute and 30 days")
    return lifetime


async def telegram_username(settings: Settings) -> str | None:
    """The bot's @username from getMe, when a Telegram token is set (None when it is not, or
    Telegram cannot be reached)."""
    if settings.telegram.token is None or not settings.telegram.token.get_secret_value():
        return None
    from bot.channels.telegram_runtime import make_client

    client = make_client(settings.telegram)
    try:
        await client.start()
        return client.username
    except Exception as exc:  # any failure: the web link still works
        err_console.print(f"[yellow]telegram: getMe failed ({type(exc).__name__})[/yellow]")
        return None  # links() falls back to meetings.bot_username
    finally:
        await client.close()


async def _liaison(
    session: AsyncSession, settings: Settings, unit: str, community: str, lifetime: timedelta
) -> tuple[int, str]:
    """A reporting unit's liaison's invite, through a community the unit is paired with."""
    from bot.services.cobuild import liaison_invites
    from models import utcnow

    invite, token, _community = await liaison_invites.create(
        session,
        actor=None,
        unit=await liaison_invites.unit_by_code(session, code=unit),
        community_code=community or None,
        now=utcnow(),
        settings=settings,
        lifetime=lifetime,
    )
    return invite.id, token


@app.command("create")
def create(
    role: str = typer.Option(..., help="admin, grid_staff, steward, volunteer, unit_liaison ..."),
    unit: str = typer.Option(
        ...,
        help="The unit's code (see `redgrid org show`); for unit_liaison, the reporting unit's.",
    ),
    community: str = typer.Option(
        "", help="unit_liaison: the paired community it goes through (default: the first)."
    ),
    expires: str = typer.Option("72h", help="How long the link lives: 90m, 72h, 7d."),
    leader: bool = typer.Option(False, help="A volunteer invite for the team's leader."),
    qr_dir: Path = typer.Option(Path("data/invites"), help="Where the QR code PNGs go."),
) -> None:
    """Create a single-use invite; print its links and save their QR codes."""
    from bot import files
    from bot.services.org import invite_links, invites, rights
    from models import utcnow

    settings = settings_or_exit()
    lifetime = parse_duration(expires)

    async def _create(session: AsyncSession) -> tuple[int, str]:
        if role.strip().lower() == "unit_liaison":
            return await _liaison(session, settings, unit, community, lifetime)
        invite, token = await invites.create_invite(
            session,
            actor=None,
            role=rights.parse_role(role),
            unit=await rights.get_unit_by_code(session, code=unit),
            leader=leader,
            now=utcnow(),
            settings=settings,
            lifetime=lifetime,
        )
        return invite.id, token

    invite_id, token = in_transaction(settings, _create)
    username = run_async(lambda: telegram_username(settings))
    links = invite_links.links(
        settings, payload=invites.INVITE_PREFIX + token, bot_username=username
    )
    console.print(f"invite {invite_id}: {role} of {unit}, single use, valid for {expires}")
    for name, link in links.items():
        path = qr_dir / f"invite-{invite_id}-{name}.png"
        files.write_private(path, invite_links.qr_png(link))  # it admits whoever scans it
        console.print(f"  {name}: {link}", highlight=False, soft_wrap=True)
        console.print(f"    QR code: {path}", highlight=False)
    if "telegram" not in links:
        console.print("  telegram: off (no token, or getMe failed): share the web chat link")
