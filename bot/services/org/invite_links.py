"""Where an invite takes people: the web chat (`web.public_url` + `?start=inv_...`), and the bot
on Telegram when its username is known; and a QR code of a link, as a PNG."""

from __future__ import annotations

import io

from bot.config import Settings


def links(settings: Settings, *, payload: str, bot_username: str | None = None) -> dict[str, str]:
    """The links that open `payload`: "web" always, "telegram" when the bot's username is known
    (given, or configured as meetings.bot_username)."""
    found = {"web": f"{settings.web.base_url}/?start={payload}"}
    username = (bot_username or settings.meetings.bot_username).lstrip("@")
    if username:
        found["telegram"] = f"https://t.me/{username}?start={payload}"
    return found


def qr_png(link: str, *, box_size: int = 10) -> bytes:
    """A QR code of `link`, as PNG bytes; a larger `box_size` (pixels per module) prints
    sharper on a poster."""
    import qrcode  # only when a code is drawn: the command line starts without it

    buffer = io.BytesIO()
    qrcode.make(link, border=2, box_size=box_size).save(buffer)
    return buffer.getvalue()
