"""Members report in (报到) to the community they live in, are confirmed by its admin, answer
its calls for volunteers and have their hours confirmed by the organiser; everyone else
pressing their buttons is refused with nothing changed."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cobuild import actions
from models import Activity, Member, ServiceHours
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, confirmed_member
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump


async def _member(bot: Bot) -> Member:
    async with bot.db.sessions() as session:
        return (await session.scalars(select(Member).order_by(Member.id.desc()))).first()  # type: ignore[return-value]


async def test_a_member_reports_in_and_is_confirmed_by_the_community_only(bot: Bot) -> None:
    admin = await community_admin(bot)
    other_admin = await community_admin(bot, "dahua")
    member = bot.chat()
    await member.send("/reportin")
    assert "先登记" in member.last_text  # no address yet

    await onboard(member)
    await member.send("/reportin")
    assert "和顺社区" in member.last_text
    assert {"区住建局", "温泉建设集团", "中铁建工山东公司"} <= set(member.buttons)
    await member.press("区住建局")
    assert "等待社区确认" in member.last_text
    await pump(bot)
    assert "区住建局" in admin.last_text and admin.buttons == ["✅ 确认", "✖ 不同意"]
    assert "区住建局" not in other_admin.last_text
    row = await _member(bot)
    assert row.status == "pending"

    for intruder in (other_admin, member):
        await intruder.press_data(actions.MEMBER_CONFIRM.data(row.id))
        assert "未做任何更改" in intruder.last_text
    assert (await _member(bot)).status == "pending"

    await admin.press("✅ 确认")
    assert "已确认" in admin.last_text
    await pump(bot)
    assert "已确认您的报到" in member.last_text
    assert (await _member(bot)).status == "confirmed"
    await admin.press_data(actions.MEMBER_CONFIRM.data(row.id))
    assert "无需重复" in admin.last_text
    await member.press_data(actions.REPORT_TO.data(999999))
    assert "没有找到" in member.last_text


async def test_calls_joins_and_hours_confirmed_by_the_organiser(bot: Bot) -> None:
    admin = await community_admin(bot)
    member = await confirmed_member(bot, admin)
    bystander = bot.chat()
    await onboard(bystander)
    other_admin = await community_admin(bot, "dahua")

    await bystander.send("/callout 清理楼道小广告")
    assert "用法" in bystander.last_text
    await admin.send("/callout 周六清理楼道小广告")
    assert "什么时候开始" in admin.last_text
    assert admin.buttons[:3] == ["明天 11-25 09:00", "本周六 11-28 09:00", "下周六 12-05 09:00"]
    await admin.send("11-20 9:00")
    assert "已经过去" in admin.last_text
    await admin.send("下午")
    assert "没看懂这个时间" in admin.last_text
    await admin.press("本周六 11-28 09:00")
    assert "在哪里集合" in admin.last_text and "海盛·新阳光地带" in admin.buttons
    await admin.send("社区党群服务中心")
    assert "1 名报到党员" in admin.last_text and "11月28日 09:00" in admin.last_text
    await pump(bot)
    call = member.last_text
    assert "周六清理楼道小广告" in call and member.buttons == ["🙋 我报名"]
    assert "时间：11月28日 09:00" in call and "地点：社区党群服务中心" in call
    async with bot.db.sessions() as session:
        activity = (await session.scalars(select(Activity))).one()

    await bystander.press_data(actions.JOIN.data(activity.id))
    assert "还不是" in bystander.last_text
    await member.press("🙋 我报名")
    assert f"/hours {activity.id}" in member.last_text
    await member.press("🙋 我报名")
    assert "无需重复" in member.last_text

    await member.send("/hours 99 x")
    assert "用法" in member.last_text
    await member.send(f"/hours {activity.id} 30")
    assert "未做任何更改" in member.last_text
    await member.send(f"/hours {activity.id} 2.5")
    assert "等待组织者确认" in member.last_text
    await pump(bot)
    assert "2.5" in admin.last_text and admin.buttons == ["✅ 确认"]
    async with bot.db.sessions() as session:
        entry = (await session.scalars(select(ServiceHours))).one()
    for intruder in (other_admin, bystander, member):
        await intruder.press_data(actions.HOURS_CONFIRM.data(entry.id))
        assert "未做任何更改" in intruder.last_text
    await admin.press("✅ 确认")
    assert "已确认 2.5 小时" in admin.last_text
    await pump(bot)
    assert "已确认" in member.last_text
    await member.send("/hours")
    ledger = member.last_text
    assert (
        "已确认共 2.5 小时" in ledger
        and "周六清理楼道小广告（11月28日 09:00，社区党群服务中心）" in ledger
    )

    # In one line, a compound as the place by button, and out of scope.
    await admin.send("/callout 冬季扫雪 | 12-06 08:30 | 海盛·新阳光地带东门")
    assert "12月6日 08:30" in admin.last_text and "海盛·新阳光地带东门" in admin.last_text
    await admin.send("/callout 义诊")
    await admin.press("明天 11-25 09:00")
    await other_admin.press_data(actions.CALLOUT_STEP.data("place", 1))  # not in this flow
    assert "按钮已失效" in other_admin.last_text
    await admin.press("海盛·新阳光地带")
    assert "（11月25日 09:00，海盛·新阳光地带）" in admin.last_text
    async with bot.db.sessions() as session:
        places = [a.place for a in await session.scalars(select(Activity).order_by(Activity.id))]
    assert places == ["社区党群服务中心", "海盛·新阳光地带东门", "海盛·新阳光地带"]


async def test_english_speakers_get_english(bot: Bot) -> None:
    admin = await community_admin(bot)
    member = bot.chat(language_code="en")
    await onboard(member, "en")
    await member.send("/reportin")
    assert "Heshun Community" in member.last_text and "Choose your work unit" in member.last_text
    await member.press("District Housing and Urban-Rural Development Bureau")
    assert "waiting for the community to confirm" in member.last_text
    await pump(bot)
    await admin.press("✅ 确认")
    await pump(bot)
    assert "confirmed your report-in" in member.last_text
    await member.send("/board")
    assert "Co-building projects of Heshun Community" in member.texts[0]
    assert "No needs yet" in member.texts[1]
