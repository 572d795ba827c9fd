"""The three rates are fair to a grid that works fast: being in touch with the resident (a
public note, a question, resolving) counts as contact, not only the 已联系居民 button."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.reports import stats
from models import OrgUnit, Role
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, request, staff_chat


async def _grid_rates(bot: Bot) -> tuple[float | None, float | None, float | None, float | None]:
    async with bot.db.sessions() as session:
        grid = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        report = await stats.report(
            session, unit=grid, period=None, now=bot.clock(), settings=bot.engine.settings
        )
    own = next(row for row in report.rows if row.unit.id == grid.id)
    counts = own.counts
    return counts.response_rate, counts.resolution_rate, counts.satisfaction_rate, own.score


async def _fixed_and_rated(bot: Bot) -> str:
    """A lamp reported, accepted and resolved within the hour, rated solved and satisfied;
    nobody pressed 已联系居民. Then the contact deadline passes."""
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    bot.clock.advance(minutes=10)
    await staff.press("签收")
    bot.clock.advance(minutes=30)
    await staff.press("办结")
    await staff.send("已更换楼道灯泡")
    await staff.press("✅ 完成")
    await pump(bot)
    await resident.press("评价")
    await resident.press("已解决")
    await resident.press("满意")
    await resident.press("跳过")
    bot.clock.advance(hours=30)  # past the 24-hour contact deadline
    return reference


async def test_a_lamp_fixed_in_minutes_scores_full_marks(bot: Bot) -> None:
    reference = await _fixed_and_rated(bot)
    row = await request(bot, reference)
    assert row.contacted_at is not None and row.contacted_at <= row.contact_by
    assert await _grid_rates(bot) == (1.0, 1.0, 1.0, 1.0)  # the score is a fraction too


async def test_a_public_note_or_a_question_counts_as_contact(bot: Bot) -> None:
    staff = await staff_chat(bot)
    for first, then in (("公开进展", "已联系电工，明天上门"), ("请居民补充", "请问是几楼？")):
        resident = bot.chat()
        await onboard(resident)
        reference = await report_light(resident)
        await pump(bot)
        await staff.press("签收")
        if first == "请居民补充":
            await staff.press("开始办理")
        before = await request(bot, reference)
        assert before.contacted_at is None
        await staff.press(first)
        await staff.send(then)
        assert (await request(bot, reference)).contacted_at == bot.clock()
    # An internal note reaches no resident: no contact.
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("签收")
    await staff.press("更多操作")
    await staff.press("内部备注")
    await staff.send("电工老王明天来")
    assert (await request(bot, reference)).contacted_at is None


async def test_stats_read_as_words(bot: Bot) -> None:
    await _fixed_and_rated(bot)
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/stats heshun")
    text = admin.new_messages[0].text
    grid = next(block for block in text.split("\n\n") if block.startswith("▪ 和顺社区第一网格"))
    assert grid.splitlines() == [
        "▪ 和顺社区第一网格",
        "受理 1 件 · 按时签收 1 · 办结 1 · 超期 0",
        "响应率 100% · 解决率 100% · 满意率 100%",
        "1 人评价（参评率 100%） · 综合得分 100.0 分，排名第 1",
    ]
    assert "▪ 和顺社区第二网格：本期没有诉求" in text
    assert "第 1 名 · 网格 和顺社区第一网格：100.0 分" in text
