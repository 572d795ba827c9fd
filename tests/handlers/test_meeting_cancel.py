"""Calling a doorstep meeting off, as whole conversations: who may, who hears it, what stops."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.channels.testing import TestChat
from bot.services.meetings import actions as meetings_actions
from bot.services.meetings import reminders
from models import (
    Meeting,
    MeetingStatus,
    Person,
    Poll,
    PollStatus,
    RequestEvent,
    Visibility,
)
from tests.conftest import Bot
from tests.handlers.meeting_journey import (
    demo_resident,
    latest_meeting,
    received,
    resident,
    roof_leak,
)
from tests.handlers.staff_journey import pump, staff_chat

CALLED_OFF = "议事取消通知"


@pytest.fixture(autouse=True)
def notices(bot: Bot, tmp_path: Path) -> Path:
    """Printable notices go to the test's own folder."""
    bot.engine.settings.meetings.notice_dir = tmp_path
    return tmp_path


async def _convene(bot: Bot, staff: TestChat, reference: str, when: str) -> Meeting:
    await staff.send(f"/meeting {reference}")
    await staff.press("用诉求标题作为主题")
    await staff.press("整栋楼")
    await staff.press("楼门口")
    await staff.send(when)
    await staff.press("📨 发出邀请")
    await pump(bot)
    return await latest_meeting(bot)


