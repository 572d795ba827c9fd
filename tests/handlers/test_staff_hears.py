"""Staff hear what matters on a request they own: one more household with the same problem,
and how the resident judged the result (with their comment)."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.privacy_journey import follow
from tests.handlers.staff_journey import pump, staff_chat


async def test_staff_hear_of_followers_and_of_the_rating(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("签收")
    for _ in range(2):
        neighbour = bot.chat()
        await onboard(neighbour)
        await follow(neighbour, reference)
    await pump(bot)
    heard = [m.text for m in staff.messages if "同样问题" in m.text]
    assert heard == [
        f"又有一户居民反映了诉求 {reference} 的同样问题（共 2 户）。",
        f"又有一户居民反映了诉求 {reference} 的同样问题（共 3 户）。",
    ]
    await staff.press("办结")
    await staff.send("已更换楼道灯泡")
    await staff.press("✅ 完成")
    await pump(bot)
    await resident.press("评价")
    await resident.press("已解决")
    await resident.press("基本满意")
    await resident.send("修得快，就是晚上来的")
    await pump(bot)
    rated = next(m.text for m in staff.messages if "居民评价了" in m.text)
    assert rated.startswith(f"居民评价了诉求 {reference}：已解决，基本满意。")
    assert "修得快，就是晚上来的" in rated
