"""When there is nothing to show, people read what is (not) there and the obvious next step, as a
button or a command; the new buttons re-check rights and refuse politely in the person's
language; missing values read as words, never as a dash."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.services.cobuild import actions
from handlers.cobuild import needs as needs_handler
from models import Need, Project, Role
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, liaison_chat
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump, staff_chat
from tests.handlers.test_volunteer import join_as_volunteer

REFUSED = "未做任何更改"
REFUSED_EN = "Nothing was changed"
DASH = re.compile(r"(?<!\w)-(?!\w)")  # a dash standing alone, as a placeholder or separator


async def _need(bot: Bot) -> Need:
    async with bot.db.sessions() as session:
        return (await session.scalars(select(Need).order_by(Need.id.desc()))).first()  # type: ignore[return-value]


async def _project(bot: Bot) -> Project:
    async with bot.db.sessions() as session:
        return (await session.scalars(select(Project).order_by(Project.id.desc()))).first()  # type: ignore[return-value]


async def test_a_district_admin_picks_a_community_for_needs_from_buttons(bot: Bot) -> None:
    district = await staff_chat(bot, role=Role.admin, unit="jimo")
    await district.send("/needs")
    assert "社区代码" not in district.last_text and "请选择" in district.last_text
    assert "和顺社区" in district.buttons and "大华社区" in district.buttons
    await district.press("和顺社区")
    assert "和顺社区需求清单" in district.last_text and "已发布的需求" in district.last_text

    # The same press by an admin of another community, or a resident: refused, in their language.
    heshun = next(
        b.data for row in district.messages[-2].buttons for b in row if b.label == "和顺社区"
    )
    elsewhere = await staff_chat(bot, role=Role.admin, unit="dahua", language="en")
    await elsewhere.press_data(heshun)
    assert REFUSED_EN in elsewhere.last_text and "需求" not in elsewhere.last_text
    resident = bot.chat()
    await onboard(resident)
    await resident.press_data(heshun)
    assert REFUSED in resident.last_text
    await resident.press_data(actions.NEEDS_PAGE.data(1))
    assert REFUSED in resident.last_text


async def test_many_communities_come_in_pages(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(needs_handler, "COMMUNITIES_SHOWN", 3)
    district = await staff_chat(bot, role=Role.admin, unit="jimo", language="en")
    await district.send("/needs")
    first = [label for label in district.buttons if "▶" not in label]
    assert len(first) == 3 and "page 1 of" in district.last_text
    await district.press("Next ▶")
    second = [label for label in district.buttons if "▶" not in label and "◀" not in label]
    assert "page 2 of" in district.last_text and not set(first) & set(second)
    await district.press("◀ Previous")
    assert "page 1 of" in district.last_text


async def _project_in_progress(bot: Bot) -> tuple[TestChat, Project]:
    admin = await community_admin(bot)
    liaison = await liaison_chat(bot, "zjj")
    await admin.send("/need 楼道加装扶手")
    need = await _need(bot)
    await liaison.send(f"/pledge {need.id} 加装扶手 | 6")
    await pump(bot)
    await admin.press("✅ 确认")
    await pump(bot)
    return liaison, await _project(bot)


async def test_progress_without_a_project_offers_the_units_projects(bot: Bot) -> None:
    idle = await liaison_chat(bot, "zjj")
    await idle.send("/progress")
    assert "没有实施中的共建项目" in idle.last_text and "/pledge" in idle.last_text
    assert "用法" not in idle.last_text

    liaison, project = await _project_in_progress(bot)
    await liaison.send("/progress")
    assert "请选择要报告进展的项目" in liaison.last_text
    assert liaison.buttons == [f"#{project.id} 楼道加装扶手"]
    await liaison.press(f"#{project.id} 楼道加装扶手")
    assert "请发送进展说明" in liaison.last_text
    await liaison.send("扶手已装好一半")
    assert "进展已发布" in liaison.last_text

    # Another unit's liaison, a resident, an English-speaking staff member: refused.
    other = await liaison_chat(bot, "wenquan-group")
    await other.press_data(actions.PROGRESS_ON.data(project.id))
    assert REFUSED in other.last_text
    staff = await staff_chat(bot, language="en")
    await staff.press_data(actions.PROGRESS_ON.data(project.id))
    assert REFUSED_EN in staff.last_text
    await staff.send("/progress")
    assert REFUSED_EN in staff.last_text


async def test_empty_lists_say_what_to_do_next(bot: Bot) -> None:
    resident = bot.chat()
    await onboard(resident)
    await resident.send("/board")
    assert "暂无需求" in resident.last_text and "新诉求" in resident.last_text
    await resident.press("📝 新诉求")
    assert "请描述遇到的问题" in resident.last_text

    volunteer = await join_as_volunteer(bot, await community_admin(bot), "next-steps-sun")
    await volunteer.send("/mytasks")
    assert "没有进行中的任务" in volunteer.last_text and "/myhours" in volunteer.last_text

    admin = await community_admin(bot)
    await admin.send("/ranking")
    assert not DASH.search(admin.last_text)


async def test_missing_values_read_as_words(bot: Bot) -> None:
    admin = await community_admin(bot)
    liaison = await liaison_chat(bot, "zjj")
    await admin.send("/need 楼道加装扶手")
    await liaison.send(f"/pledge {(await _need(bot)).id} 加装扶手")
    await pump(bot)
    assert "人数：未填写" in admin.last_text and "时间：未定 至 未定" in admin.last_text
    await admin.send("/ranking")
    assert "居民评分 暂无" in admin.last_text and not DASH.search(admin.last_text)

    resident = bot.chat()
    await onboard(resident)
    await resident.send("小区里乱停车，消防通道被堵了")
    assert "分类：停车管理" in resident.last_text
    assert "位置：此类问题无需填写" in resident.last_text


async def test_a_building_is_named_as_people_name_it(bot: Bot) -> None:
    english = bot.chat(language_code="en")
    await onboard(english, "en")
    chinese = bot.chat()
    await onboard(chinese)
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/broadcast haisheng-sunshine/17")
    assert "17号楼" in admin.last_text
    await admin.send("明天上午9点停水检修")
    await admin.press("📣 发送")
    await pump(bot)
    assert "17号楼 通知】" in chinese.last_text
    assert "Building 17]" in english.last_text and "号楼" not in english.last_text
