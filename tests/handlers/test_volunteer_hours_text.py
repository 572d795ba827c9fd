"""A volunteer nobody has rated yet reads so in words, not "平均 - 星"."""

from __future__ import annotations

from models import Role
from tests.conftest import Bot
from tests.handlers.staff_journey import staff_chat
from tests.handlers.test_volunteer import join_as_volunteer


async def test_hours_without_ratings_say_so(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    sun = await join_as_volunteer(bot, admin, "vol-unrated")
    await sun.send("/myhours")
    assert "0 小时" in sun.last_text and "还没有居民评价" in sun.last_text
    assert "-" not in sun.last_text
