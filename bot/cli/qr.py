"""`redgrid qr compound`: the QR code to print and post in a compound.

Scanning it opens the bot (Telegram deep link) or the web chat (`web.public_url` +
`?start=c_<code>`) with the compound already chosen, so a resident registers and reports in
a few taps. Unlike an invite it grants nothing, and anyone may scan it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, err_console, in_transaction, run_async, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="QR codes to print: a compound's.", no_args_is_help=True)


@app.command("compound")
def compound(
    codes: list[str] = typer.Argument(None, help="Compound codes (see `redgrid org show`)."),
    every: bool = typer.Option(False, "--all", help="Every compound of the district."),
    qr_dir: Path = typer.Option(Path("data/qr"), help="Where the QR code PNGs go."),
) -> None:
    """Print each compound's links and save their QR codes, ready to print."""
    from sqlalchemy import select

    from bot import files
    from bot.cli.invite import telegram_username
    from bot.services.org import invite_links, places
    from models import Compound

    if not codes and not every:
        err_console.print("name a compound's code, or give --all")
        raise typer.Exit(2)
    settings = settings_or_exit()

    async def _load(session: AsyncSession) -> list[tuple[str, str, str]]:
        query = select(Compound).order_by(Compound.code)
        if not every:
            query = query.where(Compound.code.in_(codes))
        found = (await session.execute(query)).scalars().all()
        return [(c.code, c.name_zh, places.compound_payload(c)) for c in found]

    found = in_transaction(settings, _load)
    missing = sorted(set(codes or ()) - {code for code, _, _ in found})
    if missing:
        err_console.print(f"no compound with the code {', '.join(missing)}")
        raise typer.Exit(1)
    username = run_async(lambda: telegram_username(settings))
    for code, name, payload in found:
        console.print(f"{name} ({code})", highlight=False)
        for kind, link in invite_links.links(
            settings, payload=payload, bot_username=username
        ).items():
            path = qr_dir / f"compound-{code}-{kind}.png"
            files.write_private(path, invite_links.qr_png(link, box_size=20))
            console.print(f"  {kind}: {link}", highlight=False, soft_wrap=True)
            console.print(f"    QR code: {path}", highlight=False)
