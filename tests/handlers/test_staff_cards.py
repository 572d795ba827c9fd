"""The card staff work from: where (the room, or 公共区域), who (the name masked, the phone on a
tap that is audited), the photos with it; after a press it is edited in place, four primary
actions, 更多操作 (the rest a page of six buttons at a time) and the queue; its history tells
how the request was routed in the reader's language."""

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
    card = ["开始办理", "已联系居民", "公开进展", "办结", "更多操作", "📋 待办列表"]
    assert staff.buttons == card

    await staff.press("更多操作")
    assert staff.messages[-1].edit_message_id == card_id
    # The commonest of the rest first, four of them; the others a page on.
    first = ["内部备注", "请居民补充", "添加照片", "吹哨（部门报到）", "其他操作 ▸", "◀ 收起"]
    assert staff.buttons == first
    await staff.press("其他操作 ▸")
    assert staff.messages[-1].edit_message_id == card_id
    assert set(staff.buttons) == {"派红扳手任务", "转办", "召集红马扎议事", "合并", "更改类别"} | {
        "◀ 收起"
    }
    await staff.press("◀ 收起")
    assert staff.messages[-1].edit_message_id == card_id
    assert staff.buttons == card

    await staff.press("开始办理")
    assert staff.messages[-1].edit_message_id == card_id
    assert len(staff.buttons) <= 6 and staff.buttons[-2:] == ["更多操作", "📋 待办列表"]
    row = await request(bot, reference)
    assert row.status.value == "in_progress"


async def _pages(staff: TestChat) -> list[list[str]]:
    """The card's buttons, then each page behind 更多操作 as 其他操作 ▸ turns them."""
    pages = [staff.buttons]
    await staff.press("更多操作")
    pages.append(staff.buttons)
    while "其他操作 ▸" in staff.buttons:
        await staff.press("其他操作 ▸")
        pages.append(staff.buttons)
    await staff.press("◀ 收起")
    assert staff.buttons == pages[0]
    return pages


async def test_every_action_is_on_one_page_of_six_buttons_at_most(bot: Bot) -> None:
    """Pending, accepted (the most actions: not contacted yet, a phone to show) and in
    progress: each page one WeCom card (six buttons), no action twice, the common ones at
    most two taps from the card."""
    staff = await staff_chat(bot)
    resident = await _resident(bot)
    await report_light(resident)
    await pump(bot)
    await staff.send("/queue")
    await staff.press(staff.buttons[0])
    common = {"签收", "开始办理", "办结", "公开进展", "内部备注", "请居民补充", "添加照片"}
    for step in ("签收", "开始办理", None):
        pages = await _pages(staff)
        shown = [label for page in pages for label in page]
        actions_shown = [
            label
            for label in shown
            if label not in ("更多操作", "📋 待办列表", "其他操作 ▸", "◀ 收起")
        ]
        assert all(len(page) <= 6 for page in pages), pages
        assert len(actions_shown) == len(set(actions_shown)), pages
        assert "📞 显示电话" in pages[0] or step is None, pages  # the card's own, until shown
        in_two_taps = {label for page in pages[:2] for label in page}
        assert common & set(actions_shown) <= in_two_taps, pages
        assert {"转办", "合并", "更改类别", "召集红马扎议事", "派红扳手任务"} & set(
            actions_shown
        ), pages
        if step is not None:
            await staff.press(step)


async def test_a_page_of_actions_is_computed_again_at_every_press(bot: Bot) -> None:
    """Another grid's worker forging 其他操作 gets nothing; a page past the last shows the last."""
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    row = await request(bot, reference)
    stranger = await staff_chat(bot, unit="heshun-2")
    await stranger.press_data(actions.OTHER_ACTIONS.data(row.id, 2))
    assert "不在您的管辖范围内" in stranger.last_text and not stranger.buttons
    await resident.press_data(actions.OTHER_ACTIONS.data(row.id, 2))
    assert "转办" not in resident.buttons
    await staff.press_data(actions.OTHER_ACTIONS.data(row.id, 99))
    assert reference in staff.last_text and staff.buttons[-1] == "◀ 收起"
    assert "其他操作 ▸" not in staff.buttons


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
