"""Residents rate their property service each quarter, one voice per household: the steward
workstation for a compound without a property company; admins see the services ranked. The
quarter's poll opens by itself (the `property_polls` sweep) once per community, or earlier at
an admin's /propertypoll, and the quarter before is closed."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import scheduler
from bot.config import Settings
from bot.services.cobuild import actions
from models import Compound, PropertyPoll, PropertyRating
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, move_to, report_in_own_flat
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump


async def test_quarterly_property_ratings_and_their_ranking(bot: Bot) -> None:
    admin = await community_admin(bot)
    residents = [bot.chat() for _ in range(3)]
    for resident in residents:
        await onboard(resident)
    await report_in_own_flat(residents[0], "1-101")  # the room, asked by a report in the flat
    await move_to(bot, residents[2].user_id, "heshun-lane-9")  # no property company
    elsewhere = bot.chat()
    await onboard(elsewhere)
    await move_to(bot, elsewhere.user_id, "dahua-machinery-dorm")  # another community

    await residents[0].send("/propertypoll")
    assert "用法" in residents[0].last_text
    await admin.send("/propertypoll")
    assert "个小区的居民" in admin.last_text
    await admin.send("/propertypoll")
    assert "已经开始" in admin.last_text  # once per quarter
    await pump(bot)
    assert "海盛·新阳光地带物业服务" in residents[0].last_text
    assert "红管家第一工作站" in residents[2].last_text
    await residents[0].press("⭐⭐⭐⭐")
    assert "2026Q4" in residents[0].last_text
    await residents[1].press("⭐⭐")
    await residents[2].press("⭐⭐⭐⭐⭐")
    poll = residents[0].messages[-2].buttons[0][0].data.split(":")[2]
    housemate = bot.chat()
    await onboard(housemate)
    await report_in_own_flat(housemate, "1-101", "我家厨房的水管也在漏水")
    await housemate.press_data(actions.PROPERTY_VOTE.data(poll, 1))
    assert "每户每季度一次" in housemate.last_text
    await elsewhere.press_data(actions.PROPERTY_VOTE.data(poll, 1))  # not their community
    assert "未做任何更改" in elsewhere.last_text

    await residents[0].send("/property")
    assert "未做任何更改" in residents[0].last_text
    await admin.send("/property")
    ranking = admin.last_text
    assert "1. 红管家第一工作站：5.0 分（1 户）" in ranking
    assert "2. 海盛·新阳光地带物业服务：3.0 分（2 户）" in ranking
    await admin.send("/property 2026Q1")
    assert admin.last_text.endswith("这一季度还没有居民评分。")


async def _polls(bot: Bot) -> list[PropertyPoll]:
    async with bot.db.sessions() as session:
        return list(await session.scalars(select(PropertyPoll).order_by(PropertyPoll.id)))


async def test_the_sweep_opens_each_quarters_poll_once_and_closes_the_last(
    bot: Bot, settings: Settings
) -> None:
    admin = await community_admin(bot)
    resident = bot.chat()
    await onboard(resident)

    async def sweep() -> int:
        return await scheduler.run_job(
            "property_polls", sessions=bot.db.sessions, settings=settings, clock=bot.clock
        )

    opened = await sweep()
    async with bot.db.sessions() as session:
        with_compounds = select(func.count(func.distinct(Compound.community_id)))
        assert opened == (await session.execute(with_compounds)).scalar_one()
    assert await sweep() == 0  # a re-run opens nothing
    await pump(bot)
    assert "2026Q4物业服务评价" in resident.last_text
    first_card = resident.messages[-1]
    await admin.send("/propertypoll")
    assert "已经开始" in admin.last_text
    await resident.press("⭐⭐⭐")
    assert "2026Q4" in resident.last_text

    bot.clock.advance(days=40)  # 2027-01-03: the first quarter
    assert await sweep() == opened
    await pump(bot)
    assert "2027Q1物业服务评价" in resident.last_text
    polls = await _polls(bot)
    assert {p.quarter for p in polls if p.closed_at is None} == {"2027Q1"}
    assert len(polls) == 2 * opened
    await resident.press_data(first_card.buttons[1][1].data)  # last quarter's ⭐⭐⭐⭐⭐
    assert "已经结束" in resident.last_text
    async with bot.db.sessions() as session:
        compound_id = (
            await session.execute(select(Compound.id).where(Compound.code == "haisheng-sunshine"))
        ).scalar_one()
    await resident.press_data(actions.PROPERTY_RATE.data(compound_id, 2))
    assert "2027Q1" in resident.last_text
    async with bot.db.sessions() as session:
        rows = list(await session.scalars(select(PropertyRating).order_by(PropertyRating.id)))
    assert [(r.quarter, r.score) for r in rows] == [("2026Q4", 3), ("2027Q1", 2)]
