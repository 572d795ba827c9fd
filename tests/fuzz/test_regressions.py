"""Holes the fuzzer found, each pinned by a minimal conversation."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.journey import onboard


async def test_nul_in_text(bot: Bot) -> None:
    """A NUL character (web chat JSON "\\u0000", or any client) must not crash a handler.

    PostgreSQL refuses NUL in text ("invalid byte sequence for encoding UTF8: 0x00"), so on
    PostgreSQL the address search and the report description crashed. Fix at the ingress
    (the engine, for every channel): drop "\\x00" from Incoming's text fields.
    """
    chat = bot.chat()
    await chat.send("/start")
    await chat.send("海盛\x00")  # the address search
    assert chat.last_result is not None and chat.last_result.status != "failed"
    fresh = bot.chat()
    await onboard(fresh)
    await fresh.send("楼道灯坏了\x00好几天")
    assert fresh.last_result is not None and fresh.last_result.status != "failed"


async def test_file_sizes_and_durations_no_real_file_has(bot: Bot) -> None:
    """A photo "of 2**63 bytes" or a voice note "of 2**31 seconds" crashed the insert of the
    request's photos (SQLite: "Python int too large to convert to SQLite INTEGER"). Fix at the
    ingress (the engine, for every channel): such a number becomes unknown (None)."""
    from sqlalchemy import select

    from models import RequestPhoto

    chat = bot.chat()
    await onboard(chat)
    await chat.send("楼道灯坏了好几天了，晚上黑漆漆的")
    await chat.send_photo("photo-huge", size=2**63)
    await chat.send_voice("voice-long", duration=2**31)
    await chat.press("✅ 提交")
    assert chat.last_result is not None and chat.last_result.status == "handled"
    async with bot.db.sessions() as session:
        sizes = (await session.execute(select(RequestPhoto.file_size))).scalars().all()
    assert sizes == [None, None]
