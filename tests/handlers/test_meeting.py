"""A doorstep meeting from a roof-leak request, as whole conversations."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bot.services.cases import actions as cases_actions
from bot.services.meetings import actions as meetings_actions
from models import (
    MeetingInvitation,
    Poll,
    PollOption,
    PollStatus,
    PollVote,
    RequestEvent,
    Role,
    Rsvp,
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

NOT_ALLOWED = "没有进行此操作的权限"


async def _poll(bot: Bot, meeting_id: int) -> tuple[Poll, list[PollOption]]:
    async with bot.db.sessions() as session:
        poll = (
            await session.execute(select(Poll).where(Poll.meeting_id == meeting_id))
        ).scalar_one()
        stmt = select(PollOption).where(PollOption.poll_id == poll.id).order_by(PollOption.position)
        return poll, list((await session.execute(stmt)).scalars())


async def _votes(bot: Bot, poll_id: int) -> int:
    async with bot.db.sessions() as session:
        stmt = select(func.count()).select_from(PollVote).where(PollVote.poll_id == poll_id)
        return int((await session.execute(stmt)).scalar_one())


@pytest.fixture(autouse=True)
def notices(bot: Bot, tmp_path: Path) -> Path:
    """Printable notices go to the test's own folder."""
    bot.engine.settings.meetings.notice_dir = tmp_path
    return tmp_path