async def test_the_organiser_calls_a_meeting_off_and_everyone_concerned_hears_why(
    bot: Bot,
) -> None:
    zhang = await demo_resident(bot, "张阿姨")  # building 17
    wang = await resident(bot, "王大姐", building="17", room="3-701")
    english = await resident(bot, "Ms Green", building="17", room="1-101")
    neighbour = await resident(bot, "隔壁楼", building="16", room="1-101")
    async with bot.db.sessions() as session, session.begin():
        await session.execute(
            update(Person).where(Person.display_name == "Ms Green").values(language="en")
        )
    request = await roof_leak(bot, wang)
    staff = await staff_chat(bot, unit="heshun-1")
    other_grid = await staff_chat(bot, unit="dahua-1")
    meeting = await _convene(bot, staff, request.reference, "11-28 19:00")
    await zhang.press("✅ 参加")

    # A poll is open when the meeting is called off.
    await staff.press_data(meetings_actions.OPEN.data(meeting.id))
    await staff.press("➕ 新增表决")
    await staff.send("屋顶维修费用如何分摊？")
    await staff.press("参与户过半数同意")
    await staff.send("各户平摊\n申请使用维修资金")
    await staff.press("✅ 完成")
    poll = (await _polls(bot, meeting.id))[0]
    await staff.press(f"▶ 开始表决 #{poll.id}")
    await staff.press("由我手动结束")
    await pump(bot)

    # Nobody outside the meeting's unit may call it off, nor may a resident.
    for chat in (other_grid, zhang):
        await chat.press_data(meetings_actions.CALL_OFF.data(meeting.id))
        assert "没有进行此操作的权限" in chat.last_text
        await chat.press_data(
            meetings_actions.CALL_OFF_NOW.data()
        )  # outside the flow: a stale button
    assert (await latest_meeting(bot)).status == MeetingStatus.scheduled

    # The organiser is asked first, and may change their mind.
    await staff.press_data(meetings_actions.OPEN.data(meeting.id))
    await staff.press("🚫 取消议事")
    # 张阿姨, 李叔叔 (her husband, also of flat 2-301), 王大姐 and Ms Green.
    assert "确定要取消议事" in staff.last_text and "已邀请的 4 位居民" in staff.last_text
    await staff.press("↩ 不取消")
    assert (await latest_meeting(bot)).status == MeetingStatus.scheduled
    await staff.press("🚫 取消议事")
    await staff.send_photo("photo-1")  # not a reason: asked again, nothing changes
    assert "请用文字输入取消原因" in staff.last_text
    await staff.send("物业已答应本周内维修，不用开会了")
    assert f"议事 #{meeting.id} 已取消，已通知 4 位居民" in staff.texts[0]
    assert "状态：已取消" in staff.last_text and "物业已答应本周内维修" in staff.last_text
    assert "🚫 取消议事" not in staff.buttons and "📝 会议纪要" not in staff.buttons

    cancelled = await latest_meeting(bot)
    assert cancelled.status == MeetingStatus.cancelled
    assert cancelled.cancelled_at == bot.clock()
    assert cancelled.cancel_reason == "物业已答应本周内维修，不用开会了"
    assert [p.status for p in await _polls(bot, meeting.id)] == [PollStatus.closed]

    # Invitees hear it, each in their language, with the reason; nobody else does.
    await pump(bot)
    for chat in (zhang, wang):
        news = received(chat, CALLED_OFF)
        assert len(news) == 1 and "取消原因：物业已答应本周内维修" in news[0], chat.user_id
    assert [t for t in english.texts if "Called off" in t and "Reason:" in t]
    assert not received(neighbour, CALLED_OFF) and not received(staff, CALLED_OFF)

    # The request's public timeline says so.
    async with bot.db.sessions() as session:
        events = list(
            (
                await session.execute(
                    select(RequestEvent).where(
                        RequestEvent.request_id == request.id,
                        RequestEvent.kind == "meeting_cancelled",
                    )
                )
            ).scalars()
        )
    assert len(events) == 1 and events[0].visibility == Visibility.public
    assert "红马扎议事已取消" in events[0].note and "物业已答应" in events[0].note

    # Old buttons now answer politely and change nothing.
    await zhang.press_data(meetings_actions.RSVP.data(meeting.id, "n"))
    assert "这次议事已经取消" in zhang.last_text
    await zhang.press("各户平摊")
    assert "这项表决已经结束" in zhang.last_text
    await zhang.send("/meetings")  # listed with the past ones, marked as called off
    assert "已经结束或取消" in zhang.last_text and "状态：已取消" in zhang.last_text
    await zhang.press_data(meetings_actions.OPEN.data(meeting.id))
    assert "状态：已取消" in zhang.texts[0] and "取消原因" in zhang.texts[0]
    assert not [m for m in zhang.new_messages if m.buttons]  # no answers, no ballot
    bot.clock.now = datetime(2026, 11, 28, 10, 45, tzinfo=UTC)  # 18:45 in Jimo
    await zhang.press_data(meetings_actions.CHECK_IN.data(meeting.id))
    assert "这次议事已经取消" in zhang.last_text
    await zhang.send(f"/start m_{meeting.id}")  # the notice's QR code: shown, no check-in
    assert "状态：已取消" in zhang.texts[0] and "签到成功" not in zhang.last_text
    for data in (
        meetings_actions.MINUTES.data(meeting.id),
        meetings_actions.CALL_OFF.data(meeting.id),
        meetings_actions.OUTCOME.data(meeting.id),
        meetings_actions.NOTICE.data(meeting.id),
    ):
        await staff.press_data(data)
        assert "这次议事已经取消" in staff.last_text
    await staff.send(f"/openpoll {poll.id}")
    assert "已开始" not in staff.last_text

    # No reminder goes out for it.
    async with bot.db.sessions() as session, session.begin():
        reminded = await reminders.send_meeting_reminders(
            session, now=datetime(2026, 11, 28, 10, 0, tzinfo=UTC), settings=bot.engine.settings
        )
    assert reminded == 0


async def test_calling_off_a_meeting_hours_away_reaches_residents_in_quiet_hours(
    bot: Bot,
) -> None:
    wang = await resident(bot, "王大姐", building="17", room="3-701")
    request = await roof_leak(bot, wang)
    staff = await staff_chat(bot, unit="heshun-1")
    meeting = await _convene(bot, staff, request.reference, "11-25 09:00")
    bot.clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 23:00 in Jimo: quiet hours
    await staff.press_data(meetings_actions.OPEN.data(meeting.id))
    await staff.press("🚫 取消议事")
    await staff.press("不说明原因，直接取消")
    assert "已通知 3 位居民" in staff.texts[0]
    await pump(bot)
    news = received(wang, CALLED_OFF)
    assert len(news) == 1 and "取消原因" not in news[0]


async def _polls(bot: Bot, meeting_id: int) -> list[Poll]:
    async with bot.db.sessions() as session:
        stmt = select(Poll).where(Poll.meeting_id == meeting_id).order_by(Poll.id)
        return list((await session.execute(stmt)).scalars())
