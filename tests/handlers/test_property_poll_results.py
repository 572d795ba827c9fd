"""When a quarter's property-service poll closes (the `property_polls` sweep, at the next
quarter), the community's admins and the residents whose household rated are told what it
found, once: the average, how many households rated, the service's place in the district."""

from __future__ import annotations

from bot import scheduler
from bot.config import Settings
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, move_to, report_in_own_flat
from tests.handlers.journey import onboard
from tests.handlers.meeting_journey import received
from tests.handlers.staff_journey import pump

CLOSED = "2026Q4物业服务评价已结束"


async def test_a_closed_polls_result_reaches_admins_and_raters_once(
    bot: Bot, settings: Settings
) -> None:
    admin = await community_admin(bot)
    other_admin = await community_admin(bot, "dahua")
    raters = [bot.chat() for _ in range(2)]
    for rater in raters:
        await onboard(rater)
    await report_in_own_flat(raters[0], "1-101")  # two households of one compound
    english = bot.chat(language_code="en")
    await onboard(english, "en")
    steward = bot.chat()  # a compound without a property company
    await onboard(steward)
    await move_to(bot, steward.user_id, "heshun-lane-9")
    silent = bot.chat()  # asked, never rates
    await onboard(silent)
    elsewhere = bot.chat()
    await onboard(elsewhere)
    await move_to(bot, elsewhere.user_id, "dahua-machinery-dorm")

    async def sweep() -> int:
        return await scheduler.run_job(
            "property_polls", sessions=bot.db.sessions, settings=settings, clock=bot.clock
        )

    assert await sweep() > 0
    await pump(bot)
    await raters[0].press("⭐⭐⭐⭐")
    await raters[1].press("⭐⭐")
    await english.press("⭐⭐⭐")
    await steward.press("⭐⭐⭐⭐⭐")
    await elsewhere.press("⭐⭐⭐")  # the same workstation serves their compound
    for chat in (admin, *raters, english, steward, silent, other_admin, elsewhere):
        assert not received(chat, CLOSED) and not received(chat, "are closed")

    bot.clock.advance(days=40)  # 2027Q1: last quarter's polls close
    await sweep()
    await pump(bot)
    (told,) = received(admin, CLOSED)
    assert "和顺社区的结果" in told
    # The workstation is one service, ranked once: its households in both communities count.
    assert "红管家第一工作站：平均 4.0 分（2 户评分），全区第 1 名（共 2 家）" in told
    assert "海盛·新阳光地带物业服务：平均 3.0 分（3 户评分），全区第 2 名（共 2 家）" in told
    for rater in raters:
        (yours,) = received(rater, CLOSED)
        assert "海盛·新阳光地带物业服务：平均 3.0 分（3 户评分），全区第 2 名" in yours
        assert "红管家" not in yours
    (english_told,) = received(english, "are closed")
    assert "average 3.0 (3 households rated), number 2 of 2 in the district" in english_told
    (stewards,) = received(steward, CLOSED)
    assert "红管家第一工作站：平均 4.0 分（2 户评分），全区第 1 名（共 2 家）" in stewards
    assert not received(silent, CLOSED)
    (theirs,) = received(other_admin, CLOSED)
    assert "红管家第一工作站：平均 4.0 分（2 户评分），全区第 1 名（共 2 家）" in theirs
    assert "海盛" not in theirs
    assert len(received(elsewhere, CLOSED)) == 1

    await sweep()  # a re-run closes nothing more: nobody is told twice
    bot.clock.advance(hours=1)
    await sweep()
    await pump(bot)
    assert len(received(admin, CLOSED)) == 1 and len(received(raters[0], CLOSED)) == 1


async def test_a_poll_nobody_rated_tells_the_admins_so(bot: Bot, settings: Settings) -> None:
    admin = await community_admin(bot)
    await admin.send("/propertypoll")
    bot.clock.advance(days=40)
    await admin.send("/propertypoll")  # the admin opens the new quarter's: the old one closes
    await pump(bot)
    assert received(admin, "2026Q4物业服务评价已结束，和顺社区没有居民评分")
