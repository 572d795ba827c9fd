"""The card staff work from: where (the room, or 公共区域), who (the name masked, the phone on a
tap that is audited), the photos with it; after a press it is edited in place, four primary
actions and 更多操作; its history tells how the request was routed in the reader's language."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.services.cases import actions
from models import AuditLog, RequestEvent
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, request, staff_chat

PHONE = "13800138000"


async def _resident(bot: Bot) -> TestChat:
    chat = TestChat(bot.engine, bot.channel, user_id="zhang-san", display_name="张三")
    await onboard(chat, phone=PHONE)
    return chat


async def _report_with_photos(resident: TestChat) -> str:
    await resident.send("楼道灯坏了")
    await resident.send_photo("lamp-1")
    await resident.send_photo("lamp-2")
    return await report_light(resident, "晚上黑漆漆的")


async def _audits(bot: Bot) -> list[AuditLog]:
    async with bot.db.sessions() as session:
        rows = await session.execute(select(AuditLog).where(AuditLog.action == "phone_shown"))
        return list(rows.scalars())


async def test_the_card_shows_place_resident_and_photos_and_reveals_the_phone(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = await _resident(bot)
    reference = await _report_with_photos(resident)
    await pump(bot)
    card = staff.messages[-1]
    assert reference in card.text
    assert "海盛·新阳光地带 17号楼 公共区域" in card.text
    assert "居民：张*" in card.text and "张三" not in card.text and PHONE not in card.text
    assert "照片：2 张" in card.text
    assert card.album == ["lamp-1", "lamp-2"]  # sent with the card, as the channel shows them
    assert staff.buttons == ["签收", "退回", "转办", "📞 显示电话"]
    card_id = staff.channel.message_ids[staff.chat_id][-1]

    await staff.press("📞 显示电话")
    shown = staff.messages[-1]
    assert shown.edit_message_id == card_id  # the card itself, not a new message
    assert f"居民：张*　电话：{PHONE}" in shown.text
    assert "📞 显示电话" not in staff.buttons and "签收" in staff.buttons
    audits = await _audits(bot)
    assert len(audits) == 1 and audits[0].target == f"request {reference}"
    row = await request(bot, reference)
    assert audits[0].detail == {"request_id": row.id, "person_id": row.reporter_id}

    # Rights are read again on every tap: another grid's worker and the resident get nothing.
    stranger = await staff_chat(bot, unit="heshun-2")
    await stranger.press_data(actions.SHOW_PHONE.data(row.id))
    assert "不在您的管辖范围内" in stranger.last_text and PHONE not in stranger.last_text
    await resident.press_data(actions.SHOW_PHONE.data(row.id))
    assert PHONE not in resident.last_text
    assert len(await _audits(bot)) == 1


async def test_a_request_about_the_own_flat_shows_the_room(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = await _resident(bot)
    # The room is asked by the first report about the resident's own flat.
    await resident.send("家里的灯一闪一闪")
    await resident.press("✅ 提交")
    await resident.send("2-301")
    assert any("诉求编号" in t for t in resident.texts)
    await pump(bot)
    assert "海盛·新阳光地带 17号楼 2-301" in staff.last_text
    assert resident.messages  # the resident's own chat is untouched by the card


async def test_accept_edits_the_card_in_place_with_four_primary_actions(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    card_id = staff.channel.message_ids[staff.chat_id][-1]
    cards_before = len(staff.messages)

    await staff.press("签收")
    assert len(staff.messages) == cards_before + 1
    accepted = staff.messages[-1]
    assert accepted.edit_message_id == card_id
    assert "已签收诉求" in accepted.text and reference in accepted.text
    assert staff.buttons == ["开始办理", "已联系居民", "公开进展", "办结", "更多操作"]

    await staff.press("更多操作")
    assert staff.messages[-1].edit_message_id == card_id
    more = staff.buttons
    assert {"内部备注", "请居民补充", "转办", "合并", "添加照片", "更改类别"} <= set(more)
    assert more[-2:] == ["◀ 收起", "📋 待办列表"]
    await staff.press("◀ 收起")
    assert staff.messages[-1].edit_message_id == card_id
    assert staff.buttons == ["开始办理", "已联系居民", "公开进展", "办结", "更多操作"]

    await staff.press("开始办理")
    assert staff.messages[-1].edit_message_id == card_id
    assert len(staff.buttons) <= 5 and staff.buttons[-1] == "更多操作"
    row = await request(bot, reference)
    assert row.status.value == "in_progress"


async def test_history_tells_the_routing_in_the_readers_language(bot: Bot) -> None:
    staff = await staff_chat(bot)
    english = await staff_chat(bot, language="en")
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await staff.send(f"/find {reference}")
    assert "🔒按楼栋分派：海盛·新阳光地带17号楼属于和顺社区第一网格" in staff.last_text
    assert "building_grid" not in staff.last_text and "heshun-1" not in staff.last_text
    await english.send(f"/find {reference}")
    assert (
        "By building: Haisheng New Sunshine Zone building 17 belongs to Heshun Community Grid 1"
        in english.last_text
    )


async def test_history_of_a_request_routed_before_reads_as_its_rule(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    row = await request(bot, reference)
    async with bot.db.sessions() as session, session.begin():
        event = (
            await session.execute(
                select(RequestEvent).where(
                    RequestEvent.request_id == row.id, RequestEvent.kind == "routed"
                )
            )
        ).scalar_one()
        event.detail = None
        event.note = "building_grid: haisheng-sunshine building 17 belongs to grid heshun-1"
    await staff.send(f"/find {reference}")
    assert "🔒按楼栋分派" in staff.last_text and "heshun-1" not in staff.last_text


async def test_staff_read_waiting_for_acceptance_and_see_the_photos_from_the_queue(
    bot: Bot,
) -> None:
    """The resident's word for a new request is 已受理 (received); staff opening it from the
    queue or /find read 待签收, with its photos."""
    staff = await staff_chat(bot)
    resident = await _resident(bot)
    reference = await _report_with_photos(resident)
    await pump(bot)
    await staff.send(f"/find {reference}")
    view = staff.messages[-1]
    assert f"【{reference}】待签收" in view.text, view.text
    assert "已受理" not in view.text.splitlines()[0]
    assert view.album == ["lamp-1", "lamp-2"]  # the test channel's own file ids
    await staff.send("/queue")
    await staff.press(next(label for label in staff.buttons if reference in label))
    assert f"【{reference}】待签收" in staff.last_text
    assert staff.messages[-1].album == ["lamp-1", "lamp-2"]
    await staff.press("签收")
    assert f"【{reference}】已签收" in staff.last_text
