"""Few taps to a reference number, counted: every message sent and button pressed is one of the
resident's actions, from /start to "已提交，诉求编号 ...". Buttons all the way: at most 8;
typing the compound's name: fewer; arriving by the compound's QR code: at most 5."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.testing import TestChat
from models import Compound, Request, RequestEvent
from tests.conftest import Bot
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, reference_in
from tests.handlers.staff_journey import pump, request, staff_chat

WITH_BUTTONS_AT_MOST = 8
BY_QR_CODE_AT_MOST = 5
LIGHT = "楼道灯坏了好几天了，晚上黑漆漆的"

# The measured paths, as the README's "What it does" table reports them.
MEASURED = {"buttons": 8, "typed": 6, "qr": 5}


async def compound_id(bot: Bot) -> int:
    async with bot.db.sessions() as session:
        found = await session.execute(select(Compound.id).where(Compound.name_zh == COMPOUND["zh"]))
        return int(found.scalar_one())


async def report_by_draft(chat: TestChat, text: str = LIGHT) -> str:
    """Say what is wrong, then 提交 on the draft; returns the reference."""
    await chat.send(text)
    assert "照明" in chat.last_text and "公共区域" in chat.last_text and "一般" in chat.last_text
    await chat.press("✅ 提交")
    return reference_in(chat)


async def test_with_buttons_it_takes_at_most_8_actions(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    welcome = chat.new_messages
    assert len(welcome) == 1, [m.text for m in welcome]  # one bubble: welcome, question, keys
    assert "欢迎" in welcome[0].text and STREET["zh"] in chat.buttons
    await chat.press(STREET["zh"])
    await chat.press(COMMUNITY["zh"])
    await chat.press(COMPOUND["zh"])
    await chat.press(BUILDING["zh"])
    await chat.press("跳过")  # no phone
    assert "登记完成" in chat.texts[0] and "直接在这里说" in chat.texts[0]
    reference = await report_by_draft(chat)
    assert reference.startswith("JM-")
    assert chat.actions == MEASURED["buttons"] <= WITH_BUTTONS_AT_MOST


async def test_typing_the_compound_name_takes_6(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.send("新阳光")  # one match: its buildings at once, with a way back
    assert f"找到小区：{COMPOUND['zh']}" in chat.last_text
    assert BUILDING["zh"] in chat.buttons and "不是这个小区" in chat.buttons
    await chat.press(BUILDING["zh"])
    await chat.share_contact("13912345678")
    await report_by_draft(chat)
    assert chat.actions == MEASURED["typed"]


async def test_not_this_compound_goes_back_to_the_streets(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.send("新阳光")
    await chat.press("不是这个小区")
    assert STREET["zh"] in chat.buttons


async def test_by_the_compound_qr_code_it_takes_at_most_5_actions(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send(f"/start c_{await compound_id(bot)}")
    assert len(chat.new_messages) == 1 and "欢迎" in chat.last_text
    await chat.press(BUILDING["zh"])
    await chat.press("跳过")
    await report_by_draft(chat)
    assert chat.actions == MEASURED["qr"] <= BY_QR_CODE_AT_MOST


async def test_the_room_is_asked_only_when_the_category_needs_it(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send(f"/start c_{await compound_id(bot)}")
    await chat.press(BUILDING["zh"])
    await chat.press("跳过")
    await chat.send("小区里有人乱停车，堵住了消防通道")  # parking: where is no question
    assert "✅ 提交" in chat.buttons and "门牌" not in chat.last_text
    await chat.press("✅ 提交")
    assert "诉求编号" in chat.texts[0]
    await chat.send("水管爆了，水一直在流")  # water: common area or own flat? the words say not
    assert "✅ 提交（自家屋内）" in chat.buttons and "✅ 提交" not in chat.buttons
    await chat.press("✅ 提交（自家屋内）")
    assert "门牌" in chat.last_text
    await chat.send("2-301")
    reference = reference_in(chat)
    found = await request(bot, reference)
    assert found.place_scope == "own_flat"
    await chat.send("家里的下水道堵了")  # own flat from the words, the room already known
    assert "2-301" in chat.last_text
    await chat.press("✅ 提交")
    assert "诉求编号" in chat.texts[0]


async def test_urgency_category_and_place_are_one_tap_chips(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send(f"/start c_{await compound_id(bot)}")
    await chat.press(BUILDING["zh"])
    await chat.press("跳过")
    await chat.send(LIGHT)
    await chat.press("🚨 紧急")
    await chat.send("电线在冒火花")
    assert "紧急程度：紧急" in chat.last_text and "改为一般" in chat.buttons
    await chat.press("📍 改为自家屋内")
    assert "位置：自家屋内" in chat.last_text
    await chat.press("换个分类")
    await chat.press("公共设施")
    assert "分类：公共设施" in chat.last_text
    await chat.send_photo("photo-1")
    assert "照片：1 张" in chat.last_text
    await chat.press("✅ 提交")
    found = await request(bot, reference_in(chat))
    assert found.priority == "urgent" and found.urgent_reason == "电线在冒火花"


async def test_a_reply_after_the_acceptance_is_added_to_the_request(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await resident.send(f"/start c_{await compound_id(bot)}")
    await resident.press(BUILDING["zh"])
    await resident.press("跳过")
    reference = await report_by_draft(resident)
    await pump(bot)
    await staff.press("签收")
    await pump(bot)
    notice = resident.last_text
    assert f"诉求 {reference} 已受理" in notice
    assert "负责网格：和顺社区第一网格" in notice and "直接在这个对话里回复" in notice
    await resident.send("灯在三楼和四楼之间")
    assert f"已补充到诉求 {reference}" in resident.last_text
    found = await request(bot, reference)
    async with bot.db.sessions() as session:
        query = select(RequestEvent.note).where(RequestEvent.request_id == found.id)
        notes = (await session.scalars(query)).all()
    assert "灯在三楼和四楼之间" in notes
    await pump(bot)
    assert any(f"居民为诉求 {reference} 补充了信息" in m.text for m in staff.messages)
    await resident.send_photo("stairs-1")  # a reply may take several messages
    assert f"已补充到诉求 {reference}" in resident.last_text
    # Once the chat moves on (a new report, a button), messages are new reports again.
    await resident.press("📝 新诉求")
    await resident.send("小区门口的路灯也不亮")
    assert "✅ 提交" in resident.buttons and "已补充" not in resident.last_text


async def test_a_reply_taken_for_an_addition_can_be_a_new_report(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await resident.send(f"/start c_{await compound_id(bot)}")
    await resident.press(BUILDING["zh"])
    await resident.press("跳过")
    await report_by_draft(resident)
    await pump(bot)
    await staff.press("签收")
    await pump(bot)
    await resident.send("小区里有人乱停车")
    await resident.press("📝 不是，这是新问题")
    assert "停车" in resident.last_text and "✅ 提交" in resident.buttons
    await resident.press("✅ 提交")
    async with bot.db.sessions() as session:
        count = len((await session.scalars(select(Request.id))).all())
    assert count == 2
