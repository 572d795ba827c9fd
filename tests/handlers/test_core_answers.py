"""The answers every state gives: /cancel, /help, odd input, restarts, numbered choices."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.channels.testing import TestChannel, TestChat
from bot.messages import Incoming
from models import Request
from tests.conftest import Bot, make_engine
from tests.handlers.journey import onboard

# Keystrokes that bring a registered resident into each state of the report flow.
REPORT_STEPS: list[tuple[str, str]] = [
    ("press", "📝 新诉求"),
    ("send", "楼道灯坏了"),
    ("press", "换个分类"),
    ("press", "照明"),
    ("press", "🚨 紧急"),
    ("send", "电线冒火花"),
]


async def _step(chat: TestChat, how: str, what: str) -> None:
    await (chat.press(what) if how == "press" else chat.send(what))


async def test_cancel_from_every_report_state_keeps_nothing(bot: Bot) -> None:
    for depth in range(1, len(REPORT_STEPS) + 1):
        chat = bot.chat()
        await onboard(chat)
        for how, what in REPORT_STEPS[:depth]:
            await _step(chat, how, what)
        await chat.send("/cancel")
        assert chat.texts[0] == "已取消，回到主菜单。", depth
        assert "📝 新诉求" in chat.buttons
        # What was collected before /cancel is gone: a new report starts empty.
        await chat.press("📝 新诉求")
        assert "请描述" in chat.last_text and chat.buttons == ["取消"]
    async with bot.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Request))).scalar_one() == 0


async def test_cancel_during_onboarding_and_evaluation(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.press("潮海街道")
    await chat.send("/cancel")
    assert chat.texts[0] == "已取消，回到主菜单。"


async def test_help_language_unknown_sticker_overlong(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("/help")
    assert "/new" in chat.last_text
    await chat.send("/frobnicate")
    assert "/frobnicate" in chat.last_text and "/help" in chat.last_text
    await chat.send_sticker()
    assert "看不懂" in chat.last_text
    await chat.send("漏" * 4097)  # past Telegram's own 4,096
    assert "太长" in chat.last_text
    await chat.send("/language")
    await chat.press("English")
    assert chat.texts[0] == "Language set to English."
    await chat.send("/help")
    assert chat.last_text.startswith("Hello")


async def test_duplicate_update_is_handled_once(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    update = chat.incoming("text", text="楼道灯坏了", update_id="dup-1")
    await chat.deliver(update)
    first = chat.last_result
    await chat.deliver(update)
    assert first is not None and first.status == "handled"
    assert chat.last_result is not None and chat.last_result.status == "duplicate"
    assert chat.texts == []


async def test_restart_between_any_two_messages_loses_nothing(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    for how, what in [*REPORT_STEPS, ("press", "✅ 提交")]:
        # A fresh engine on the same database, as after a process restart.
        channel = bot.channel
        chat.engine = make_engine(bot.db, bot.engine.settings, bot.clock, channel)
        await _step(chat, how, what)
    assert any("诉求编号" in t for t in chat.texts)


async def test_numbered_choices_on_a_channel_without_buttons(bot: Bot) -> None:
    channel = TestChannel("plain", supports_buttons=False)
    engine = make_engine(bot.db, bot.engine.settings, bot.clock, channel)
    chat = TestChat(engine, channel, user_id="plain-1")
    await chat.send("/start")
    streets = chat.buttons
    await chat.send(str(streets.index("潮海街道") + 1))
    assert "和顺社区" in chat.buttons
    await chat.send("99")
    assert "和顺社区" in chat.buttons  # out of range: treated as text, not a choice


async def test_handler_failure_apologises_and_keeps_running(bot: Bot) -> None:
    chat = bot.chat()
    broken = Incoming(
        channel="test",
        chat_id=chat.chat_id,
        user_id=chat.user_id,
        update_id="boom-1",
        kind="command",
        command="start",
        args="c_x" * 0,
    )
    original = bot.engine.router.commands["start"]

    async def explode(ctx: object) -> None:
        raise RuntimeError("bug")

    bot.engine.router.commands["start"] = explode
    try:
        await chat.deliver(broken)
    finally:
        bot.engine.router.commands["start"] = original
    assert chat.last_result is not None and chat.last_result.status == "failed"
    assert "出了问题" in chat.last_text
    await chat.send("/start")
    assert "欢迎" in chat.texts[0]


async def test_nul_and_lone_surrogates_are_cleaned_not_crashing(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("楼道灯\x00坏了\ud800")
    assert chat.last_result is not None and chat.last_result.status == "handled"
    assert "楼道灯坏了?" in chat.last_text
