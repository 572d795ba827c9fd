"""The answer to a new invite: its links (the bot, the web chat) and a QR code to print."""

from __future__ import annotations

import asyncio

from bot import files
from bot.core.context import Context
from bot.services.org import invite_links, invites
from handlers.org.admin import export_dir


async def send_links(ctx: Context, token: str, role_name: str, unit_name: str) -> None:
    """Tell the admin the invite's links and send its QR code."""
    payload = invites.INVITE_PREFIX + token
    links = invite_links.links(ctx.settings, payload=payload)
    ctx.say(
        "admin.invite.created",
        role=role_name,
        unit=unit_name,
        days=f"{ctx.settings.volunteers.invite_days:g}",
        payload=payload,
        links="\n".join(ctx.t(f"admin.invite.link.{k}", link=v) for k, v in links.items()),
    )
    # The code of the link people open on a phone: the bot's, when it is known.
    png = await asyncio.to_thread(invite_links.qr_png, links.get("telegram", links["web"]))
    path = export_dir(ctx) / "invite.png"
    await asyncio.to_thread(files.write_private, path, png)
    ctx.reply(ctx.t("admin.invite.qr_caption", role=role_name, unit=unit_name), photo=str(path))
