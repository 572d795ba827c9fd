"""Residents rate their property service each quarter, one voice per household: the steward
workstation for a compound without a property company; admins see the services ranked."""

from __future__ import annotations

from bot.services.cobuild import actions
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, move_to
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump


async def test_quarterly_property_ratings_and_their_ranking(bot: Bot) -> None:
    admin = await community_admin(bot)
    residents = [bot.chat() for _ in range(3)]
    for resident, room in zip(residents, ("1-101", "1-202", "1-303"), strict=True):
        await onboard(resident, room=room)
    await move_to(bot, residents[2].user_id, "heshun-lane-9")  # no property company

    await residents[0].send("/propertypoll")
    assert "用法" in residents[0].last_text
    await admin.send("/propertypoll")
    assert "个小区的居民" in admin.last_text
    await pump(bot)
    assert "海盛·新阳光地带物业服务" in residents[0].last_text
    assert "红管家第一工作站" in residents[2].last_text
    await residents[0].press("⭐⭐⭐⭐")
    assert "2026Q4" in residents[0].last_text
    await residents[1].press("⭐⭐")
    await residents[2].press("⭐⭐⭐⭐⭐")
    housemate = bot.chat()
    await onboard(housemate, room="1-101")
    await housemate.press_data(
        actions.PROPERTY_RATE.data(residents[0].messages[-2].buttons[0][0].data.split(":")[2], 1)
    )
    assert "每户每季度一次" in housemate.last_text
    lane = residents[2].messages[-2].buttons[0][0].data.split(":")[2]
    await residents[0].press_data(actions.PROPERTY_RATE.data(lane, 1))  # not their compound
    assert "未做任何更改" in residents[0].last_text

    await residents[0].send("/property")
    assert "未做任何更改" in residents[0].last_text
    await admin.send("/property")
    ranking = admin.last_text
    assert "1. 红管家第一工作站：5.0 分（1 户）" in ranking
    assert "2. 海盛·新阳光地带物业服务：3.0 分（2 户）" in ranking
    await admin.send("/property 2026Q1")
    assert admin.last_text.endswith("-")
