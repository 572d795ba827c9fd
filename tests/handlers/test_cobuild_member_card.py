"""The admin asked to confirm a member who reported in can tell who it is: their name, else
(WeChat and the web chat give no name) where they live, not an internal number."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump


async def test_a_member_without_a_name_is_shown_by_their_home(bot: Bot) -> None:
    admin = await community_admin(bot)
    member = bot.chat()  # no display name, as on WeChat
    await onboard(member)
    await member.send("/reportin")
    await member.press("区住建局")
    await pump(bot)
    asks = admin.last_text
    assert "海盛·新阳光地带 17号楼 的居民（区住建局）" in asks, asks
    assert "#" not in asks
