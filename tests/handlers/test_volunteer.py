"""Whole conversations of red-wrench volunteers: invited, registered, pushed, claim, done."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.services.volunteers import actions as volunteers_actions
from models import (
    OutboxMessage,
    Person,
    Role,
    ServiceRecord,
    VolunteerProfile,
    VolunteerTask,
)
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, request, staff_chat


async def join_as_volunteer(
    bot: Bot, admin: TestChat, user_id: str, *, leader: bool = False
) -> TestChat:
    """The admin invites; the volunteer opens the link and registers as an electrician."""
    await admin.send("/invite volunteer wrench-cscec8" + (" leader" if leader else ""))
    payload = next(w for t in reversed(admin.texts) for w in t.split() if w.startswith("inv_"))
    chat = bot.chat(user_id)
    await chat.send(f"/start {payload}")
    assert "志愿者" in chat.texts[0] and "中建八局" in chat.texts[0]
    await chat.press("电工")
    await chat.press("下一步")
    await chat.press("每天")
    await chat.press("保存")
    assert "电工" in chat.last_text
    return chat


async def test_invite_link_is_single_use(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/invite grid_staff heshun-1")
    payload = next(w for t in reversed(admin.texts) for w in t.split() if w.startswith("inv_"))
    first, second = bot.chat("inv-first"), bot.chat("inv-second")
    await first.send(f"/start {payload}")
    assert "网格员" in first.last_text
    await second.send(f"/start {payload}")
    assert "无效" in second.last_text
    await first.send("/start inv_forged-token")
    assert "无效" in first.last_text


async def test_task_from_request_to_rating(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    sun = await join_as_volunteer(bot, admin, "vol-sun", leader=True)
    li = await join_as_volunteer(bot, admin, "vol-li")
    resident = bot.chat("resident-vol")
    await onboard(resident)
    reference = await report_light(resident)
    req = await request(bot, reference)
    staff = await staff_chat(bot)
    await staff.press_data(volunteers_actions.NEW_TASK.data(req.id))
    # Sun, Li and the demo district's own electrician 孙师傅 (wrench-cscec8 pairs with heshun).
    assert reference in staff.last_text and "推送给 3 位" in staff.last_text
    await pump(bot)
    assert any("红扳手任务" in m.text for m in sun.messages)
    assert "🔧 认领" in li.buttons

    await sun.press("🔧 认领")
    assert "认领成功" in sun.texts[0]
    await li.press("🔧 认领")
    assert "来晚一步" in li.last_text
    await pump(bot)
    # Li's push (already delivered) is edited to "taken".
    edits = [m for m in li.messages if m.edit_message_id]
    assert edits and "已被其他志愿者认领" in edits[-1].text

    await sun.send("/mytasks")
    assert reference in sun.last_text
    await sun.press(sun.buttons[0])
    await sun.press("🚶 出发了")
    await pump(bot)
    assert any("志愿者已出发" in m.text for m in resident.messages)

    await sun.press("✅ 已完成")
    await sun.send_photo("done-photo-1")
    assert "1" in sun.last_text
    await sun.press("下一步")
    await sun.press("2")
    assert "2 小时" in sun.last_text
    await pump(bot)
    assert any("请核验" in m.text for m in staff.messages)
    await resident.press("⭐⭐⭐⭐⭐")
    assert "谢谢您的评价" in resident.last_text
    await resident.press("⭐⭐⭐⭐⭐")  # only once
    assert "已经评价过" in resident.last_text

    await sun.send("/myhours")
    assert "1 个" in sun.last_text and "2 小时" in sun.last_text and "5.0" in sun.last_text
    await sun.send("/team")
    assert "成员（3 人）" in sun.last_text and "2 小时" in sun.last_text
    await li.send("/team")
    assert "队长" in li.last_text  # not a leader: refused

    async with bot.db.sessions() as session:
        task = (
            await session.execute(select(VolunteerTask).where(VolunteerTask.request_id == req.id))
        ).scalar_one()
        record = (
            await session.execute(select(ServiceRecord).where(ServiceRecord.task_id == task.id))
        ).scalar_one()
    assert (task.status, task.photos, record.hours, record.rating) == (
        "done",
        ["done-photo-1"],
        2,
        5,
    )


async def test_cannot_do_puts_the_task_back(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    sun = await join_as_volunteer(bot, admin, "vol-sun2")
    li = await join_as_volunteer(bot, admin, "vol-li2")
    resident = bot.chat("resident-vol2")
    await onboard(resident)
    req = await request(bot, await report_light(resident))
    staff = await staff_chat(bot)
    await staff.press_data(volunteers_actions.NEW_TASK.data(req.id))
    await pump(bot)
    await sun.press("🔧 认领")
    await sun.press("❌ 做不了")
    await sun.send("/cancel")  # leaves the flow; the task stays Sun's
    await sun.send("/mytasks")
    await sun.press(sun.buttons[0])
    await sun.press("❌ 做不了")
    await sun.send("梯子不够高")
    assert "2 位" in sun.last_text  # Li and 孙师傅
    await pump(bot)
    assert li.buttons == ["🔧 认领"]
    await li.press("🔧 认领")
    assert "认领成功" in li.texts[0]
    async with bot.db.sessions() as session:
        task = (
            await session.execute(select(VolunteerTask).where(VolunteerTask.request_id == req.id))
        ).scalar_one()
        li_person = (
            await session.execute(
                select(VolunteerProfile.person_id)
                .join(Person)
                .where(Person.id == task.claimed_by_id)
            )
        ).scalar_one()
        pushes = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.person_id == li_person)
                )
            )
            .scalars()
            .all()
        )
    assert "梯子不够高" in task.note and len(pushes) >= 2
