"""/broadcast with nothing after it offers the admin's own units as buttons (nobody has to
know unit codes); a button re-checks the admin's rights."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.comms import actions
from models import OrgUnit, Role
from tests.conftest import Bot
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import staff_chat


async def test_broadcast_offers_the_admins_units_and_goes_on_from_a_tap(bot: Bot) -> None:
    resident = bot.chat()
    await onboard(resident)
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/broadcast")
    assert "用法" not in admin.last_text
    assert admin.buttons[:2] == ["和顺社区", "和顺社区第一网格"]
    await admin.press("和顺社区第一网格")
    assert "和顺社区第一网格" in admin.last_text  # asked for the text, for that grid
    await admin.send("明天上午9点停水检修")
    assert "预览" in admin.last_text and "位居民" in admin.last_text

    # Another community's admin pressing the same button is refused.
    async with bot.db.sessions() as session:
        grid = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
    outsider = await staff_chat(bot, role=Role.admin, unit="dahua")
    await outsider.press_data(actions.TARGET.data(grid.id))
    assert "heshun" in outsider.last_text
    await outsider.send("/broadcast")
    assert "和顺社区第一网格" not in outsider.buttons and "大华社区" in outsider.buttons


async def test_a_district_admin_sees_wider_units_first_and_in_their_language(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="jimo", language="en")
    await admin.send("/broadcast")
    streets = {"Bei'an Subdistrict", "Chaohai Subdistrict", "Tongji Subdistrict"}
    assert set(admin.buttons[:3]) == streets
    # The district's 3 streets and 7 communities before any grid.
    assert "Heshun Community" in admin.buttons and not any("Grid" in b for b in admin.buttons[:10])
    await admin.press("Heshun Community")
    assert "Heshun Community" in admin.last_text and "和顺" not in admin.last_text
