"""Nothing a resident types is lost: words typed before or while registering become their
report, a number typed at the phone question is their phone, and a long paste the channel
splits at its limit arrives whole."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.org import actions as org_actions
from models import Person, Request
from tests.conftest import Bot
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, onboard

COMPLAINT = "小区东门的下水道堵了三天了，污水漫到路上"


async def _submit(chat) -> Request:  # type: ignore[no-untyped-def]
    """Finish the report in progress as a resident would; the stored request."""
    for label in ("✅ 提交", "✅ 提交（楼道/公共区域）"):  # the category as suggested
        if label in chat.buttons:
            await chat.press(label)
            break
    assert any("诉求编号" in t for t in chat.texts), chat.texts[-3:]
    return await _latest(chat)


async def _latest(chat) -> Request:  # type: ignore[no-untyped-def]
    async with chat.engine.sessions() as session:
        found = await session.execute(select(Request).order_by(Request.id.desc()).limit(1))
        return found.scalar_one()


async def test_words_typed_before_registering_become_the_report(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send(COMPLAINT)  # a newcomer's first message
    assert any("已经记下" in t for t in chat.texts)
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"]):
        await chat.press(label)
    await chat.press("跳过")
    assert COMPLAINT[:20] in chat.last_text and "提交" in chat.last_text
    request = await _submit(chat)
    assert request.description == COMPLAINT


async def test_a_complaint_typed_at_the_phone_question_is_not_swallowed(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.press_data(org_actions.SKIP_ROOM.data())  # an old 跳过 from the room question
    assert "手机号" in chat.last_text
    await chat.send(COMPLAINT)
    assert "请点下方按钮" not in chat.last_text and COMPLAINT[:20] in chat.last_text
    request = await _submit(chat)
    assert request.description == COMPLAINT


async def test_a_typed_mobile_number_is_the_phone(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"]):
        await chat.press(label)
    await chat.send("+86 139-1234 5678")
    assert "登记完成" in " ".join(chat.texts[-3:])
    async with bot.db.sessions() as session:
        person = (
            await session.execute(select(Person).order_by(Person.id.desc()).limit(1))
        ).scalar_one()
    assert person.phone == "13912345678" and person.phone_consent_at == bot.clock()


async def test_a_paste_split_at_the_channels_limit_arrives_whole(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    paste = ("楼上漏水，" * 1000)[:5000]
    await chat.send(paste[:4096])  # Telegram delivers 5,000 characters as 4,096 + 904
    await chat.send(paste[4096:])
    assert "太长" not in " ".join(chat.texts)
    request = await _submit(chat)
    assert request.description == paste
