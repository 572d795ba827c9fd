"""A liaison pledges a project step by step: the need from the paired communities' list, the
plan, people and dates by buttons or typed, the unit's resources as buttons, a confirmation;
bad input gets a polite answer and the step again; an old step's button is stale; the
one-line form still works."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cobuild import actions
from models import Need, Project
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, liaison_chat
from tests.handlers.staff_journey import pump


async def _needs(bot: Bot) -> list[Need]:
    async with bot.db.sessions() as session:
        return list(await session.scalars(select(Need).order_by(Need.id)))


async def _projects(bot: Bot) -> list[Project]:
    async with bot.db.sessions() as session:
        return list(await session.scalars(select(Project).order_by(Project.id)))


async def test_a_pledge_made_step_by_step_with_buttons(bot: Bot) -> None:
    admin = await community_admin(bot)
    dahua_admin = await community_admin(bot, "dahua")
    liaison = await liaison_chat(bot, "wenquan-group")  # paired with 和顺社区
    await liaison.send("/pledge")
    assert "没有待认领的需求" in liaison.last_text
    await admin.send("/need 小区围栏破损需要修补")
    await dahua_admin.send("/need 大华宿舍门禁升级")  # not a paired community's
    heshun_need, _dahua_need = await _needs(bot)

    await liaison.send("/pledge")
    assert liaison.buttons[:-1] == [f"#{heshun_need.id} 小区围栏破损需要修补（和顺社区）"]
    await liaison.press(liaison.buttons[0])
    assert "第 1 步" in liaison.last_text and "温泉建设集团" in liaison.last_text
    await liaison.send_photo("photo-x")  # not a plan
    assert "请用文字发送项目方案" in liaison.last_text
    await liaison.send("更换破损铁艺栅栏并刷漆")
    assert "第 2 步" in liaison.last_text and "20" in liaison.buttons
    await liaison.send("二十个")
    assert "0 到 9999" in liaison.last_text
    await liaison.press("20")
    assert "第 3 步" in liaison.last_text
    assert liaison.buttons[0] == "今天 11-24" and liaison.buttons[1] == "下周一 11-30"
    await liaison.send("明天")
    assert "没看懂这个日期" in liaison.last_text
    await liaison.press("下周一 11-30")
    assert "第 4 步" in liaison.last_text
    await liaison.send("11-20")  # before the start
    assert "不能早于开始日期（2026-11-30）" in liaison.last_text
    await liaison.press("两周后 12-14")
    assert "第 5 步" in liaison.last_text
    assert "➕ 铁艺栅栏" in liaison.buttons and "➕ 划线机" in liaison.buttons
    await liaison.press("➕ 铁艺栅栏")
    assert "已选：铁艺栅栏" in liaison.last_text and "➕ 铁艺栅栏" not in liaison.buttons
    await liaison.send("油漆两桶")
    assert "已选：铁艺栅栏、油漆两桶" in liaison.last_text
    await liaison.press("✅ 完成")
    summary = liaison.last_text
    assert "方案：更换破损铁艺栅栏并刷漆" in summary and "人数：20" in summary
    assert "开始：2026-11-30" in summary and "完成：2026-12-14" in summary
    assert liaison.buttons == ["✅ 提交", "✖ 取消"]
    await liaison.press_data(actions.PLEDGE_STEP.data("people", 5))  # an earlier step's
    assert "这个按钮已失效" in liaison.last_text
    assert await _projects(bot) == []
    await liaison.press("✅ 提交")
    assert "等待社区确认" in liaison.last_text
    (project,) = await _projects(bot)
    assert (project.plan, project.people, str(project.starts_on), str(project.due_on)) == (
        "更换破损铁艺栅栏并刷漆",
        20,
        "2026-11-30",
        "2026-12-14",
    )
    assert project.resources == "铁艺栅栏、油漆两桶"
    await pump(bot)
    assert "更换破损铁艺栅栏并刷漆" in admin.last_text and admin.buttons == ["✅ 确认", "✖ 不同意"]
    await liaison.press_data(actions.PLEDGE_STEP.data("submit", 1))  # pressed twice
    assert len(await _projects(bot)) == 1


async def test_cancel_skips_and_rights_in_the_guided_pledge(bot: Bot) -> None:
    admin = await community_admin(bot)
    dahua_admin = await community_admin(bot, "dahua")
    liaison = await liaison_chat(bot, "zjj")  # paired with 和顺社区 only
    await admin.send("/need 楼道照明改造")
    await dahua_admin.send("/need 大华宿舍门禁升级")
    heshun_need, dahua_need = await _needs(bot)
    await liaison.send(f"/pledge {dahua_need.id}")  # not paired: refused at once
    assert "未做任何更改" in liaison.last_text
    await liaison.press_data(actions.PLEDGE_NEED.data(dahua_need.id))
    assert "未做任何更改" in liaison.last_text
    resident = bot.chat()
    await resident.send(f"/pledge {heshun_need.id}")
    assert "未做任何更改" in resident.last_text

    await liaison.send(f"/pledge {heshun_need.id}")
    await liaison.send("更换楼道感应灯")
    await liaison.press("跳过")  # people
    await liaison.press("跳过")  # start
    await liaison.press("跳过")  # due
    await liaison.press("✅ 完成")
    assert "人数：未填写" in liaison.last_text and "开始：未定" in liaison.last_text
    await liaison.press("✖ 取消")
    assert "没有认领" in liaison.last_text
    assert await _projects(bot) == []

    # English, and the one line for power users.
    await liaison.send("/language")
    await liaison.press("English")
    await liaison.send(f"/pledge {heshun_need.id}")
    assert "Step 1 of 5" in liaison.last_text
    await liaison.send("/cancel")
    await liaison.send(f"/pledge {heshun_need.id} 更换楼道感应灯 | 4 | 2026-12-01 | 2026-12-05")
    assert len(await _projects(bot)) == 1