async def test_roof_leak_meeting_from_convening_to_outcome(bot: Bot, notices: Path) -> None:
    zhang = await demo_resident(bot, "张阿姨")  # building 17, flat 2-301
    li = await demo_resident(bot, "李叔叔")  # the same flat
    wang = await resident(bot, "王大姐", building="17", room="3-701")
    neighbour = await resident(bot, "隔壁楼", building="16", room="1-101")
    elsewhere = await resident(bot, "城市花园", building="1", room="1-101", compound="city-garden")
    request = await roof_leak(bot, wang)
    staff = await staff_chat(bot, unit="heshun-1")

    # --- convene from the request ---------------------------------------------------------
    await staff.send(f"/meeting {request.reference}")
    assert any(request.reference in t for t in staff.texts)
    await staff.press("用诉求标题作为主题")
    await staff.press("整栋楼")
    await staff.press("楼门口")
    await staff.send("11-28 19:00")
    assert "17号楼" in staff.last_text and "11月28日 19:00" in staff.last_text
    await staff.press("📨 发出邀请")
    meeting = await latest_meeting(bot)
    assert meeting.request_id == request.id and meeting.expected_households == 21
    assert meeting.starts_at == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    convened = next(t for t in staff.texts if "已召集议事" in t)
    # Three registered residents in two flats; 21 - 2 households have nobody registered.
    assert "3 位居民（2 户）" in convened and "还有 19 户" in convened
    notice = next(m for m in staff.new_messages if m.document)
    assert notice.document is not None
    decoded = zxingcpp.read_barcodes(Image.open(notice.document))
    assert [r.text for r in decoded] == [f"http://127.0.0.1:8080/?start=m_{meeting.id}"]

    # --- invitations reach exactly the scope's residents -----------------------------------
    await pump(bot)
    for chat in (zhang, li, wang):
        assert received(chat, "邀请您参加红马扎议事"), chat.user_id
    for chat in (neighbour, elsewhere):
        assert not received(chat, "邀请您参加红马扎议事")
    assert not received(staff, "邀请您参加红马扎议事")

    # --- RSVP ------------------------------------------------------------------------------
    await zhang.press("✅ 参加")
    assert "期待您参加" in zhang.last_text
    await wang.press("❌ 不能参加")
    await wang.press("💬 发表意见")
    await wang.send("顶层受害最重，但维修费应该大家一起出")
    assert "意见已收到" in wang.last_text
    await neighbour.press_data(meetings_actions.RSVP.data(meeting.id, "c"))
    assert NOT_ALLOWED in neighbour.last_text
    await staff.press_data(meetings_actions.HOUSEHOLDS.data(meeting.id))
    assert "张阿姨（参加）" in staff.last_text and "李叔叔（未回复）" in staff.last_text
    assert "维修费应该大家一起出" in staff.last_text and "19 户" in staff.last_text
    assert "17号楼 " in staff.last_text and not re.search(r"(?<!\w)[-?](?!\w)", staff.last_text)

    # --- a poll: options, open, household votes, hidden tally, close ------------------------
    await staff.press_data(meetings_actions.OPEN.data(meeting.id))
    await staff.press("➕ 新增表决")
    await staff.send("屋顶维修费用如何分摊？")
    await staff.press("参与户过半数同意")
    await staff.send("各户平摊\n顶层住户承担一半\n申请使用维修资金")
    assert "3. 申请使用维修资金" in staff.last_text
    await staff.press("✅ 完成")
    poll, options = await _poll(bot, meeting.id)
    equal, _top_half, fund = options
    await staff.press(f"▶ 开始表决 #{poll.id}")
    await staff.press("由我手动结束")
    assert "表决" in staff.last_text and "已开始" in staff.last_text
    await pump(bot)
    assert zhang.buttons == ["各户平摊", "顶层住户承担一半", "申请使用维修资金"]

    await zhang.press("各户平摊")
    assert "已记下您家的选择：各户平摊" in zhang.last_text
    await li.press("顶层住户承担一半")  # the same flat: this vote replaces 张阿姨's
    assert any("张阿姨" in t and "只算一票" in t for t in li.texts)
    await wang.press("顶层住户承担一半")
    # Forged data from outside the scope changes nothing.
    await neighbour.press_data(meetings_actions.VOTE.data(poll.id, fund.id))
    assert NOT_ALLOWED in neighbour.last_text
    await elsewhere.press_data(meetings_actions.VOTE.data(poll.id, fund.id))
    assert NOT_ALLOWED in elsewhere.last_text
    assert await _votes(bot, poll.id) == 3
    # Voters see no tally while voting is open (not even on the meeting's page).
    for chat in (zhang, li, wang):
        await chat.press_data(meetings_actions.OPEN.data(meeting.id))
        assert "屋顶维修费用如何分摊" in chat.texts[-1]  # the open ballot is shown again
        assert not [m for m in chat.messages if "📊" in m.text or re.search(r"\d+ 户", m.text)]
    await staff.press_data(meetings_actions.POLL_STATUS.data(poll.id))
    assert "已有 2 / 21 户投票" in staff.last_text
    assert "李叔叔（计入），张阿姨" in staff.last_text
    assert "各户平摊：" not in staff.last_text

    await staff.press_data(meetings_actions.CLOSE_POLL.data(poll.id))
    result = staff.last_text
    assert "各户平摊：0 户" in result and "顶层住户承担一半：2 户" in result
    assert "参与：2 / 21 户" in result and "✅ 通过：顶层住户承担一半" in result
    # A closed poll takes no votes.
    await zhang.press_data(meetings_actions.VOTE.data(poll.id, equal.id))
    assert "已经结束" in zhang.last_text
    assert await _votes(bot, poll.id) == 3
    await pump(bot)
    assert received(wang, "✅ 通过：顶层住户承担一半")

    # --- check-in by the QR deep link and by the button --------------------------------------
    await zhang.send(f"/start m_{meeting.id}")
    assert "您已回复：参加" in zhang.texts[0]  # days before: the meeting is shown, no check-in
    await zhang.press_data(meetings_actions.CHECK_IN.data(meeting.id))
    assert "签到在会议开始前 2 小时开放" in zhang.last_text
    bot.clock.now = datetime(2026, 11, 28, 10, 45, tzinfo=UTC)  # 18:45 in Jimo
    await zhang.send(f"/start m_{meeting.id}")
    assert "签到成功" in zhang.last_text
    await li.press_data(meetings_actions.CHECK_IN.data(meeting.id))
    assert "签到成功" in li.last_text
    await neighbour.send(f"/start m_{meeting.id}")
    assert NOT_ALLOWED in neighbour.last_text

    # --- minutes and outcome -------------------------------------------------------------
    await staff.press_data(meetings_actions.OPEN.data(meeting.id))
    assert "已签到 1 户" in staff.last_text
    await staff.press("📝 会议纪要")
    await staff.send("到会12户，王大姐书面意见已宣读。")
    assert "会议纪要已保存" in staff.texts[0]
    await staff.press("✅ 记录结果")
    await staff.send("顶层住户承担一半，其余各户平摊另一半")
    await staff.send("网格员刘晓燕11月30日前联系施工队报价")
    assert "已记录" in staff.texts[0]
    async with bot.db.sessions() as session:
        events = (
            (
                await session.execute(
                    select(RequestEvent).where(
                        RequestEvent.request_id == request.id,
                        RequestEvent.kind == "meeting_outcome",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == 1 and events[0].visibility == Visibility.public
    assert "顶层住户承担一半，其余各户平摊另一半" in events[0].note
    assert "11月30日前联系施工队" in events[0].note and "参与：2 / 21 户" in events[0].note
    await pump(bot)
    for chat in (zhang, li, wang):
        assert received(chat, "📝 议事结果"), chat.user_id
    assert not received(neighbour, "📝 议事结果")
    # The reporter sees the outcome on the request's public timeline.
    await wang.press_data(cases_actions.MY_REQUEST.data(request.id))
    assert "顶层住户承担一半" in wang.last_text


async def test_only_the_organisers_scope_can_convene(bot: Bot) -> None:
    wang = await resident(bot, "王大姐", building="17", room="3-701")
    request = await roof_leak(bot, wang)
    other_grid = await staff_chat(bot, unit="dahua-1")
    await other_grid.send(f"/meeting {request.reference}")
    assert NOT_ALLOWED in other_grid.last_text
    # Without a request: searching the compound and choosing building 17 is refused too.
    await other_grid.send("/meeting")
    await other_grid.send("议事")
    await other_grid.send("海盛")
    await other_grid.press("海盛·新阳光地带")
    await other_grid.press("17号楼")
    await other_grid.press("整栋楼")
    assert NOT_ALLOWED in other_grid.last_text
    # /cancel leaves the flow with nothing convened.
    await other_grid.send("/meeting")
    await other_grid.send("/cancel")
    await other_grid.send("海盛")
    assert not other_grid.buttons or "海盛·新阳光地带" not in other_grid.buttons
    # A resident holds no staff grant at all.
    await wang.send("/meeting")
    assert NOT_ALLOWED in wang.last_text
    # A forged "send the invitations" outside the flow is a stale button, nothing convened.
    await wang.press_data(meetings_actions.SEND.data())
    async with bot.db.sessions() as session:
        from models import Meeting

        assert (await session.execute(select(func.count()).select_from(Meeting))).scalar_one() == 0


async def test_some_units_and_a_poll_without_meeting(bot: Bot) -> None:
    zhang = await demo_resident(bot, "张阿姨")  # unit 2
    unit3 = await resident(bot, "三单元", building="17", room="3-101")
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/poll")
    await admin.send("保留自行车棚还是改成停车位？")
    await admin.send("海盛")
    await admin.press("海盛·新阳光地带")
    await admin.press("17号楼")
    await admin.press("部分单元")
    await admin.press("3单元")
    await admin.press("确定")
    assert "3单元住户" in admin.last_text
    await admin.press("📨 发出邀请")
    meeting = await latest_meeting(bot)
    assert meeting.units == ["3"] and meeting.starts_at is None and meeting.expected_households == 7
    await pump(bot)
    assert received(unit3, "征求各户意见") and not received(zhang, "征求各户意见")
    assert unit3.buttons == ["💬 发表意见"]
    await zhang.press_data(meetings_actions.RSVP.data(meeting.id, "v"))
    assert NOT_ALLOWED in zhang.last_text
    async with bot.db.sessions() as session:
        stmt = select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id)
        invitations = list((await session.execute(stmt)).scalars())
    assert [i.response for i in invitations] == [Rsvp.pending]
    # /meetings lists it for the resident in scope and for the admin.
    await unit3.send("/meetings")
    assert "即将进行" in unit3.last_text and "自行车棚" in unit3.last_text
    await admin.send("/meetings")
    assert "自行车棚" in admin.last_text
    await zhang.send("/meetings")
    assert "自行车棚" not in zhang.last_text
    # The poll closes by command.
    await admin.press_data(meetings_actions.NEW_POLL.data(meeting.id))
    await admin.send("车棚怎么处理？")
    await admin.press("民法典共有部分一般事项（三分之二参与，过半数同意）")
    await admin.send("保留车棚")
    await admin.send("改成停车位")
    await admin.press("✅ 完成")
    poll, _options = await _poll(bot, meeting.id)
    await admin.send(f"/openpoll {poll.id}")
    await pump(bot)
    await unit3.press("改成停车位")
    await admin.send(f"/closepoll {poll.id}")
    assert "参与：1 / 7 户" in admin.last_text and "参与未达到规定比例" in admin.last_text
    async with bot.db.sessions() as session:
        row = await session.get(Poll, poll.id)
        assert row is not None and row.status == PollStatus.closed
    await admin.send(f"/closepoll {poll.id}")
    assert "已经结束" in admin.last_text
